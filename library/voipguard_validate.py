#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: check the operator's variables (networks, addresses, ports, names, country
codes, paths) before anything changes. Never changes anything."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_validate
short_description: Check voipguard variables by their meaning before a run changes anything
description:
  - Judges each variable by what it must be (an IP network, an IP address, a port, an Asterisk
    object name, an ISO country code, an absolute path) with Python's ipaddress, and fails
    naming every wrong variable and item, so that a typo stops the run before the first change.
  - The logic lives in C(module_utils/voipguard_inputs.py). A playbook next to C(action_plugins/)
    (or the collection) runs it on the controller, in the worker, without a round trip to the host;
    a variable's meaning does not depend on the host.
version_added: "0.2.0"
author:
  - voipguard contributors
options:
  checks:
    description:
      - What to check. C(kind) is one of network, networks, address, addresses, port, ports,
        name, names, country, countries, path, alert_url, alert_urls (judged by Apprise where it
        is installed, so run those checks on the controller), seconds, port_range (a list of two
        ports, the first not above the last), or trunks (the shape of C(voipguard_trunks)).
    type: list
    elements: dict
    required: true
    suboptions:
      variable:
        description: The variable's name, as the error message shows it.
        type: str
        required: true
      kind:
        description: What the value must be.
        type: str
        required: true
      value:
        description: The value (a list for the plural kinds and for trunks).
        type: raw
      required:
        description: Fail when the value is missing or empty.
        type: bool
        default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Changes nothing; runs the same in check mode.
"""

EXAMPLES = r"""
- name: Check the inventory before the first change
  voipguard_validate:
    checks:
      - {variable: voipguard_admin_networks, kind: networks, value: "{{ voipguard_admin_networks }}", required: true}
      - {variable: voipguard_management_address, kind: address, value: "{{ voipguard_management_address }}"}
      - {variable: voipguard_trunks, kind: trunks, value: "{{ voipguard_trunks | default([]) }}"}
"""

RETURN = r"""
problems:
  description: One line per wrong variable or item, naming it; empty when all is well.
  returned: always
  type: list
  elements: str
  sample: ["voipguard_admin_networks[0]: '10.0.0.300/24' is not an IP network ..."]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_inputs import VALIDATE_ARGUMENT_SPEC, check_all


def main():
    module = AnsibleModule(argument_spec=VALIDATE_ARGUMENT_SPEC, supports_check_mode=True)
    problems = check_all(module.params["checks"])
    if problems:
        module.fail_json(msg="wrong variables, nothing was changed: " + "; ".join(problems), problems=problems)
    module.exit_json(changed=False, problems=[])


if __name__ == "__main__":
    main()
