# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a hardening run is given, as one digest: the toolkit's files and every role variable."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: voipguard_converged_inputs
short_description: A digest of a run's inputs - the toolkit's code and every role variable
description:
  - Returns one string, C(toolkit:<sha256> variables:<sha256>). The first covers every file of
    the toolkit (roles, modules, module_utils, playbooks and plugins); the second the value, as
    this host sees it, of every variable the roles' C(meta/argument_specs.yml) declare (the single
    source of the variables' names), undefined ones included as such.
  - M(voipguard_converged) records it after a verified run; a later run with other code or
    another value of any variable does not count as converged.
  - Only digests leave the controller; secrets among the variables are never shown.
options:
  _terms:
    description: Not used.
    required: false
"""

EXAMPLES = r"""
- name: Know whether the roles have anything to do
  voipguard_converged:
    inputs: "{{ lookup('voipguard_converged_inputs') }}"
"""

RETURN = r"""
_raw:
  description: C(toolkit:<sha256> variables:<sha256>).
"""

import hashlib
import json
import os

import yaml
from ansible.plugins.lookup import LookupBase

_CODE_DIRS = ("roles", "library", "module_utils", "playbooks", "lookup_plugins", "callback_plugins", "plugins")
_toolkit_digests = {}


def toolkit_root(start):
    """The nearest directory above start that holds roles/ (the repository, or the collection)."""
    directory = os.path.dirname(os.path.abspath(start))
    while directory != os.path.dirname(directory):
        if os.path.isdir(os.path.join(directory, "roles")):
            return directory
        directory = os.path.dirname(directory)
    raise ValueError("no roles/ directory above %s" % start)


def toolkit_digest(root):
    """SHA-256 over the relative path and content of every code file under root."""
    if root in _toolkit_digests:
        return _toolkit_digests[root]
    hasher = hashlib.sha256()
    for top in _CODE_DIRS:
        for directory, dirs, names in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(directory, name)
                hasher.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
                with open(path, "rb") as handle:
                    hasher.update(hashlib.sha256(handle.read()).digest())
    _toolkit_digests[root] = hasher.hexdigest()
    return _toolkit_digests[root]


def role_variable_names(root):
    """Every option of every role's argument_specs (all entry points), sorted."""
    names = set()
    roles = os.path.join(root, "roles")
    for role in sorted(os.listdir(roles)):
        spec_file = os.path.join(roles, role, "meta", "argument_specs.yml")
        if not os.path.isfile(spec_file):
            continue
        with open(spec_file) as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        for entry in specs.values():
            names.update((entry or {}).get("options") or {})
    return sorted(names)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        root = toolkit_root(__file__)
        values = {}
        for name in role_variable_names(root):
            if name not in variables:
                values[name] = "<undefined>"
                continue
            try:
                values[name] = self._templar.template(variables[name])
            except Exception as error:  # an unrenderable default is an input too, as written
                values[name] = "<unrenderable %s: %r>" % (type(error).__name__, variables[name])
        text = json.dumps(values, sort_keys=True, default=repr)
        return ["toolkit:%s variables:%s" % (toolkit_digest(root),
                                              hashlib.sha256(text.encode("utf-8")).hexdigest())]
