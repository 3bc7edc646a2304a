#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: the dialplan engines a running Asterisk loads with the package's sample dialplan alone."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_sample_dialplans_info
short_description: Read which dialplan engines run nothing but the package's sample dialplan
description:
  - Debian's Asterisk loads pbx_ael and pbx_lua, and asterisk-config installs their sample
    dialplans, C(extensions.ael) and C(extensions.lua). Their demos put trunk routes and C(Lua/)
    switches into the running dialplan, which no extensions.conf shows.
  - Asks the running Asterisk (C(asterisk -rx)) which engines it has loaded, and reads each one's
    file. A file that is the package's own (the md5 dpkg recorded, or byte for byte the copy in
    C(/usr/share/asterisk/conf/samples)) makes its engine one to switch off, unless a call is in
    its dialplan now. An edited file is the operator's dialplan and is left alone.
  - The judgement is module_utils/sample_dialplans.py. Nothing is changed.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  config_dir:
    description: Asterisk's configuration directory, where the engines' dialplan files are.
    type: path
    default: /etc/asterisk
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the dialplan engines that run the package's sample dialplan alone
  asterisk_sample_dialplans_info:
  register: samples
"""

RETURN = r"""
sample_dialplans:
  description: "{module: its dialplan file} of each loaded engine whose file is the package's unedited sample."
  returned: always
  type: dict
  sample: {pbx_ael.so: /etc/asterisk/extensions.ael, pbx_lua.so: /etc/asterisk/extensions.lua}
switch_off:
  description: The engines of I(sample_dialplans) no call is in; to be switched off.
  returned: always
  type: list
  elements: str
  sample: [pbx_ael.so, pbx_lua.so]
held:
  description: "{module: why} for each engine of I(sample_dialplans) left loaded this time (a call is in it)."
  returned: always
  type: dict
  sample: {pbx_ael.so: "pbx_ael.so loads the sample extensions.ael, and 1 call is in its dialplan now (PJSIP/1-1)"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_live import asked_once, module_cli
from ansible.module_utils.sample_dialplans import read_samples


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(config_dir=dict(type="path", default="/etc/asterisk")),
        supports_check_mode=True,
    )
    cli = asked_once(module_cli(module, module.get_bin_path("asterisk", required=True)))
    if cli("module show like pbx_") is None:
        module.fail_json(msg="Asterisk did not answer 'module show like pbx_': the sample dialplan engines are judged "
                             "on the running Asterisk, so it must be running (start it, e.g. systemctl start asterisk, "
                             "and run again)")
    dpkg_query = module.get_bin_path("dpkg-query")
    conffiles = module.run_command([dpkg_query, "-W", "-f=${Conffiles}\n", "asterisk-config"])[1] if dpkg_query else ""
    module.exit_json(changed=False, **read_samples(cli, read_bytes, conffiles, module.params["config_dir"]))


if __name__ == "__main__":
    main()
