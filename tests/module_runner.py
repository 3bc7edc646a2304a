"""Modules run in-process, the way community.general's unit tests do: ansible-core's
patch_module_args hands the arguments to AnsibleModule, and the JSON that exit_json or
fail_json prints (no_log values already censored by Ansible itself) is the result. One style for
every module test: no ansible CLI, no parsing of -vvv output."""
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import yaml

from ansible.module_utils.testing import patch_module_args


def run_module(module, args, check_mode=False, diff=False):
    """module.main() with args; returns its result ('failed': True when it called fail_json)."""
    printed = io.StringIO()
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)), \
            contextlib.redirect_stdout(printed):
        try:
            module.main()
        except SystemExit:
            pass
    if not printed.getvalue():
        raise AssertionError("%s.main() ended without exit_json or fail_json" % module.__name__)
    return json.loads(printed.getvalue())


def run_action_plugin_play(tmp_path, tasks, verbose=False):
    """ansible-playbook with tasks on host pbx, whose Python does not exist: only what runs on the
    controller (action plugins) can work. Returns the CompletedProcess (stdout, stderr, returncode)."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{"hosts": "pbx", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "pbx,", str(tmp_path / "play.yml"),
         "-e", "ansible_connection=local ansible_python_interpreter=/nonexistent/python"] + (["-v"] if verbose else []),
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "%s:/usr/bin:/bin" % Path(sys.executable).parent, "HOME": str(tmp_path),
             "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"})
