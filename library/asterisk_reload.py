#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: reload one Asterisk module and tell whether Asterisk accepted the files."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_reload
short_description: Reload Asterisk modules and tell whether they accepted their files
description:
  - Runs one reload, or several (I(reloads)), through the Asterisk CLI (C(asterisk -rx)), never a
    restart, so calls in progress survive.
  - Then judges the result the way an operator would - the errors Asterisk logged since the
    reload (I(error_regex) on the lines added to I(log_file)), and, with I(count_command), whether
    Asterisk loaded every object the files define (a section Asterisk refused is missing).
    Objects Asterisk has from elsewhere (realtime) are not judged here.
  - Returns C(problem), empty when Asterisk accepted the files. Rolling back is the caller's
    choice (the role restores its backups and reloads again).
  - One round trip instead of one task per step (log size, reload, wait, log, count, parse).
    With I(reloads), one round trip and one wait for the log for several modules; their errors
    are judged together, so a rollback covers them all.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  command:
    description:
      - The reload, as typed at the Asterisk CLI, e.g. C(module reload res_pjsip.so).
      - One of I(command) and I(reloads) is required.
    type: str
  reloads:
    description:
      - Several reloads, run in this order, then judged together (one wait for the log). Each
        takes the options I(command), I(config), I(count_command) and I(count_type) above.
    type: list
    elements: dict
    version_added: "0.3.0"
    suboptions:
      command:
        description: The reload, as typed at the Asterisk CLI.
        type: str
        required: true
      config:
        description: The top-level file whose objects are judged. Needed with I(count_command).
        type: path
      count_command:
        description: CLI command that lists the objects Asterisk loaded.
        type: str
      count_type:
        description: What to judge in I(config).
        type: str
        choices: [endpoint, manager_user]
  config:
    description: The top-level file whose objects are judged (with its includes), e.g.
      C(/etc/asterisk/pjsip.conf). Needed with I(count_command).
    type: path
  count_command:
    description:
      - CLI command that lists the objects Asterisk loaded - C(pjsip show endpoints) or
        C(manager show users).
      - Without it, only the log is read.
    type: str
  count_type:
    description:
      - What to judge in I(config) - PJSIP endpoints, or AMI users (every section but C(general)).
      - C(endpoint) also reads C(pjsip_wizard.conf) beside I(config) when there is one - every
        wizard there makes an endpoint (module_utils/asterisk_live.py, which the drift check
        uses too).
    type: str
    choices: [endpoint, manager_user]
  log_file:
    description: Asterisk's log that records errors (its C(logger.conf) channel with C(error)).
    type: path
    default: /var/log/asterisk/messages.log
  error_regex:
    description: A line added to I(log_file) since the reload that matches it is an error.
    type: str
    default: 'ERROR\[|parse error'
  settle:
    description:
      - Asterisk's logger writes from its own thread, after the CLI command returns. The module
        waits until the log has not grown for half a second, at most this many seconds.
    type: float
    default: 2.0
notes:
  - Check mode reloads nothing and reports no problem.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Reload PJSIP and check that every endpoint of the files is loaded
  asterisk_reload:
    command: module reload res_pjsip.so
    config: /etc/asterisk/pjsip.conf
    count_command: pjsip show endpoints
    count_type: endpoint
  register: pjsip_reload

- name: Stop when Asterisk refused the files
  ansible.builtin.assert:
    that: pjsip_reload.problem | length == 0
    fail_msg: "{{ pjsip_reload.problem }}"

- name: Reload PJSIP and AMI in one call, judged together
  asterisk_reload:
    reloads:
      - command: module reload res_pjsip.so
        config: /etc/asterisk/pjsip.conf
        count_command: pjsip show endpoints
        count_type: endpoint
      - command: manager reload
  register: both_reloads
"""

RETURN = r"""
problem:
  description: Why the reload is not accepted (logged errors, then what was not loaded), empty when it is.
  returned: always
  type: str
  sample: "pjsip.conf: defined in the files but not loaded: 1004"
errors:
  description: The lines Asterisk logged since the reload that match I(error_regex).
  returned: always
  type: list
  elements: str
loaded:
  description: How many objects Asterisk lists as loaded (with I(count_command); the first
    judged reload of I(reloads)).
  returned: with count_command
  type: int
expected:
  description: How many objects the files define (with I(count_command); the first judged reload
    of I(reloads)).
  returned: with count_command
  type: int
reloaded:
  description: The reload commands run, in order.
  returned: always
  type: list
  elements: str
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import AsteriskConfigError, iter_sections, load
from ansible.module_utils.asterisk_live import defined_endpoints, parse_endpoint_names, parse_manager_users


