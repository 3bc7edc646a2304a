# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A play keyword from the inventory: Ansible templates serial and max_fail_percentage before it
knows any host, so the inventory's variables are read here."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: voipguard_rollout
short_description: A rollout setting (serial, max_fail_percentage) from the inventory
description:
  - Ansible templates the play keywords C(serial) and C(max_fail_percentage) before it picks the
    hosts, with no host's variables in reach. This lookup reads the run's inventory sources
    (C(ansible_inventory_sources)) again and returns the variable as the first host of
    I(group) sees it (its group_vars, the inventory's, its host_vars), or I(default).
options:
  _terms:
    description: The variable's name.
    required: true
  group:
    description: The inventory group whose hosts the play targets.
    default: pbx
  default:
    description: Returned when no host of the group sets the variable.
  sources:
    description: Inventory sources; by default the run's own.
    type: list
  check:
    description:
      - How the value is judged before the play starts, so that a typo stops the run with its
        name rather than Ansible's traceback. C(serial) is a count of at least 1 or a percentage
        such as C(25%) (or a list of those); C(percentage) is a number from 0 to 100.
      - C(max_fail_percentage) is a percentage for the play keyword of that name. 100 (never stop
        early) is returned as null, which is how Ansible spells "no limit", and which Ansible's
        C(free) strategy accepts without a warning. Under less than 100, a C(free) strategy
        (C(./voipguard harden --mitogen) runs C(mitogen_free)) is refused, because it runs every
        host on its own and cannot stop a batch early.
    choices: [serial, percentage, max_fail_percentage]
"""

EXAMPLES = r"""
- hosts: pbx
  serial: "{{ lookup('voipguard_rollout', 'voipguard_serial', default='100%', check='serial') }}"
  max_fail_percentage: >-
    {{ lookup('voipguard_rollout', 'voipguard_max_fail_percentage', default=100, check='max_fail_percentage') }}
"""

RETURN = r"""
_raw:
  description: The variable's value, or the default.
"""

import re

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.inventory.manager import InventoryManager
from ansible.plugins.lookup import LookupBase
from ansible.vars.manager import VariableManager


_PERCENT = re.compile(r"^([0-9]{1,3})%$")


def judge(name, value, check, strategy=None):
    """The value, or AnsibleLookupError naming the variable and what it must be. strategy: the
    run's strategy plugin, for check=max_fail_percentage."""
    if check == "serial":
        for item in value if isinstance(value, list) else [value]:
            text = str(item).strip()
            percent = _PERCENT.match(text)
            if isinstance(item, bool) or not (text.isdigit() and int(text) >= 1
                                              or percent and 1 <= int(percent.group(1)) <= 100):
                raise AnsibleLookupError("%s: %r is not a number of hosts (1 or more) or a percentage "
                                         "such as 25%%" % (name, item))
    elif check in ("percentage", "max_fail_percentage"):
        if isinstance(value, bool) or not str(value).strip().isdigit() or not 0 <= int(value) <= 100:
            raise AnsibleLookupError("%s: %r is not a percentage from 0 to 100" % (name, value))
        if check == "max_fail_percentage":
            if int(value) == 100:
                return None
            if str(strategy or "").endswith("free"):
                raise AnsibleLookupError(
                    "%s: %s %% needs a linear strategy, and this run uses %s, which runs every host on its own "
                    "and cannot stop a batch early: run without --mitogen, or with ANSIBLE_STRATEGY=mitogen_linear"
                    % (name, value, strategy))
            return int(value)
    return value


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        sources = kwargs.get("sources") or variables.get("ansible_inventory_sources") or []
        group = kwargs.get("group", "pbx")
        inventory = InventoryManager(loader=self._loader, sources=list(sources))
        hosts = inventory.get_hosts(group)
        host_vars = {}
        if hosts:
            manager = VariableManager(loader=self._loader, inventory=inventory)
            host_vars = manager.get_vars(host=hosts[0], include_hostvars=False)
        values = []
        for term in terms:
            if term in host_vars:
                value = self._templar.template(host_vars[term]) if hasattr(self, "_templar") else host_vars[term]
            elif "default" in kwargs:
                value = kwargs["default"]
            else:
                raise AnsibleLookupError("%s is not set for group %s in the inventory, and no default was given"
                                         % (term, group))
            values.append(judge(term, value, kwargs.get("check"), C.DEFAULT_STRATEGY))
        return values
