#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: edit options and sections of Asterisk configuration files in place."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_config
short_description: Edit options and sections of Asterisk configuration files
description:
  - Sets, replaces or removes one option of a section, or adds or removes a section, in an
    Asterisk configuration file (pjsip.conf, manager.conf, http.conf, asterisk.conf, ...).
  - With I(changes), makes a list of such changes in one call, in order, each seeing the ones
    before it; every file is written once (one backup), and only if every change can be made.
  - Understands what a generic ini editor breaks, exactly as Asterisk reads the file
    (main/config.c), that is several sections sharing one name told apart by C(type) (inherited from
    templates too), templates C([name](!)) and inheritance C([name](tpl)), repeated keys
    (C(permit), C(deny), C(allow), C(match)), C(=>) separators, C(;) and C(;-- --;) comments.
  - Only the lines that change are rewritten; comments and every other line stay byte for byte.
    A file that Asterisk would refuse or misread makes the module fail with its file name,
    line number and reason, and leaves the file untouched.
  - The diff shows C(********) instead of the value of every C(password), C(secret),
    C(md5_cred) and C(password_digest) line (also C(inbound_auth/password) and similar).
  - Included files are not followed; edit each file with its own task.
  - On FreePBX and its kin, a change meant for a generated file goes to the operator's
    C(*_custom_post.conf) instead (see I(gui_files)), so the GUI's next "Apply Config" keeps it.
version_added: "0.1.0"
author:
  - voipguard contributors
