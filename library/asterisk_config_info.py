#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: read an Asterisk configuration file and its includes (never changes anything)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_config_info
short_description: Read an Asterisk configuration file, its includes and effective options
description:
  - Parses an Asterisk configuration file and, by default, every file it includes, the way
    Asterisk reads them (templates, inheritance, C((+)) additions, repeated keys, C(#include)
    globs), and returns its sections with their own and effective options.
  - Fails, naming file, line and reason, when a file is malformed, so it doubles as a
    pre-flight check that changes nothing.
  - Values of secret options (C(password), C(secret), C(md5_cred), C(password_digest)) are
    returned as C(********).
version_added: "0.1.0"
author:
  - voipguard contributors
options:
  path:
    description: Top-level configuration file, e.g. C(/etc/asterisk/pjsip.conf).
    type: path
  paths:
    description:
      - Several top-level files read in one call (each with its includes); files that do not
        exist are listed in C(missing). The result has one entry per file read in C(configs),
        keyed by the file's base name.
      - Exactly one of I(path) and I(paths) is required.
    type: list
    elements: path
    version_added: "0.3.0"
  follow_includes:
    description: Also read the files it C(#include)s, in Asterisk's order.
    type: bool
    default: true
  config_dir:
    description: Directory relative include paths resolve against (Asterisk's astetcdir).
    type: path
    default: the directory of I(path)
  as_asterisk_reads:
    description:
      - Read past an addition to an object no file defines (C([202](+type=endpoint)) once the GUI
        deleted 202) as Asterisk does - it stops reading that included file there and goes on with
        the file that included it - instead of failing; each such place is returned in
        C(orphans). For a reading that must not fail before the run has had the chance to repair
        them (asterisk_hardening comments out the toolkit's own). Includes are always followed.
    type: bool
    default: false
    version_added: "0.3.0"
notes:
  - Supports check mode; never changes anything.
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
- name: Read pjsip.conf and what it includes
  asterisk_config_info:
    path: /etc/asterisk/pjsip.conf
  register: pjsip

- name: Read every file the role needs in one call (a malformed one fails it)
  asterisk_config_info:
    paths: [/etc/asterisk/asterisk.conf, /etc/asterisk/pjsip.conf, /etc/asterisk/manager.conf]
  register: asterisk_files

- name: Concrete endpoints
  ansible.builtin.debug:
    msg: "{{ pjsip.sections | selectattr('type', 'equalto', 'endpoint')
             | rejectattr('is_template') | map(attribute='name') | list }}"
"""

RETURN = r"""
files:
  description: Files read, in Asterisk's reading order (the top-level file first).
  returned: always
  type: list
  elements: str
  sample: [/etc/asterisk/manager.conf, /etc/asterisk/manager.d/ops.conf]
sections:
  description:
    - Every section as written (C((+)) additions and templates included), in reading order.
    - C(options) are the section's own lines in order; C(effective) the options after template
      inheritance and additions, keys in lower case. Secret values are C(********).
    - C(true_options) lists the effective options whose last value Asterisk reads as true
      (its own ast_true words yes, true, y, t, 1 and on), so that playbooks judge booleans as
      Asterisk does, with no list of words of their own.
  returned: always
  type: list
  elements: dict
  sample:
    - file: /etc/asterisk/pjsip.conf
      name: "1001"
      lineno: 20
      type: endpoint
      is_template: false
      is_addition: false
      templates: [phone-tpl]
      options: [{key: auth, value: "1001"}, {key: aors, value: "1001"}]
      effective: {type: [endpoint], context: [from-internal], auth: ["1001"], aors: ["1001"]}
      true_options: []
includes:
  description: Include directives, with the file and line they are on.
  returned: always
  type: list
  elements: dict
  sample: [{file: /etc/asterisk/manager.conf, lineno: 12, directive: include, pattern: manager.d/*.conf}]
execs:
  description: The C(#exec) lines of the files read, as file, line and program. The program is never
    run here; with C(execincludes) on in asterisk.conf, Asterisk runs it and reads what it prints,
    which no file holds.
  returned: always
  type: list
  elements: str
  sample: ["/etc/asterisk/pjsip.conf:107: #exec /usr/local/bin/provision-phones"]
  version_added: "0.3.0"
warnings_parser:
  description: Lines Asterisk ignores with a warning, each as file, line and message.
  returned: with I(path)
  type: list
  elements: str
configs:
  description: With I(paths), for each file read (by base name) what I(path) returns for it
    (C(files), C(sections), C(includes), C(execs), C(warnings_parser)).
  returned: with I(paths)
  type: dict
  sample: {pjsip.conf: {files: [/etc/asterisk/pjsip.conf], sections: [], includes: [], warnings_parser: []}}
orphans:
  description: With I(as_asterisk_reads), where Asterisk stops reading a file (file, line, object).
  returned: with I(as_asterisk_reads) (with I(paths), in each entry of C(configs))
  type: list
  elements: dict
  sample: [{file: /etc/asterisk/pjsip.endpoint_custom_post.d/202.conf, lineno: 1, category: "202"}]
missing:
  description: With I(paths), the files that do not exist.
  returned: with I(paths)
  type: list
  elements: str
  sample: [/etc/asterisk/http.conf]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import (
    AsteriskConfigError, ast_true, load, load_as_asterisk_reads, mask_inline_secret, mask_value, resolve_section)


def describe(configs):
    """The module's result for a list of loaded ConfigFiles (pure, for tests)."""
    sections = []
    includes = []
    warnings = []
    for config in configs:
        for directive, pattern, lineno in config.includes:
            includes.append(dict(file=config.filename, lineno=lineno, directive=directive,
                                 pattern=mask_inline_secret(pattern)))
        warnings.extend("%s:%s: %s" % (config.filename, n, m) for n, m in config.warnings)
        for section in config.sections:
            if section.header is None:
                continue  # options continuing a section of the including file
            effective = resolve_section(configs, section)
            sections.append(dict(
                file=config.filename,
                name=section.name,
                lineno=section.lineno,
                type=section.type,
                is_template=section.is_template,
                is_addition=section.is_addition,
                templates=list(section.templates),
                options=[dict(key=k.lower(), value=mask_value(k, v)) for k, v in section.options],
                effective=dict((k, [mask_value(k, v) for v in vs]) for k, vs in effective.items()),
                true_options=sorted(k for k, vs in effective.items() if vs and ast_true(vs[-1])),
            ))
    # What a program prints when Asterisk loads the file (#exec, with execincludes on in
    # asterisk.conf) is in no file: never run here, named for the caller to judge.
    execs = ["%s:%s: #exec %s" % (i["file"], i["lineno"], i["pattern"]) for i in includes if i["directive"] == "exec"]
    return dict(files=[c.filename for c in configs], sections=sections, includes=includes,
                warnings_parser=warnings, execs=execs)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            paths=dict(type="list", elements="path"),
            follow_includes=dict(type="bool", default=True),
            config_dir=dict(type="path"),
            as_asterisk_reads=dict(type="bool", default=False),
        ),
        required_one_of=[["path", "paths"]],
        mutually_exclusive=[["path", "paths"]],
        supports_check_mode=True,
    )
    params = module.params
    read = {}
    for path in params["paths"] or [params["path"]]:
        if params["paths"] and not os.path.exists(path):
            continue
        orphans = None
        try:
            if params["as_asterisk_reads"]:
                configs, found = load_as_asterisk_reads(path, config_dir=params["config_dir"])
                orphans = [dict(file=name, lineno=line, category=category) for name, line, category in found]
            else:
                configs = load(path, follow_includes=params["follow_includes"], config_dir=params["config_dir"])
        except AsteriskConfigError as exc:
            module.fail_json(msg=str(exc), filename=exc.filename, lineno=exc.lineno)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s" % (path, exc))
        read[path] = describe(configs)
        if orphans is not None:
            read[path]["orphans"] = orphans
    if params["path"]:
        module.exit_json(changed=False, **read[params["path"]])
    module.exit_json(changed=False, configs=dict((os.path.basename(p), r) for p, r in read.items()),
                     missing=[p for p in params["paths"] if p not in read])


if __name__ == "__main__":
    main()
