#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: install several whole files (programs, units, filters) in one call."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_install
short_description: Install several whole files in one call, each validated before it replaces the old
description:
  - Writes each file of I(files) whose content, owner, group or mode differ, atomically (a
    temporary file in the same directory, moved over the old one).
  - Every file that has a I(validate) command is checked first, in a temporary copy; when one
    fails, no file is written.
  - One round trip for a set of files that a role installs together, where C(copy) and
    C(template) take two per file (a stat, then the copy or the attributes). The content comes
    from the controller, e.g. C(lookup('ansible.builtin.file', ...)) or
    C(lookup('ansible.builtin.template', ...)).
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  files:
    description: The files.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the file. A missing parent directory is created (root, 0755).
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      mode:
        description: Octal mode, as a string (C("0755")).
        type: str
        default: "0644"
      owner:
        description: Owner (a name).
        type: str
        default: root
      group:
        description: Group (a name).
        type: str
        default: root
      validate:
        description: Command that must succeed on the new content before it is installed; C(%s)
          stands for a temporary copy of it.
        type: str
      backup:
        description: Keep a copy of the old file, when its content changes, beside it (as
          C(template) does); its name is returned in RV(backup_files).
        type: bool
        default: false
        version_added: "0.3.0"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per file that would change; use C(no_log) on a task whose files hold secrets.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Install the housekeeping program and its units
  voipguard_install:
    files:
      - dest: /usr/local/lib/voipguard/voipguard_astdb_prune.py
        content: "{{ lookup('ansible.builtin.file', 'voipguard_astdb_prune.py') }}"
        mode: "0755"
      - dest: /etc/systemd/system/voipguard-astdb-prune.timer
        content: "{{ lookup('ansible.builtin.template', 'voipguard-astdb-prune.timer.j2') }}"
"""

RETURN = r"""
changed_files:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
backup_files:
  description: The copy kept of each file that had I(backup) and changed, by I(dest).
  returned: always
  type: dict
  sample: {/etc/asterisk/extensions_voipguard.conf: /etc/asterisk/extensions_voipguard.conf.1234.2026-12-02@05:50:00~}
checksums:
  description: SHA-1 of each file's content, by I(dest) (as C(copy) and C(template) return it).
  returned: always
  type: dict
  sample: {/etc/nftables.d/voipguard.nft: 8a0b4f3bd32b4b5f8e3a7c0d1e2f3a4b5c6d7e8f}
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_files import differences, install_file, wanted_attributes as file_attributes


def wanted_attributes(entry):
    """(uid, gid, mode) of one entry; KeyError/ValueError for an unknown user, group or mode."""
    return file_attributes(entry["owner"], entry["group"], entry["mode"])


def content_checksum(content):
    """SHA-1 of the bytes written for ``content``, as Ansible's copy module returns it."""
    return hashlib.sha1(content.encode("utf-8", "surrogateescape")).hexdigest()


def plan(entries):
    """[(entry, before text or None, reasons)] of the files that differ; reasons name what."""
    out = []
    for entry in entries:
        before, reasons = differences(entry["dest"], entry["content"], *wanted_attributes(entry))
        if reasons:
            out.append((entry, before, reasons))
    return out


def validate(module, entry):
    """None when the entry's validate command accepts its content, else the command's complaint."""
    # In the module's own temporary directory: never beside the live files, where a program that
    # reads a whole directory (fail2ban's jail.d) could see it.
    handle, temporary = tempfile.mkstemp(prefix="voipguard-check.", dir=module.tmpdir)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(entry["content"].encode("utf-8", "surrogateescape"))
        rc, out, err = module.run_command(entry["validate"] % temporary)
        return None if rc == 0 else (err or out).strip() or "rc %d" % rc
    finally:
        os.unlink(temporary)


def install(module, entry):
    install_file(module, entry["dest"], entry["content"], *wanted_attributes(entry))


def main():
    module = AnsibleModule(
        argument_spec=dict(files=dict(type="list", elements="dict", required=True, options=dict(
            dest=dict(type="path", required=True),
            content=dict(type="str", required=True),
            mode=dict(type="str", default="0644"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            validate=dict(type="str"),
            backup=dict(type="bool", default=False)))),
        supports_check_mode=True)
    entries = module.params["files"]
    for entry in entries:
        if not os.path.isabs(entry["dest"]):
            module.fail_json(msg="dest must be an absolute path: %s" % entry["dest"])
        if entry["validate"] and "%s" not in entry["validate"]:
            module.fail_json(msg="validate must contain %%s (the file to check): %s" % entry["validate"])
        try:
            wanted_attributes(entry)
        except (KeyError, ValueError) as exc:
            module.fail_json(msg="%s: unknown owner, group or mode (%s)" % (entry["dest"], exc))
    changes = plan(entries)
    backups = {}
    diffs = [dict(before_header=entry["dest"], after_header=entry["dest"], before=before or "",
                  after=entry["content"]) for entry, before, reasons in changes if "content" in reasons or before is None]
    if not module.check_mode:
        for entry, _before, _reasons in changes:
            if entry["validate"]:
                complaint = validate(module, entry)
                if complaint is not None:
                    module.fail_json(msg="%s: the new content is refused by '%s' (nothing was written): %s"
                                     % (entry["dest"], entry["validate"], complaint))
        for entry, before, reasons in changes:
            if entry["backup"] and before is not None and "content" in reasons:
                backups[entry["dest"]] = module.backup_local(entry["dest"])
            install(module, entry)
    result = dict(changed=bool(changes), changed_files=[entry["dest"] for entry, _b, _r in changes],
                  backup_files=backups,
                  checksums=dict((entry["dest"], content_checksum(entry["content"])) for entry in entries))
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
