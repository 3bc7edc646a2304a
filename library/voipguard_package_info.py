#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: which of some Debian packages dpkg has installed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_package_info
short_description: Ask dpkg which of some Debian packages are installed
description:
  - One C(dpkg-query -W) for all the I(names). A role run on its own asks with this module which
    of its packages it has to install; C(playbooks/harden.yml) asks for every role at once with
    M(pbx_distribution_info). Both use the same probe (module_utils/pbx_distribution.py).
  - Faster than M(ansible.builtin.apt)'s own check, and needs neither facts nor python3-apt, so a
    check run works on a host that has nothing to install.
  - Changes nothing.
version_added: "0.3.0"
author: voipguard contributors
options:
  names:
    description: Debian package names.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Ask dpkg which of the packages are installed
  voipguard_package_info:
    names: [fail2ban, nftables]
  register: states

- name: Install the missing ones
  ansible.builtin.apt:
    name: "{{ [fail2ban, nftables] | difference(states.installed) }}"
"""

RETURN = r"""
probed:
  description: The I(names) dpkg answered for (all of them, or none when the host has no dpkg).
  returned: always
  type: list
  elements: str
  sample: [fail2ban, nftables]
installed:
  description: The I(names) dpkg has installed.
  returned: always
  type: list
  elements: str
  sample: [nftables]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pbx_distribution import package_states


def main():
    module = AnsibleModule(argument_spec=dict(names=dict(type="list", elements="str", required=True)),
                           supports_check_mode=True)
    probed, installed = package_states(module, module.params["names"])
    module.exit_json(changed=False, probed=probed, installed=installed)


if __name__ == "__main__":
    main()
