#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: save the configuration trees before a run's first change; put them back
when the run fails."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_snapshot
short_description: All or nothing for a hardening run - save the trees, restore them on failure
description:
  - C(state=taken) saves the given trees (contents, owners, modes) into one archive, and leaves a
    pending-reload marker that M(asterisk_live_state) removes once the running Asterisk matches
    the files. A run that dies before that (a lost connection, a killed controller) leaves the
    marker, and the next run reloads everything.
  - C(state=restored) puts every saved file back byte for byte, removes the files and trees the
    run created, and returns the files it changed, so the caller reloads what needs it.
  - The logic lives in C(module_utils/voipguard_snapshot.py).
version_added: "0.2.0"
author:
  - voipguard contributors
options:
  state:
    description: Take the snapshot, or restore it.
    type: str
    choices: [taken, restored]
    required: true
  paths:
    description: Absolute paths of the trees a run may change (for C(state=taken)).
    type: list
    elements: path
    default: [/etc/asterisk, /etc/fail2ban, /etc/nftables.d]
  archive:
    description: Where the snapshot is kept (mode 0600).
    type: path
    default: /var/lib/voipguard/run/snapshot.tar
  pending_marker:
    description: The pending-reload marker written with the snapshot.
    type: path
    default: /var/lib/voipguard/pending-reload
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Does nothing in check mode (a check run changes nothing to roll back).
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Taking a snapshot reports C(changed=false) - it is the run's own bookkeeping under
    C(/var/lib/voipguard), not a change to the host's configuration - so a second run still
    reports nothing changed.
"""

EXAMPLES = r"""
- name: Save what this run may change
  voipguard_snapshot:
    state: taken
- name: Put it back after a failure
  voipguard_snapshot:
    state: restored
  register: restored
"""

RETURN = r"""
files:
  description: For C(taken), the number of files saved.
  returned: when state is taken
  type: int
pending_before:
  description: For C(taken), whether a previous run had left the pending-reload marker (it
    ended before Asterisk reloaded what it wrote); pass it to M(asterisk_live_state)'s
    I(force_reload).
  returned: when state is taken
  type: bool
changed_files:
  description: For C(restored), the files whose content was put back, removed or re-created.
  returned: when state is restored
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_snapshot import restore, take


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["taken", "restored"], required=True),
            paths=dict(type="list", elements="path", default=["/etc/asterisk", "/etc/fail2ban", "/etc/nftables.d"]),
            archive=dict(type="path", default="/var/lib/voipguard/run/snapshot.tar"),
            pending_marker=dict(type="path", default="/var/lib/voipguard/pending-reload"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if module.check_mode:
        module.exit_json(changed=False, files=0, changed_files=[],
                         pending_before=os.path.exists(params["pending_marker"]))
    try:
        if params["state"] == "taken":
            pending_before = os.path.exists(params["pending_marker"])
            count = take(params["paths"], params["archive"])
            with open(params["pending_marker"], "w") as handle:
                handle.write("a voipguard run is in progress or ended before it reloaded Asterisk\n")
            module.exit_json(changed=False, files=count, pending_before=pending_before)
        if not os.path.exists(params["archive"]):
            module.fail_json(msg="no snapshot at %s: nothing to restore" % params["archive"])
        changed = restore(params["archive"])
        module.exit_json(changed=bool(changed), changed_files=changed)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="snapshot %s failed: %s" % (params["state"], exc))


if __name__ == "__main__":
    main()
