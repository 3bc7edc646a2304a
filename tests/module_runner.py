"""Modules run in-process, the way community.general's unit tests do: ansible-core's
patch_module_args hands the arguments to AnsibleModule, and the JSON that exit_json or
fail_json prints (no_log values already censored by Ansible itself) is the result. One style for
every module test: no ansible CLI, no parsing of -vvv output."""
import contextlib
import io
import json

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
