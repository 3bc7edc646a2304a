#!/usr/bin/env python3
"""What a run's controller pays to build module payloads, module by module.

Before a module first runs in a playbook run, an Ansible worker builds its AnsiballZ payload: it
parses the module and every module_utils file the module imports, recursively
(module_common.recursive_finder), and zips them. The payload is cached in a directory that belongs
to that one run (local_tmp's ansible-local-<pid>), so every run builds each module it uses again.

This prints the CPU time of that build for each module the roles and playbooks name (voipguard's
own, from library/, and the ansible.builtin ones that run on the host), built the way a worker
builds it, one after another in this process. No host is needed.

    .venv/bin/python benchmarks/payload_build.py
"""
import datetime
import io
import os
import sys
import time
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))

from ansible._internal._ansiballz import _builder  # noqa: E402  (after ANSIBLE_CONFIG is set)
from ansible.executor import module_common  # noqa: E402
from ansible.plugins.loader import init_plugin_loader  # noqa: E402
from controller_actions import runs_on_the_controller  # noqa: E402

BUILTIN_MODULES = Path(module_common.__file__).resolve().parents[1] / "modules"
# Actions that build the payload of another module (wait_for_connection sends ping).
RUNS_AS = {"shell": "command", "template": "copy", "wait_for_connection": "ping"}


def task_lists():
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")) + sorted(ROOT.glob("roles/*/handlers/*.yml")) \
            + sorted(ROOT.glob("playbooks/**/*.yml")):
        yield from walk(yaml.safe_load(path.read_text()) or [])


def walk(tasks):
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from walk(task.get(key))
        if "hosts" not in task:  # a play's keywords (gather_facts: ...) name no module
            yield task


def modules_named():
    """Each module a task names that builds a payload for the host: its file."""
    found = {}
    for task in task_lists():
        for key in task:
            name = RUNS_AS.get(key.rsplit(".", 1)[-1], key.rsplit(".", 1)[-1])
            if runs_on_the_controller(key) or not (key.startswith("ansible.builtin.") or "." not in key):
                continue
            action = ROOT / "action_plugins" / (name + ".py")
            if action.is_file() and "_execute_module" not in action.read_text():
                continue  # judged on the controller by its action plugin alone
            for path in (ROOT / "library" / (name + ".py"), BUILTIN_MODULES / (name + ".py")):
                if path.is_file():
                    found[name] = path
                    break
    return found


def build_seconds(name, path):
    """CPU seconds of one payload build, and the number of files in it."""
    payload = zipfile.ZipFile(io.BytesIO(), "w")
    started = time.process_time()
    module_common.recursive_finder(name, "ansible.legacy." + name, path.read_bytes(), payload,
                                   datetime.datetime.now(datetime.timezone.utc),
                                   _builder.ExtensionManager.create(task_vars={}))
    return time.process_time() - started, len(payload.namelist())


def main():
    init_plugin_loader()
    modules = modules_named()
    build_seconds(*next(iter(modules.items())))  # the first build pays this process's imports: not counted
    rows = sorted(((*build_seconds(name, path), name) for name, path in modules.items()), reverse=True)
    for seconds, files, name in rows:
        print("%6.0f ms  %3d files  %s" % (seconds * 1000, files, name))
    total = sum(seconds for seconds, _files, _name in rows)
    print("%d modules: %.1f s of CPU to build every payload once (median %.0f ms)"
          % (len(rows), total, sorted(s for s, _f, _n in rows)[len(rows) // 2] * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
