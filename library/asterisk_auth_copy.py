#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy PJSIP auth sections from one Asterisk configuration into a file of another, on the host."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asterisk_auth_copy
short_description: Copy PJSIP auth sections (with their secrets) into another Asterisk's file, on the host
version_added: "0.3.0"
description:
  - Reads the auth sections named in I(names) from I(config) and every file it includes,
    templates and additions resolved as Asterisk reads them, and writes them to I(dest), each
    as one section of the options it ends up with.
  - Made for the trunk boundary instance of the toll_fraud_guard role, which dials the carriers
    with the trunks' own credentials - the secrets are read and written on the host only. They
    never travel to the controller, and the diff and the result show them as C(********).
  - Writes only when the content, owner, group or mode differ, atomically.
author: voipguard contributors
options:
  config:
    description: The main configuration file whose include tree defines the auths, e.g. C(/etc/asterisk/pjsip.conf).
    type: path
    required: true
  names:
    description:
      - The auth sections to copy. A name no concrete C(type = auth) section defines fails the
        task, unless I(wizard_config) makes it - C(<wizard>-oauth) of a wizard with
        C(sends_auth = yes), from its C(outbound_auth/) options.
    type: list
    elements: str
    required: true
  wizard_config:
    description:
      - The main Asterisk's C(pjsip_wizard.conf), whose wizards make auths too
        (res_pjsip_config_wizard). Read with its includes when it exists.
    type: path
  dest:
    description: The file to write (created with its directory when missing).
    type: path
    required: true
  owner:
    description: Owner of I(dest).
    type: str
    default: root
  group:
    description: Group of I(dest).
    type: str
    default: root
  mode:
    description: Mode of I(dest), octal.
    type: str
    default: "0640"
  header:
    description: Comment lines written at the top of I(dest) (without the C(;)).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The secrets are masked in the diff.
"""

EXAMPLES = r"""
- name: Give the boundary instance the trunk's credentials
  asterisk_auth_copy:
    config: /etc/asterisk/pjsip.conf
    names: [carrier-auth]
    dest: /etc/voipguard-boundary/pjsip_auths.conf
    group: voipguard-boundary
"""

RETURN = r"""
copied:
  description: The auth sections written, in I(names) order.
  returned: success
  type: list
  sample: [carrier-auth]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import AsteriskConfigError, load, mask_secrets, resolve
from ansible.module_utils.pjsip_sections import wizard_auth_options, wizard_of_auth
from ansible.module_utils.voipguard_files import differences, install_file, wanted_attributes


class AuthCopyError(ValueError):
    """An auth cannot be copied; the message names it."""


def wizard_auth(wizard_configs, name):
    """Effective options of auth ``name`` as a wizard of pjsip_wizard.conf makes it (<wizard>-oauth
    of a wizard that sends auth), or {}."""
    wizard = wizard_of_auth(name, "outbound")
    if not wizard_configs or wizard is None:
        return {}
    effective = resolve(wizard_configs, wizard, "wizard")
    return (effective and wizard_auth_options(effective, "outbound")) or {}


def render(configs, names, header=(), wizard_configs=None):
    """The file's text: each auth of names as Asterisk resolves it (from pjsip.conf's include set,
    or made by a wizard of wizard_configs), one option per line, ';' escaped (a password may hold
    one). Raises AuthCopyError for a name that neither defines."""
    lines = ["; %s" % line for line in header]
    for name in names:
        effective = resolve(configs, name, "auth") or wizard_auth(wizard_configs, name)
        if not effective:
            raise AuthCopyError("auth %s is not defined in %s or its includes%s" % (
                name, configs[0].filename, ", nor made by a wizard of %s" % wizard_configs[0].filename
                if wizard_configs else ""))
        lines.append("")
        lines.append("[%s]" % name)
        lines.append("type = auth")
        for key in sorted(effective):
            if key == "type":
                continue
            lines.extend("%s = %s" % (key, value.replace(";", "\\;")) for value in effective[key])
    return "\n".join(lines).lstrip("\n") + "\n"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="path", required=True),
            names=dict(type="list", elements="str", required=True),
            dest=dict(type="path", required=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="str", default="0640"),
            header=dict(type="list", elements="str", default=[]),
            wizard_config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        wizard = params["wizard_config"]
        text = render(load(params["config"]), params["names"], params["header"],
                      load(wizard) if wizard and os.path.exists(wizard) else None)
    except (AsteriskConfigError, AuthCopyError, IOError, OSError) as exc:
        module.fail_json(msg=str(exc))
    try:
        attributes = wanted_attributes(params["owner"], params["group"], params["mode"])
    except (KeyError, ValueError) as exc:
        module.fail_json(msg="%s: unknown owner, group or mode (%s)" % (params["dest"], exc))
    dest = params["dest"]
    before, reasons = differences(dest, text, *attributes)
    result = dict(changed=bool(reasons), copied=list(params["names"]))
    if module._diff and reasons:
        result["diff"] = dict(before_header=dest, after_header=dest,
                              before=mask_secrets(before or "", dest), after=mask_secrets(text, dest))
    if reasons and not module.check_mode:
        install_file(module, dest, text, *attributes, directory_mode=0o750)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