def loaded_objects(text, count_type):
    """Names Asterisk lists in ``pjsip show endpoints`` or ``manager show users``."""
    return parse_endpoint_names(text) if count_type == "endpoint" else parse_manager_users(text)


def defined_objects(config, count_type):
    """Names the files define: PJSIP endpoints (pjsip.conf with its includes, and the wizards of
    pjsip_wizard.conf beside it), or AMI users (every section of manager.conf but general)."""
    configs = load(config)
    if count_type == "endpoint":
        wizard = os.path.join(os.path.dirname(config), "pjsip_wizard.conf")
        return defined_endpoints(configs, load(wizard) if os.path.exists(wizard) else [])
    return sorted(s.name for s in iter_sections(configs) if s.name.lower() != "general")


def reload_problem(errors, missing=(), config=""):
    """Why the reload is not accepted, or "": the logged errors, then what was not loaded."""
    problem = " | ".join(errors)
    if missing:
        problem += " %s: defined in the files but not loaded: %s" % (config, ", ".join(missing))
    return problem.strip()


def new_log_lines(log_file, start, settle, clock=time.monotonic, sleep=time.sleep):
    """Lines added to log_file after byte ``start``, once it has not grown for 0.5 s (at most
    ``settle`` s). A log rotated meanwhile (smaller than start) is read from its beginning."""
    deadline = clock() + settle
    size, quiet_since = -1, clock()
    while clock() < deadline:
        now_size = os.path.getsize(log_file) if os.path.exists(log_file) else 0
        if now_size != size:
            size, quiet_since = now_size, clock()
        elif clock() - quiet_since >= 0.5:
            break
        sleep(0.1)
    if not os.path.exists(log_file):
        return []
    with open(log_file, "rb") as handle:
        if os.path.getsize(log_file) >= start:
            handle.seek(start)
        return handle.read().decode("utf-8", "replace").splitlines()


def run_reloads(module, asterisk, reloads, log_file, error, settle):
    """Run every reload, wait once for the log, then judge them all: (result, problem)."""
    start = os.path.getsize(log_file) if os.path.exists(log_file) else 0
    for reload in reloads:
        rc, out, err = module.run_command([asterisk, "-rx", reload["command"]])
        if rc != 0:
            module.fail_json(msg="asterisk -rx '%s' failed (rc %d): %s" % (reload["command"], rc, (err or out).strip()))
    errors = [line for line in new_log_lines(log_file, start, settle) if error.search(line)]
    result = dict(changed=True, errors=errors, reloaded=[reload["command"] for reload in reloads])
    counts = []
    for reload in reloads:
        if not reload.get("count_command"):
            continue
        rc, out, err = module.run_command([asterisk, "-rx", reload["count_command"]])
        loaded = set(loaded_objects(out, reload["count_type"])) if rc == 0 else set()
        try:
            defined = defined_objects(reload["config"], reload["count_type"])
        except (AsteriskConfigError, IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s" % (reload["config"], exc), **result)
        if not counts:
            result.update(loaded=len(loaded), expected=len(defined))
        missing = [name for name in defined if name not in loaded]
        counts.append(reload_problem([], missing, os.path.basename(reload["config"])))
    problem = " ".join([reload_problem(errors)] + [c for c in counts if c]).strip()
    return result, problem


def main():
    reload_options = dict(
        command=dict(type="str"),
        config=dict(type="path"),
        count_command=dict(type="str"),
        count_type=dict(type="str", choices=["endpoint", "manager_user"]),
    )
    module = AnsibleModule(
        argument_spec=dict(
            reloads=dict(type="list", elements="dict", options=dict(
                reload_options, command=dict(type="str", required=True)),
                required_by=dict(count_command=("config", "count_type"))),
            log_file=dict(type="path", default="/var/log/asterisk/messages.log"),
            error_regex=dict(type="str", default=r"ERROR\[|parse error"),
            settle=dict(type="float", default=2.0),
            **reload_options
        ),
        required_by=dict(count_command=("config", "count_type")),
        required_one_of=[("command", "reloads")],
        mutually_exclusive=[("command", "reloads")],
        supports_check_mode=True,
    )
    params = module.params
    if module.check_mode:
        module.exit_json(changed=False, problem="", errors=[], reloaded=[], msg="check mode: nothing reloaded")
    try:
        error = re.compile(params["error_regex"])
    except re.error as exc:
        module.fail_json(msg="error_regex is not a regular expression: %s" % exc)
    reloads = params["reloads"] or [dict((key, params[key]) for key in reload_options)]
    asterisk = module.get_bin_path("asterisk", required=True)
    result, problem = run_reloads(module, asterisk, reloads, params["log_file"], error, params["settle"])
    module.exit_json(msg=problem or "Asterisk accepted the files", problem=problem, **result)


if __name__ == "__main__":
    main()
