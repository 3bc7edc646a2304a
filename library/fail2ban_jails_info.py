#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: fail2ban's jails and their ignoreip, and which could ban the admin networks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fail2ban_jails_info
short_description: Read fail2ban's jails and which of them could ban the admin networks
description:
  - Lists the jails fail2ban starts and each one's ignoreip, read by fail2ban itself.
  - With I(source=files), from the configuration in I(config_dir) as it would be without
    I(own_file) (C(fail2ban-client -c DIR -d) on a scratch copy), so voipguard can give an
    operator's jail its own ignoreip plus the admin networks. fail2ban options override, so
    that value has to be written whole.
  - With I(source=running), from the running server (C(fail2ban-client get JAIL ignoreip)), to
    prove that no jail can ban the admin networks. A jail whose actions ban nothing (the phones'
    watch jail, which only alerts) is listed in I(alert_only), not in I(jails).
  - Changes nothing.
version_added: "0.3.0"
author: voipguard contributors
options:
  source:
    description: Where to read the jails from.
    type: str
    choices: [files, running]
    default: files
  config_dir:
    description: fail2ban's configuration directory (I(source=files)).
    type: path
    default: /etc/fail2ban
  own_file:
    description: The file, relative to I(config_dir), left out of the reading (I(source=files)).
    type: str
    default: jail.d/voipguard.local
  must_ignore:
    description: Networks every jail must ignore; those a jail does not are in I(unprotected).
    type: list
    elements: str
    default: []
  fail_if_unprotected:
    description:
      - Fail, naming each jail and network, when some jail could ban a network of I(must_ignore).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only (a scratch copy of I(config_dir)).
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the operator's jails as fail2ban reads them without voipguard's file
  fail2ban_jails_info:
    must_ignore: [198.18.0.0/24]
  register: jails

- name: Prove that no running jail can ban the admin networks
  fail2ban_jails_info:
    source: running
    must_ignore: [198.18.0.0/24]
    fail_if_unprotected: true
"""

RETURN = r"""
installed:
  description: Whether fail2ban-client is on the host (when not, I(jails) is empty).
  returned: always
  type: bool
jails:
  description: Each jail fail2ban starts, with its ignoreip entries.
  returned: always
  type: dict
  sample: {sshd: [127.0.0.1/8, "::1"], voipguard-asterisk: [127.0.0.1/8, 198.18.0.0/24]}
alert_only:
  description: Running jails whose actions ban nothing (I(source=running)).
  returned: always
  type: list
  elements: str
  sample: [voipguard-asterisk-phones]
unprotected:
  description: The jails that could ban some of I(must_ignore), with those networks.
  returned: always
  type: dict
  sample: {sshd: [198.18.0.0/24]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.fail2ban_jails import jails_without_own_file, running_jails, unprotected_jails
from ansible.module_utils.voipguard_inputs import check_network


def ask_fail2ban(module, words):
    """What `fail2ban-client WORDS` printed; a server that does not answer fails the module."""
    rc, out, err = module.run_command(["fail2ban-client"] + list(words))
    if rc != 0:
        module.fail_json(msg="fail2ban does not answer (fail2ban-client %s): %s"
                         % (" ".join(words), (err or out).strip()))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source=dict(type="str", choices=["files", "running"], default="files"),
            config_dir=dict(type="path", default="/etc/fail2ban"),
            own_file=dict(type="str", default="jail.d/voipguard.local"),
            must_ignore=dict(type="list", elements="str", default=[]),
            fail_if_unprotected=dict(type="bool", default=False),
        ),
        supports_check_mode=True)
    params = module.params
    problems = [problem for network in params["must_ignore"]
                for problem in check_network("must_ignore", network)]
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not module.get_bin_path("fail2ban-client"):
        # A check run on a host that has no fail2ban yet: nothing to read.
        module.exit_json(changed=False, installed=False, jails={}, alert_only=[], unprotected={})
    alert_only = []
    if params["source"] == "files":
        jails = jails_without_own_file(module, params["config_dir"], params["own_file"])
    else:
        jails, alert_only = running_jails(lambda words: ask_fail2ban(module, words))
    unprotected = unprotected_jails(jails, params["must_ignore"])
    if unprotected and params["fail_if_unprotected"]:
        module.fail_json(
            msg="fail2ban can ban the admin networks - %s. voipguard writes each jail's ignoreip in %s: "
                "a file fail2ban reads after it (jail.d/*.local sorted later) may set it again; add the "
                "admin networks there, or rerun voipguard if fail2ban was not reloaded." % (
                    "; ".join("jail %s does not ignore %s" % (name, ", ".join(nets))
                              for name, nets in sorted(unprotected.items())), params["own_file"]),
            jails=jails, alert_only=alert_only, unprotected=unprotected)
    module.exit_json(changed=False, installed=True, jails=jails, alert_only=alert_only, unprotected=unprotected)


if __name__ == "__main__":
    main()
