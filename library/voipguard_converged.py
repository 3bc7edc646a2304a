#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: whether a host is still as the last verified run left it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_converged
short_description: Know whether a host is still as the last verified hardening run left it
description:
  - C(state=recorded), at the end of a run that ran every role and verified the live state,
    observes the host and records digests only - of the run's inputs and of each observation -
    in I(record) (mode 0600).
  - C(state=compared) observes the same things again and returns I(converged) true only when the
    inputs are equal, every observation is equal, and the record is younger than I(max_age).
    Then the roles have nothing to do; M(asterisk_live_state) still proves the running Asterisk
    matches its files. Anything else - a file edited, a unit stopped, the firewall table changed,
    a variable or the toolkit changed, no record - returns false and names why.
  - Observations are files (content, type, owner and mode; directories with everything under
    them; glob patterns), files that change by themselves such as logs (owner and mode only),
    command outputs with their exit status, and nftables tables read without counters, rule
    handles, and the elements of the sets the packet path fills (bans, meters).
  - The logic lives in C(module_utils/voipguard_converged.py).
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  state:
    description: Compare with the record, or write it.
    type: str
    choices: [compared, recorded]
    default: compared
  inputs:
    description:
      - What the run was given, as one string the controller computed (the
        C(voipguard_converged_inputs) lookup - a digest of the toolkit's files and every role
        variable). Only its SHA-256 is recorded.
    type: str
    required: true
  observe:
    description: What is observed on the host.
    type: dict
    default: {}
    suboptions:
      paths:
        description: Files and directories whose content, owner and mode are observed (glob
          patterns allowed; a directory includes everything under it).
        type: list
        elements: str
        default: []
      present:
        description: Files observed by existence, owner and mode only (glob patterns allowed).
        type: list
        elements: str
        default: []
      commands:
        description: Commands (argument lists, no shell) whose exit status and output are observed.
        type: list
        elements: list
        default: []
      nft_tables:
        description: nftables tables (C(family name)) whose stable part is observed.
        type: list
        elements: str
        default: []
  record:
    description: Where the record is kept.
    type: path
    default: /var/lib/voipguard/converged.json
  max_age:
    description: Seconds after which a record no longer counts, so that a full run happens at least
      this often.
    type: int
    default: 86400
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Compares in check mode; records nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Recording reports C(changed=false) - it is the run's own bookkeeping under
    C(/var/lib/voipguard), not a change to the host's configuration.
  - The record holds digests and path names only, never file content or secrets.
"""

EXAMPLES = r"""
- name: Know whether the roles have anything to do
  voipguard_converged:
    inputs: "{{ lookup('voipguard_converged_inputs') }}"
    observe:
      paths: [/etc/asterisk, /etc/fail2ban, "/etc/systemd/system/voipguard-*"]
      commands: [[systemctl, is-active, fail2ban.service]]
      nft_tables: [inet voipguard]
  register: converged
- name: Record what the verified run left
  voipguard_converged:
    state: recorded
    inputs: "{{ lookup('voipguard_converged_inputs') }}"
    observe:
      paths: [/etc/asterisk, /etc/fail2ban, "/etc/systemd/system/voipguard-*"]
      commands: [[systemctl, is-active, fail2ban.service]]
      nft_tables: [inet voipguard]
"""

RETURN = r"""
converged:
  description: For C(compared), whether nothing changed since the last verified run.
  returned: always
  type: bool
reason:
  description: Why, in words (which observations differ, by name; never their content).
  returned: always
  type: str
observations:
  description: How many things were observed.
  returned: always
  type: int
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_converged import compare, make_record, observe, read_record
from ansible.module_utils.voipguard_files import write_atomically


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["compared", "recorded"], default="compared"),
            inputs=dict(type="str", required=True, no_log=True),
            observe=dict(type="dict", default={}, options=dict(
                paths=dict(type="list", elements="str", default=[]),
                present=dict(type="list", elements="str", default=[]),
                commands=dict(type="list", elements="list", default=[]),
                nft_tables=dict(type="list", elements="str", default=[]),
            )),
            record=dict(type="path", default="/var/lib/voipguard/converged.json"),
            max_age=dict(type="int", default=86400),
        ),
        supports_check_mode=True,
    )
    params = module.params
    wanted = params["observe"]
    for table in wanted["nft_tables"]:
        if len(table.split()) != 2:
            module.fail_json(msg="nft_tables: %r is not 'family name', such as 'inet voipguard'" % table)
    if params["max_age"] < 0:
        module.fail_json(msg="max_age: %d is below 0" % params["max_age"])

    def run(argv):
        rc, stdout, _ = module.run_command([str(arg) for arg in argv])
        return rc, stdout

    observed = observe(wanted["paths"], wanted["present"], wanted["commands"], wanted["nft_tables"], run)
    now = time.time()
    if params["state"] == "compared":
        converged, reason = compare(read_record(params["record"]), params["inputs"], observed, now,
                                    params["max_age"])
        module.exit_json(changed=False, converged=converged, reason=reason, observations=len(observed))

    if not module.check_mode:
        directory = os.path.dirname(params["record"])
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        text = json.dumps(make_record(params["inputs"], observed, now), sort_keys=True, indent=1) + "\n"
        write_atomically(module, params["record"], text, mode=0o600)
        os.chmod(params["record"], 0o600)
    module.exit_json(changed=False, converged=True, reason="recorded" if not module.check_mode
                     else "nothing recorded in check mode", observations=len(observed))


if __name__ == "__main__":
    main()
