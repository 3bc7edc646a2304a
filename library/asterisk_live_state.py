#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: make the running Asterisk match its configuration on disk, and prove it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_live_state
short_description: Compare the running Asterisk with its files, reload what drifted, verify
description:
  - Reads what the running Asterisk has loaded (CLI, C(asterisk -rx)) and compares it with the
    files on disk, parsed the way Asterisk parses them, in three areas. PJSIP - every endpoint
    loaded and no other (an C(anonymous) endpoint still loaded is drift), each endpoint's
    context, every auth's password, md5_cred and username. AMI - enabled, bind address and port,
    users. Dialplan - the contexts named I(context_prefix)*.
  - When an area drifted, reloads it (never restarts, so calls in progress survive) and
    compares again; fails when the running Asterisk still differs.
  - With I(force_reload) every area is reloaded, whatever the comparison says - for a run that
    follows one that ended before it could reload (M(voipguard_snapshot) tells), and after a
    rollback. Once the running Asterisk agrees with the files, I(pending_marker) is removed.
  - Passwords are compared by keyed digests inside the module; no secret is returned or logged.
version_added: "0.2.0"
author:
  - voipguard contributors
options:
  config_dir:
    description: Asterisk's configuration directory.
    type: path
    default: /etc/asterisk
  areas:
    description: Which areas to compare.
    type: list
    elements: str
    choices: [pjsip, manager, dialplan]
    default: [pjsip, manager, dialplan]
  context_prefix:
    description: Dialplan contexts with this prefix are compared (the ones voipguard writes).
    type: str
    default: voipguard-
  reload:
    description: Reload the areas that drifted, then verify again.
    type: bool
    default: true
  force_reload:
    description: Reload every area even where no difference is seen.
    type: bool
    default: false
  pending_marker:
    description: The pending-reload marker M(voipguard_snapshot) leaves; removed once all agree.
    type: path
    default: /var/lib/voipguard/pending-reload
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Compares and reports the drift; reloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Make the running Asterisk match the files, and prove it
  asterisk_live_state:
"""

RETURN = r"""
drift_before:
  description: Differences found before any reload, per area (plain text, never a secret).
  returned: always
  type: dict
  sample: {pjsip: ["endpoint anonymous is loaded but in no file"], manager: [], dialplan: []}
reloaded:
  description: Areas reloaded by this call.
  returned: always
  type: list
  elements: str
drift:
  description: Differences left after the reloads (empty on success).
  returned: always
  type: dict
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import AsteriskConfigError, load
from ansible.module_utils.asterisk_live import RELOADS, drift_by_area, module_cli


def _loader(config_dir):
    cache = {}

    def load_config(name):
        if name not in cache:
            path = os.path.join(config_dir, name)
            cache[name] = load(path, config_dir=config_dir) if os.path.exists(path) else []
        return cache[name]
    return load_config


def _lines(drift):
    return ["%s: %s" % (area, line) for area in sorted(drift) for line in drift[area]]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default="/etc/asterisk"),
            areas=dict(type="list", elements="str", choices=sorted(RELOADS), default=sorted(RELOADS)),
            context_prefix=dict(type="str", default="voipguard-"),
            reload=dict(type="bool", default=True),
            force_reload=dict(type="bool", default=False),
            pending_marker=dict(type="path", default="/var/lib/voipguard/pending-reload"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    binary = module.get_bin_path("asterisk", required=True)
    cli = module_cli(module, binary)
    load_config = _loader(params["config_dir"])
    try:
        before = drift_by_area(load_config, cli, params["context_prefix"], params["areas"])
    except AsteriskConfigError as exc:
        module.fail_json(msg="cannot read the configuration: %s" % exc)
    to_reload = sorted(area for area in before if before[area] or params["force_reload"])
    result = dict(drift_before=before, reloaded=[], drift=before)
    if module.check_mode or not params["reload"] or not to_reload:
        result["changed"] = bool(to_reload) and params["reload"]
        if not module.check_mode and not _lines(before) and os.path.exists(params["pending_marker"]):
            os.remove(params["pending_marker"])
        module.exit_json(**result)
    for area in to_reload:
        cli(RELOADS[area])
    after = {}
    # A reload is asynchronous for some objects: look again for a few seconds before judging.
    for _ in range(10):
        after = drift_by_area(load_config, cli, params["context_prefix"], params["areas"])
        if not _lines(after):
            break
        time.sleep(0.5)
    result.update(changed=True, reloaded=to_reload, drift=after)
    if _lines(after):
        module.fail_json(msg="the running Asterisk still differs from its files after reloading %s: %s"
                         % (", ".join(to_reload), "; ".join(_lines(after))), **result)
    if os.path.exists(params["pending_marker"]):
        os.remove(params["pending_marker"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
