#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Comment out additions to Asterisk objects the configuration no longer defines, in the files
where the toolkit writes additions."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: asterisk_orphan_additions
short_description: Comment out additions to objects nobody defines any more, before Asterisk loses the rest of their file
version_added: "0.3.0"
description:
  - A C([name](+type=...)) addition to a category that no file defines any more - an extension
    deleted in FreePBX's GUI, a trunk moved to C(pjsip_wizard.conf) - makes Asterisk stop reading
    the file at that line (C(config.c), C(process_text_line)), so every line after it in that
    file is lost, and Asterisk goes on with the file that included it. Seen on Asterisk 22 - one
    deleted extension took the trunk boundary's C(outbound_proxy), written after it, out of the
    running trunk.
  - Since 0.3.0 the toolkit writes a placeholder before each of its additions (see
    M(asterisk_config)), which takes the addition once its object is gone, so
    its own additions no longer become orphans; this module repairs those written before, and the
    operator's own in the files listed below.
  - For each root file of I(paths), reads its include set as Asterisk does and comments out every
    such addition, with a note above it, in the files where the toolkit writes additions - the
    operator's files for additions to a GUI's generated objects (C(pjsip_custom_post.conf),
    C(pjsip.<type>_custom_post.conf), C(manager_custom.conf)) and the toolkit's own
    C(pjsip_voipguard.conf). The operator's text stays, as comments.
  - An orphan addition in any other file, or any other error Asterisk would refuse, fails the task
    naming file and line, before anything is written.
  - Every file is written whole and atomically, after a backup; the diff masks secrets.
options:
  paths:
    description: Root configuration files (C(pjsip.conf), C(manager.conf)); missing ones are skipped.
    type: list
    elements: path
    required: true
  config_dir:
    description: Asterisk's configuration directory, where relative C(#include)s resolve.
    type: path
    default: /etc/asterisk
  backup:
    description: Keep a backup of each file before it is written.
    type: bool
    default: true
notes:
  - In check mode nothing is written, so a later task that reads the same files (the role's parse)
    still finds the orphan addition and stops there; the report and diff say what a run would do.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Comment out additions to objects the configuration no longer defines
  asterisk_orphan_additions:
    paths: [/etc/asterisk/pjsip.conf, /etc/asterisk/manager.conf]
"""

RETURN = r"""
files:
  description: The files with additions commented out, the categories they added to, and each backup.
  returned: always
  type: list
  sample: [{path: /etc/asterisk/pjsip_custom_post.d/202.conf, sections: ["202"],
            backup_file: /etc/asterisk/pjsip_custom_post.d/202.conf.1234.2026-12-04@17:00:00~}]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import (
    OWN_ADDITION_FILES, AsteriskConfigError, mask_secrets, orphan_additions_commented_out)
from ansible.module_utils.pbx_distribution import is_amendment_file
from ansible.module_utils.voipguard_files import read_text, write_atomically


def where_the_toolkit_adds(path):
    """True for the files where the toolkit writes additions (and may comment one out)."""
    return is_amendment_file(path) or os.path.basename(path) in OWN_ADDITION_FILES


def plan(paths, config_dir="/etc/asterisk", read=None):
    """[{path, sections, before, after, diff}] of the files to rewrite, each once, in the order
    found. Raises AsteriskConfigError for what may not be commented out."""
    encodings = {}  # written back in the encoding it was read in (a Latin-1 file stays Latin-1)

    def read_and_remember(name):
        text, encodings[name] = read_text(name)
        return text

    read = read or read_and_remember
    originals = {}  # each file read once: what the parse saw is the diff's "before"

    def original(name):
        if name not in originals:
            originals[name] = read(name)
        return originals[name]

    planned = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        texts, found = orphan_additions_commented_out(
            path, where_the_toolkit_adds, config_dir=config_dir,
            read=lambda name: planned[name]["after"] if name in planned else original(name))
        for name, text in texts.items():
            entry = planned.setdefault(name, {"path": name, "sections": [], "before": original(name),
                                              "encoding": encodings.get(name, "utf-8")})
            entry["after"] = text
        for name, _line, category in found:
            planned[name]["sections"].append(category)
    entries = list(planned.values())
    for entry in entries:
        entry["diff"] = {"before_header": entry["path"], "after_header": entry["path"],
                         "before": mask_secrets(entry["before"], entry["path"]),
                         "after": mask_secrets(entry["after"], entry["path"])}
    return entries


def main():
    module = AnsibleModule(
        argument_spec=dict(paths=dict(type="list", elements="path", required=True),
                           config_dir=dict(type="path", default="/etc/asterisk"),
                           backup=dict(type="bool", default=True)),
        supports_check_mode=True)
    try:
        entries = plan(module.params["paths"], module.params["config_dir"])
    except (AsteriskConfigError, ValueError) as exc:
        module.fail_json(msg="%s (nothing was changed)" % exc)
    files = []
    for entry in entries:
        report = {"path": entry["path"], "sections": entry["sections"]}
        if not module.check_mode:
            if module.params["backup"]:
                report["backup_file"] = module.backup_local(entry["path"])
            write_atomically(module, entry["path"], entry["after"], encoding=entry["encoding"])
        files.append(report)
    result = {"changed": bool(entries), "files": files,
              "msg": "; ".join("%s: commented out the additions to %s, which no file defines any more"
                               % (f["path"], ", ".join(f["sections"])) for f in files) or "no orphan addition"}
    if module._diff and entries:
        result["diff"] = [entry["diff"] for entry in entries]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
