"""Benchmark callback: every task's wall time on each host, as JSON lines in $VOIPGUARD_TASK_TIMES
(benchmarks/run_profile.py reads them). Not for production runs: only the benchmark enables it."""
import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: voipguard_task_times
type: aggregate
short_description: every task's wall time per host, for benchmarks/run_profile.py
description: Writes one JSON line per task and host to the file named by VOIPGUARD_TASK_TIMES.
requirements: [enabled in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "voipguard_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._started = {}
        self._rows = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.monotonic()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _ended(self, result, status):
        task = result._task
        self._rows.append({
            "host": result._host.get_name(), "action": task.action, "name": task.get_name(), "status": status,
            "delegated": bool(task.delegate_to),
            "seconds": round(time.monotonic() - self._started.get(task._uuid, time.monotonic()), 3)})

    def v2_runner_on_ok(self, result):
        self._ended(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._ended(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._ended(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._ended(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("VOIPGUARD_TASK_TIMES")
        if path:
            with open(path, "w") as out:
                out.writelines(json.dumps(row) + "\n" for row in self._rows)