options:
  path:
    description:
      - Asterisk configuration file to edit. It must exist.
      - With I(changes), the file of every change that names none.
      - Required unless every entry of I(changes) has its own C(path).
    type: path
  changes:
    description:
      - Several changes made in one call, in order. Each entry takes the options of a single
        change (C(section), C(section_type), C(option), C(value), C(values), C(values_mode),
        C(acl), C(state), C(create_section), C(gui_read_first)), with the same meaning and defaults, and its own
        C(path) (default I(path)) and C(include_root) (default I(include_root)), so that one call can edit
        pjsip.conf's include set and pjsip_wizard.conf's.
      - Mutually exclusive with I(section) and the other single-change options.
      - One change that cannot be made fails the call, and no file is written.
    type: list
    elements: dict
    version_added: "0.3.0"
  section:
    description:
      - Name of the section (the text between C([) and C(])), compared case-insensitively like
        Asterisk does. Required unless only checking that the file parses.
    type: str
  section_type:
    description:
      - Select only the sections of that name whose C(type) option (own or inherited from a
        template) has this value, e.g. C(endpoint), C(aor), C(auth) in pjsip.conf.
      - Required when the name is shared by sections of different types.
      - When a section is created, it gets a C(type) line with this value first.
    type: str
  option:
    description:
      - Option (key) to set or remove. Without it, I(state) applies to the section itself.
    type: str
  value:
    description:
      - Value for I(option). Every occurrence of the option is replaced by this single one,
        at the place of the first occurrence (appended after the section's last option when
        absent).
      - With I(state=absent), remove only the occurrences with this value.
    type: str
  values:
    description:
      - Values for a repeated option (C(permit), C(deny), C(allow), C(match), ...). The option
        ends up with exactly these occurrences, in this order.
      - With I(state=absent), remove only the occurrences with one of these values.
    type: list
    elements: str
  values_mode:
    description:
      - How I(values) (or I(value)) apply with I(state=present).
      - C(exact) makes them the option's only occurrences (see I(values)).
      - C(append) adds each value not yet present after the option's last occurrence and
        keeps every other occurrence, e.g. one more C(set_var) line beside the operator's own.
    type: str
    choices: [exact, append]
    default: exact
  acl:
    description:
      - Replace the section's C(deny) and C(permit) lines with exactly these rules, all C(deny)
        lines first, then all C(permit) lines, at the place of the first existing rule.
        Asterisk applies every rule in order and the last match wins, so C(permit) before
        C(deny=0.0.0.0/0.0.0.0) would lock everyone out.
      - Mutually exclusive with I(option); only with I(state=present).
    type: dict
    suboptions:
      deny:
        description: Networks to deny, e.g. C(0.0.0.0/0.0.0.0).
        type: list
        elements: str
        default: []
      permit:
        description: Networks to permit, as C(address/prefix) or C(address/netmask).
        type: list
        elements: str
        default: []
  include_root:
    description:
      - The top-level file that includes I(path) (e.g. C(/etc/asterisk/pjsip.conf) when editing
        a file it C(#include)s). Sections inheriting C(type) from a template defined in another
        file of that set are then recognised. Relative includes resolve against its directory.
      - Without it, a section whose template is not in I(path) has no known type, and selecting
        it by I(section_type) fails rather than creating a duplicate.
    type: path
  state:
    description:
      - C(present) sets the option (or makes sure the section exists).
      - C(absent) removes the option (all occurrences, or the given values); without
        I(option), removes the whole matching section(s).
    type: str
    choices: [present, absent]
    default: present
  create_section:
    description:
      - Create the section (appended at the end of the file) when no section matches.
      - When false and no section matches, the module fails.
    type: bool
    default: true
  gui_read_first:
    description:
      - With I(path) a GUI-generated file, have the amending file read this object's addition
        file before the other objects' (its include line before every other include and section).
      - Asterisk stops reading a file at an addition to an object the GUI deleted, and never gives
        back the include level that file took; after 9 such files every later include of the
        amending file is skipped. Read first, the object's addition (a trunk's loop) never is.
      - Ignored for a file the GUI does not generate.
    type: bool
    default: false
    version_added: "0.3.0"
  gui_files:
    description:
      - What to do when I(path) is a file the PBX's GUI rewrites on every "Apply Config"
        (FreePBX's "Do NOT edit this file as it is auto-generated" header, or FreePBX's
        C(manager.conf)).
      - C(amend) leaves that file alone and makes the change as a C([section](+type=...))
        addition in a file the GUI leaves to the operator and Asterisk reads after it (for any
        PJSIP file, such as C(pjsip.conf) or C(pjsip.endpoint.conf), C(pjsip_custom_post.conf),
        the last file of C(pjsip.conf)'s set; for C(manager.conf), C(manager_custom.conf)),
        created when missing. The last value read wins, and the
        addition's C(deny)/C(permit) rules come after the section's own, so the change holds. An
        option or section that only the generated file sets cannot be removed that way; the
        module then fails and names the file.
      - The additions to each object name have a file of their own,
        C(<that file without .conf>.d/<section>.conf) (e.g. C(pjsip_custom_post.d/202.conf)),
        which that file includes with C(#tryinclude), read last, where no include of the GUI's
        own comes after them.
      - Before an object's first C([name](+type=T)) addition in its file stands a placeholder,
        C([name]) with C(type = voipguard-placeholder-T), a type no PJSIP object has but the
        addition's filter matches (config.c reads a filter as a regular expression). While the
        GUI defines the object, the addition goes to it, read first; once the GUI deletes it, to
        the placeholder. Without it the addition would be an orphan, and Asterisk stops
        reading a file there and keeps the include level the file took, so after nine deleted
        objects every later include was skipped (main/config.c). A placeholder no addition
        needs any more is removed. A C(manager.conf) user's addition has no type filter and no
        placeholder (a section there is a user), nor does PJSIP's C([global]), which Asterisk
        counts as a second global object.
      - An addition to the object already in that file (the operator's) is moved to the
        object's file, with the include line where it was, so Asterisk reads the same lines in
        the same order; one in C(pjsip.<type>_custom_post.conf) (where 0.2.0 wrote them) is moved
        there too, first.
      - C(refuse) fails without changing anything.
    type: str
    choices: [amend, refuse]
    default: amend
    version_added: "0.3.0"
  backup:
    description: Keep a timestamped copy of the original file when it changes.
    type: bool
    default: false
notes:
  - Supports check mode and diff mode.
  - The write is atomic (temporary file and rename) and keeps the file's owner, group and mode.
  - The task's own arguments are not masked; use C(no_log) on tasks that set a secret.
seealso:
  - name: Asterisk configuration file format
    description: Templates, inheritance, includes and comments of Asterisk config files.
    link: https://docs.asterisk.org/Fundamentals/Asterisk-Configuration/Asterisk-Configuration-Files/
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change, and the diff, without writing.
  diff_mode:
    support: full
    details: The file before and after, secret values masked.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Refuse OPTIONS from unauthenticated sources on endpoint 1001
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    section: "1001"
    section_type: endpoint
    option: allow_unauthenticated_options
    value: "no"
    backup: true

- name: Only the office may use AMI user admin
  asterisk_config:
    path: /etc/asterisk/manager.conf
    section: admin
    option: permit
    values:
      - 198.18.0.0/255.255.255.0

- name: Count the trunk's channels in a group, keeping the endpoint's other set_var lines
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    section: carrier
    section_type: endpoint
    option: set_var
    values:
      - GROUP(voipguard-trunk)=carrier
    values_mode: append
    create_section: false

- name: Phone 1001 may only register from the phone network
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    section: "1001"
    section_type: endpoint
    acl:
      deny: [0.0.0.0/0.0.0.0]
      permit: [198.51.100.0/24]

- name: Remove the anonymous endpoint
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    section: anonymous
    section_type: endpoint
    state: absent

- name: Create the global section if needed and count unidentified requests
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    section: global
    section_type: global
    option: unidentified_request_count
    value: "5"

- name: Bound registrations and refuse foreign phones, one call for the whole file
  asterisk_config:
    path: /etc/asterisk/pjsip.conf
    backup: true
    changes:
      - {section: "1001", section_type: aor, option: max_contacts, value: "1"}
      - {section: "1001", section_type: aor, option: remove_existing, value: "yes"}
      - section: "1001"
        section_type: endpoint
        acl: {deny: [0.0.0.0/0.0.0.0], permit: [198.51.100.0/24]}

- name: Check that a file parses, changing nothing
  asterisk_config:
    path: /etc/asterisk/extensions.conf
  check_mode: true
"""

RETURN = r"""
path:
  description: The file edited.
  returned: always
  type: str
  sample: /etc/asterisk/pjsip.conf
amended:
  description: The GUI-generated file the change amends, when it was written as an addition to I(path).
  returned: when the change went to an addition
  type: str
  sample: /etc/asterisk/pjsip.endpoint.conf
sections:
  description: How many sections matched I(section) / I(section_type) (before any creation).
  returned: always
  type: int
  sample: 1
created:
  description: Whether the section was created.
  returned: always
  type: bool
  sample: false
results:
  description: With I(changes), one entry per change, in order, with C(path), C(changed),
    C(sections), C(created), C(msg) and (for an addition) C(amended), as for a single change.
  returned: with I(changes)
  type: list
  elements: dict
files:
  description:
    - The files the call changed, each with C(path), its owner, group and mode when it existed,
      C(backup_file) when I(backup=true) and it existed, and C(created_directory) when the
      directory of an object's addition file was made for it.
    - A single change to a generated file's object can change two files, the object's addition
      file and the file that includes it.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/asterisk/pjsip.conf, changed: true, backup_file: /etc/asterisk/pjsip.conf.12345.2024-05-01@10:00:00~}]
backup_file:
  description: The backup of I(path)'s file (the result's C(path)), when I(backup=true) and it changed.
  returned: changed and backup requested (single change)
  type: str
  sample: /etc/asterisk/pjsip.conf.12345.2024-05-01@10:00:00~
warnings_parser:
  description: Lines Asterisk ignores with a warning (no C(=), unknown directive), as FILE:LINE messages.
  returned: always
  type: list
  elements: str
  sample: ["/etc/asterisk/manager.conf:12: no '=' in line (ignored by Asterisk)"]
msg:
  description: What was done.
  returned: always
  type: str
  sample: option allow_unauthenticated_options set in 1 section(s)
"""

import fnmatch
import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.asterisk_conf import (AsteriskConfigError, acl_rules, load, merged_parts,
                                                local_files, mask_secrets, parse, placeholders_for_additions,
                                                resolve_section)
from ansible.module_utils.pbx_distribution import (
    addition_file, amendment_file, earlier_amendment_file, gui_regenerates)
from ansible.module_utils.voipguard_files import read_or_none, read_text, write_atomically

class ChangeError(Exception):
    """The requested change cannot be made (not a parse error)."""


def select_sections(config, name, section_type):
    """Sections to act on: same name (and type), never (+) additions or continuations, nor a
    template of the same name as a concrete one."""
    found = [s for s in config.find(name, type=section_type) if not s.is_addition]
    # "[office](!)" then "[office](office)": the object is the concrete one; editing the template
    # too would change every other section that inherits it.
    found = [s for s in found if not s.is_template] or found
    if section_type is not None and not found:
        # Its type may come from a (+) addition: config.c merges it before res_sorcery_config
        # reads the type ("[1001]" ... "[1001](+)\ntype=endpoint" is an endpoint).
        found = [s for s in config.find(name) if not s.is_addition and s.type is None and any(
            (part.get("type") or "").lower() == section_type.lower() for part in merged_parts(config.group, s))]
    if section_type is not None and not found:
        # Its type may be where this file's reading cannot see it: another [name] appended would
        # be a second object of that name.
        untyped = [s for s in config.find(name) if not s.is_addition and s.type is None
                   and (s.templates or s.holds_include())]
        if untyped and untyped[0].templates:
            raise ChangeError(
                "[%s] inherits from %s, not found in %s, so its type is unknown; pass "
                "include_root (the file that includes this one)"
                % (name, ", ".join(untyped[0].templates), config.filename))
        if untyped and len(config.group) == 1:
            raise ChangeError(
                "[%s] in %s includes a file its options (and type) may come from, and that file "
                "was not read; pass include_root (the file that includes this one)"
                % (name, config.filename))
        if untyped:
            raise ChangeError(
                "[%s] in %s has no type, nor in the files it includes: another [%s] of type %s "
                "would be a second object of that name; give it its type= by hand"
                % (name, config.filename, name, section_type))
    if section_type is None:
        types = set((s.type or "").lower() for s in found)
        if len(types) > 1:
            raise ChangeError(
                "%d sections are named [%s] with different types (%s); set section_type"
                % (len(found), name, ", ".join(sorted(t or "none" for t in types))))
    return found


def drop_from_merged_parts(config, target, option):
    """Asterisk reads a ``(+)`` addition or a continuation of ``target`` after it, so an
    ``option`` line there would override the value just set: removed when it is in this file,
    refused (ChangeError) when it is in another one, which this change does not write."""
    for part in merged_parts(config.group, target):
        if not part.get_all(option):
            continue
        if part.config is not config:
            raise ChangeError(
                "[%s] in %s line %s sets %s again, and Asterisk reads it after %s line %s: "
                "change it there, or remove it" % (part.name, part.config.filename, part.lineno, option,
                                                   config.filename, target.lineno))
        part.remove(option)


def what_is_read(config):
    """Per section of config, in order: (name, template?, addition?, its filter, its options)."""
    return [(each.name, each.is_template, each.is_addition, each.addition_filter, each.options)
            for each in config.sections]


def _untouched(read, section, keys):
    """What a change of [section]'s ``keys`` (None: the whole section) must leave as it was:
    every other section whole, and the other options of [section]'s parts, in order."""
    others = [entry for entry in read if section is None or entry[0].lower() != section.lower()]
    own = [] if keys is None else [
        (key, value) for entry in read if section is not None and entry[0].lower() == section.lower()
        for key, value in entry[4] if key.lower() not in keys]
    return others, own


def checked_render(config, before, section, keys):
    """config's new text, read again before anything is written. An edit must leave a file that
    parses and in which everything it did not mean to change reads as before: a line joined to
    the next, a block comment opened or closed, would change what Asterisk reads elsewhere.
    ``before``: what_is_read() of the file as it was; ``keys``: changed_keys()."""
    text = config.render()
    first = config.sections[0] if config.sections else None
    try:
        again = parse(text, config.filename,
                      continues=first.continues if first is not None and first.header is None else None)
    except AsteriskConfigError as error:
        raise ChangeError("the change would leave %s unreadable (%s); nothing was changed"
                          % (config.filename, error))
    if _untouched(what_is_read(again), section, keys) != _untouched(before, section, keys):
        raise ChangeError("the change would alter lines of %s it was not meant to touch (a comment "
                          "block, or a line the edit would join to the next); nothing was changed: "
                          "edit it by hand" % config.filename)
    return text


def changed_keys(option, acl, created=False, whole_section=False):
    """The option keys a change may touch in its own section (None: the whole section, removed);
    a section it creates gets its type too."""
    if whole_section:
        return None
    keys = {"deny", "permit"} if acl is not None else {option.lower()} if option is not None else set()
    return keys | {"type"} if created else keys


def apply_change(text, filename, section=None, section_type=None, option=None, value=None,
                 values=None, state="present", create_section=True, acl=None,
                 values_mode="exact", include_root=None, pending=None):
    """Compute the new text. Returns (new_text, result dict). Raises AsteriskConfigError for
    a malformed file and ChangeError for an impossible request. ``include_root``: top-level
    file whose include set gives templates defined in other files; ``pending``: {realpath:
    text} of files earlier changes of the same call have edited, not yet written."""
    if include_root is not None:
        config = _load_group(filename, text, include_root, pending)[0]
    else:
        config = parse(text, filename)
    before = what_is_read(config)
    result = dict(sections=0, created=False,
                  warnings_parser=["%s:%s: %s" % (filename, n, m) for n, m in config.warnings])
    if section is None:
        if option is not None or acl is not None:
            raise ChangeError("option and acl need section")
        result["msg"] = "file parses"
        return text, result
    targets = select_sections(config, section, section_type)
    result["sections"] = len(targets)
    wanted = None
    if value is not None:
        wanted = [value]
    elif values is not None:
        wanted = [str(v) for v in values]

    if acl is not None and (option is not None or state != "present"):
        raise ChangeError("acl is used alone, with state=present")
    if state == "absent":
        if option is None:
            for target in targets:
                try:
                    config.remove_section(target)
                except ValueError as error:
                    raise ChangeError("%s: %s" % (filename, error))
            result["msg"] = "%d section(s) removed" % len(targets)
        else:
            for target in targets:
                if wanted is None:
                    target.remove(option)
                else:
                    kept = [v for v in target.get_all(option) if v not in wanted]
                    if kept != target.get_all(option):
                        target.set_all(option, kept)
            result["msg"] = "option %s removed from %d section(s)" % (option, len(targets))
        return checked_render(config, before, section, changed_keys(option, None, whole_section=option is None)), result

    if not targets:
        if not create_section:
            raise ChangeError("no section [%s]%s in %s and create_section is false" % (
                section, " of type %s" % section_type if section_type else "", filename))
        new = config.add_section(section)
        if section_type is not None:
            new.set("type", section_type)
        targets = [new]
        result["created"] = True
    if acl is not None:
        rules = [("deny", net) for net in acl.get("deny") or []] + \
            [("permit", net) for net in acl.get("permit") or []]
        for target in targets:
            target.set_sequence(["deny", "permit"], rules)
        result["msg"] = "deny/permit rules set in %d section(s)" % len(targets)
    elif option is not None:
        if wanted is None:
            raise ChangeError("state=present with option needs value or values")
        for target in targets:
            if values_mode == "append":
                present = target.get_all(option)
                for item in wanted:
                    if item not in present:
                        target.add(option, item)
                        present.append(item)
            else:
                target.set_all(option, wanted)
                drop_from_merged_parts(config, target, option)
        result["msg"] = "option %s set in %d section(s)" % (option, len(targets))
    else:
        result["msg"] = "section [%s] present" % section
    return checked_render(config, before, section, changed_keys(option, acl, result["created"])), result


def _load_group(filename, text, include_root, pending=None):
    """The include set of include_root with filename's copy replaced by text's parse, and
    every file in ``pending`` ({realpath: text}) read as it will be written."""
    texts = dict(pending or {})
    texts[os.path.realpath(filename)] = text

    def files(pattern):
        # An addition's file may not exist yet: Asterisk will read it once it does.
        found = local_files(pattern)
        for path in texts:
            if not os.path.exists(path) and fnmatch.fnmatch(path, pattern) and path not in found:
                found = sorted(found + [path])
        return found

    def read(path):
        real = os.path.realpath(path)
        return texts[real] if real in texts else read_text(path)[0]

    group = load(include_root, read=read, files=files)
    paths = [os.path.realpath(c.filename) for c in group]
    if os.path.realpath(filename) not in paths:
        raise ChangeError("%s is not %s nor a file it includes, so Asterisk would not read it"
                          % (filename, include_root))
    # The set read text for the file being edited, where Asterisk reads it (an included file
    # may begin with options that continue the includer's last section).
    return group[paths.index(os.path.realpath(filename))], group, paths


def apply_addition(text, filename, generated, include_root, section, section_type=None,
                   option=None, value=None, values=None, state="present", acl=None,
                   values_mode="exact", pending=None):
    """Make the change to section ``section`` of GUI-generated file ``generated`` as a
    ``[section](+type=...)`` addition in ``filename`` (text: its current content, "" when it
    does not exist yet). Returns (new_text, result dict) like apply_change. plan_change refuses a
    change without a section before it gets here: the addition file is named after it."""
    config, group, paths = _load_group(filename, text, include_root, pending)
    before = what_is_read(config)
    try:
        base_config = group[paths.index(os.path.realpath(generated))]
    except ValueError:
        raise ChangeError("%s is not %s nor a file it includes" % (generated, include_root))
    bases = [s for s in base_config.find(section, type=section_type) if not s.is_addition]
    result = dict(sections=len(bases), created=False, amended=generated,
                  warnings_parser=["%s:%s: %s" % (filename, n, m) for n, m in config.warnings])
    if not bases:
        raise ChangeError(
            "no section [%s]%s in %s, which the PBX's GUI generates: create it in the GUI"
            % (section, " of type %s" % section_type if section_type else "", generated))
    if group.index(config) < group.index(base_config):
        raise ChangeError("%s is read before %s, so an addition there would find no [%s]"
                          % (filename, generated, section))
    base = bases[0]
    flt = "type=%s" % section_type if section_type else None
    additions = [s for s in config.sections if s.is_addition
                 and s.name.lower() == section.lower() and s.addition_filter == flt]
    if acl is not None and (option is not None or state != "present"):
        raise ChangeError("acl is used alone, with state=present")
    wanted = [value] if value is not None else (
        [str(v) for v in values] if values is not None else None)

    if state == "absent":
        if option is None:
            raise ChangeError(
                "[%s] is defined in %s, which the PBX's GUI generates: remove it in the GUI"
                % (section, generated))
        for addition in additions:
            kept = [] if wanted is None else [v for v in addition.get_all(option) if v not in wanted]
            addition.set_all(option, kept)
        _drop_empty(config, additions)
        left = resolve_section(group, base).get(option.lower()) or []
        if wanted is not None and any(v in left for v in wanted):
            raise ChangeError("%s of [%s] is set in %s, which the PBX's GUI generates: change it "
                              "in the GUI" % (option, section, generated))
        result["msg"] = "option %s removed from the addition to [%s]" % (option, section)
        return checked_render(config, before, section, changed_keys(option, acl, result["created"])), result

    effective = resolve_section(group, base)
    if acl is not None:
        rules = [("deny", net) for net in acl.get("deny") or []] + \
            [("permit", net) for net in acl.get("permit") or []]
        current = acl_rules(group, base)
        # Rules are applied in order and the last match wins: ours, last, decide.
        if current[-len(rules):] != rules or not rules:
            target = additions[0] if additions else _new_addition(config, section, flt, result)
            target.set_sequence(["deny", "permit"], rules)
        result["msg"] = "deny/permit rules added to [%s] in %s" % (section, filename)
    elif option is not None:
        if wanted is None:
            raise ChangeError("state=present with option needs value or values")
        have = effective.get(option.lower()) or []
        if values_mode == "append":
            missing = [item for item in wanted if item not in have]
            if missing:
                target = additions[0] if additions else _new_addition(config, section, flt, result)
                for item in missing:
                    target.add(option, item)
        elif have[-len(wanted):] != wanted:
            target = additions[0] if additions else _new_addition(config, section, flt, result)
            target.set_all(option, wanted)
        result["msg"] = "option %s set in an addition to [%s] in %s" % (option, section, filename)
    else:
        result["msg"] = "section [%s] present in %s" % (section, generated)
    return checked_render(config, before, section, changed_keys(option, acl, result["created"])), result


def _new_addition(config, section, flt, result):
    result["created"] = True
    return config.add_section(section, addition=flt or "")


def _drop_empty(config, additions):
    for addition in additions:
        if not addition.options and not addition.holds_include():
            config.remove_section(addition)


CHANGE_KEYS = ("section", "section_type", "option", "value", "values", "values_mode", "acl",
               "state", "create_section", "gui_read_first")


class Workspace(object):
    """The files a call edits, as its changes leave them; nothing is written until all are made."""

    def __init__(self):
        self.files = {}  # realpath -> dict(path, before, after, encoding, exists)
        self.order = []

    def entry(self, path):
        real = os.path.realpath(path)
        if real not in self.files:
            exists = os.path.exists(path)
            before, encoding = read_text(path) if exists else ("", "utf-8")
            self.files[real] = dict(path=path, before=before, after=before, encoding=encoding,
                                    exists=exists, model=None)
            self.order.append(real)
        return self.files[real]

    def read_or_none(self, path):
        real = os.path.realpath(path)
        if real in self.files:
            return self.files[real]["after"]
        return read_or_none(path)

    def pending(self):
        return dict((real, entry["after"]) for real, entry in self.files.items())


def plan_change(workspace, path, change, include_root=None, gui_files="amend"):
    """Make one change in the workspace. Returns its result dict; raises ChangeError (also when
    a generated file may not be amended) or AsteriskConfigError."""
    if not os.path.isfile(path):
        raise ChangeError("%s does not exist or is not a regular file" % path)
    change = dict(change)
    create_section = change.pop("create_section", True)
    read_first = change.pop("gui_read_first", False) or False
    text = workspace.entry(path)["after"]
    if not gui_regenerates(path, text, workspace.read_or_none):
        after, result = apply_change(text, path, create_section=create_section,
                                     include_root=include_root, pending=workspace.pending(), **change)
        target = path
    else:
        amendment = amendment_file(path)
        if gui_files == "refuse" or amendment is None:
            # FreePBX's next "Apply Config" would rewrite the file and undo the change.
            raise ChangeError(
                "%s is generated by the PBX's GUI (\"Do NOT edit\" header, or FreePBX's own file)%s: "
                "a change there would not last; nothing was changed"
                % (path, "" if amendment else ", and the GUI leaves no file that amends it"))
        if change.get("section") is None:
            raise ChangeError("a change to a generated file needs section")
        amending = workspace.entry(amendment)
        amending["model"] = amending["model"] or path
        amendment_before = amending["after"]
        target = addition_file(amendment, change["section"])
        relative = os.path.relpath(target, os.path.dirname(include_root or path))
        amending["after"], moved, include_added = object_file_included(
            amendment_before, amendment, change["section"], relative, first=read_first)
        sources = [amending] if moved else []
        earlier = earlier_amendment_file(path)
        if earlier and os.path.isfile(earlier):
            # Where 0.2.0 wrote them, read before the operator's file: first in the object's file.
            earlier_entry = workspace.entry(earlier)
            earlier_entry["after"], moved_earlier = additions_taken_out(
                earlier_entry["after"], earlier, change["section"])
            if moved_earlier:
                moved = moved_earlier + ("\n" if moved else "") + moved
                sources.insert(0, earlier_entry)
        entry = workspace.entry(target)
        entry["model"] = entry["model"] or path
        if not entry["exists"]:
            # What moves here keeps its bytes: a Latin-1 file's additions stay Latin-1.
            encodings = set(source["encoding"] for source in sources) or set([amending["encoding"]])
            entry["encoding"] = encodings.pop() if len(encodings) == 1 else "utf-8"
        if moved:
            entry["after"] += ("\n" if entry["after"].strip() else "") + moved
        after, result = apply_addition(entry["after"], target, path, include_root or path,
                                       pending=workspace.pending(), **change)
        after = placeholders_for_additions(after, target)
        text = entry["after"]
        if after == text and not moved and include_added:
            amending["after"] = amendment_before  # nothing to add: no include either
    result.update(path=target, changed=after != text)
    workspace.entry(target)["after"] = after
    return result


def object_file_included(text, amendment, section, relative, first=False):
    """(new text, moved text, whether the include line is new) of amendment file ``amendment``
    reading the object file ``relative`` of [section]: a ``#tryinclude <relative>`` line (a file
    removed by hand is no error that would stop Asterisk reading the rest), unless it has one.
    Its additions to [section] (the operator's) are moved out (additions_taken_out()) with the
    include line where the first one was, so Asterisk reads the same lines in the same order;
    without any, the line goes last. With ``first``, the line goes before every other include and
    section of the file instead: a file Asterisk stops reading (an addition to an object deleted in
    the GUI) keeps the include level it took, and after enough of them every later include is
    skipped (config.c); read first, the trunk's loop never is."""
    config = parse(text, amendment)
    include = None if any(directive != "exec" and argument == relative
                          for directive, argument, _line in config.includes) \
        else "#tryinclude %s%s" % (relative, config.newline)
    after, moved = additions_taken_out(text, amendment, section, include, config=config)
    if not moved and include is not None:
        after = text + (config.newline if text and not text.endswith("\n") else "") + include
    if first:
        after = _include_read_first(after, amendment, relative, config=config if after == text else None)
    return after, moved, include is not None


def additions_taken_out(text, filename, section, include=None, config=None):
    """(text, moved): ``text`` of ``filename`` without its additions to [section], each from its
    header to its last option, and the line ``include`` (if any) where the first one was; moved:
    those additions, in the order Asterisk read them ("" when there is none). ``config``: the
    caller's parse of ``text``, when it has one."""
    config = config or parse(text, filename)
    additions = [s for s in config.sections
                 if s.is_addition and s.header is not None and s.name.lower() == section.lower()]
    if not additions:
        return text, ""
    lines, kept, moved, position = config.lines, [], [], 0
    for number, addition in enumerate(additions):
        first, last = addition.span()
        kept.extend(line.raw for line in lines[position:first])
        if number == 0 and include is not None:
            kept.append(include)
        part = "".join(line.raw for line in lines[first:last])
        moved.append(part if part.endswith("\n") else part + config.newline)
        position = last
    kept.extend(line.raw for line in lines[position:])
    return "".join(kept), config.newline.join(moved)


def _include_read_first(text, filename, relative, config=None):
    """``text`` with its include line of ``relative`` moved before every other include and section
    (options at the top, which continue the including file's section, stay first). ``config``:
    the caller's parse of ``text``, when it has one."""
    config = config or parse(text, filename)
    lines = config.lines
    ours = [index for index, line in enumerate(lines)
            if line.kind == "directive" and line.directive != "exec" and line.argument == relative][0]
    earlier = next(index for index, line in enumerate(lines) if line.kind in ("directive", "header"))
    if earlier < ours:
        line = lines.pop(ours)
        if not line.raw.endswith("\n"):
            line.raw += config.newline  # it was the file's last line
        lines.insert(earlier, line)
    return "".join(line.raw for line in lines)


def write_files(module, workspace, backup):
    """Write every changed file of the workspace (atomically), backing each up first."""
    written = []
    for real in workspace.order:
        entry = workspace.files[real]
        if entry["after"] == entry["before"]:
            continue
        report = dict(path=entry["path"], changed=True)
        if entry["exists"]:
            report.update(file_owner(entry["path"]))
        if not module.check_mode:
            if backup and entry["exists"] and entry["before"]:
                report["backup_file"] = module.backup_local(entry["path"])
            directory = os.path.dirname(entry["path"])
            if not entry["exists"] and not os.path.isdir(directory):
                # The additions' directory, readable as the generated file's (Asterisk reads it).
                model = os.stat(entry["model"] or os.path.dirname(directory))
                os.mkdir(directory, 0o750)
                os.chmod(directory, 0o750)
                os.chown(directory, model.st_uid, model.st_gid)
                report["created_directory"] = directory
            write_atomically(module, entry["path"], entry["after"], entry["encoding"])
            if not entry["exists"]:
                # A new addition file is owned and readable as the generated one (Asterisk reads it).
                model = os.stat(entry["model"] or entry["path"])
                os.chown(entry["path"], model.st_uid, model.st_gid)
                os.chmod(entry["path"], stat.S_IMODE(model.st_mode) & 0o660)
        written.append(report)
    return written


def file_owner(path):
    """owner, group and mode, as a single change's result has them (a rollback restores them)."""
    info = os.stat(path)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return dict(owner=owner, group=group, mode="0%03o" % stat.S_IMODE(info.st_mode))


def file_diff(entry):
    """The file before and after, secret values masked."""
    return dict(before=mask_secrets(entry["before"], entry["path"]),
                after=mask_secrets(entry["after"], entry["path"]),
                before_header=entry["path"], after_header=entry["path"])


def file_diffs(workspace):
    return [file_diff(entry) for entry in (workspace.files[real] for real in workspace.order)
            if entry["after"] != entry["before"]]


def main():
    change_options = dict(
        section=dict(type="str"),
        section_type=dict(type="str"),
        option=dict(type="str"),
        value=dict(type="str"),
        values=dict(type="list", elements="str"),
        values_mode=dict(type="str", choices=["exact", "append"], default="exact"),
        acl=dict(type="dict", options=dict(
            deny=dict(type="list", elements="str", default=[]),
            permit=dict(type="list", elements="str", default=[]))),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        create_section=dict(type="bool", default=True),
        gui_read_first=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            changes=dict(type="list", elements="dict", options=dict(
                change_options, path=dict(type="path"), include_root=dict(type="path"))),
            backup=dict(type="bool", default=False),
            include_root=dict(type="path"),
            gui_files=dict(type="str", choices=["amend", "refuse"], default="amend"),
            **change_options
        ),
        mutually_exclusive=[["value", "values"], ["acl", "option"], ["changes", "section"]],
        required_by=dict(option="section", section_type="section", acl="section"),
        required_one_of=[["path", "changes"]],
        supports_check_mode=True,
    )
    params = module.params
    single = params["changes"] is None
    if single:
        changes = [dict((key, params[key]) for key in CHANGE_KEYS)]
    else:
        changes = []
        for number, change in enumerate(params["changes"], 1):
            if change["value"] is not None and change["values"] is not None:
                module.fail_json(msg="change %d: value and values are mutually exclusive" % number)
            if change["acl"] is not None and change["option"] is not None:
                module.fail_json(msg="change %d: acl and option are mutually exclusive" % number)
            if not (change["path"] or params["path"]):
                module.fail_json(msg="change %d has no path, and the task none either" % number)
            changes.append(change)

    workspace = Workspace()
    results = []
    for change in changes:
        path = (None if single else change.get("path")) or params["path"]
        try:
            include_root = (None if single else change.get("include_root")) or params["include_root"]
            results.append(plan_change(workspace, path, dict((key, change[key]) for key in CHANGE_KEYS),
                                       include_root, params["gui_files"]))
        except AsteriskConfigError as exc:
            module.fail_json(msg=str(exc), path=path, filename=exc.filename, lineno=exc.lineno)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s" % (path, to_native(exc)), path=path)
        except ChangeError as exc:
            module.fail_json(msg=str(exc) if single else "%s (change to %s)" % (exc, path), path=path)

    changed = any(entry["after"] != entry["before"] for entry in workspace.files.values())
    diffs = file_diffs(workspace)
    files = write_files(module, workspace, params["backup"])
    if single:
        result = results[0]
        result["changed"] = changed
        if module._diff:  # pylint: disable=protected-access
            # An addition to a generated file's object can change two files: its own, and the
            # file that includes it.
            result["diff"] = diffs if len(diffs) > 1 else file_diff(workspace.entry(result["path"]))
        backups = [f["backup_file"] for f in files if f["path"] == result["path"] and "backup_file" in f]
        if backups:
            result["backup_file"] = backups[0]
        result["files"] = files
        module.exit_json(**result)
    result = dict(changed=changed, results=results, files=files,
                  msg="%d change(s), %d file(s) changed" % (len(results), len(files)))
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
