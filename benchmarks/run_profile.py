#!/usr/bin/env python3
"""Where one run of playbooks/harden.yml spends its time, for BENCHMARKS.md. Needs the lab.

  .venv/bin/python benchmarks/run_profile.py [--tags TAGS] [-e JSON] [--top 15] [--inventory PATH]

Runs the playbook once, with the benchmark callback voipguard_task_times timing every task, and
prints: the run's wall time and the controller's CPU time (ansible-playbook, its workers and the
ssh clients); the tasks that ran a module on the host against those Ansible judged on the
controller alone (set_fact, assert, debug, includes, voipguard_validate, tasks delegated to the
controller) and those skipped; the seconds by module; the slowest tasks. What a run on this
machine costs is mostly the count of its module calls (BENCHMARKS.md), which this shows.
"""
import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from controller_actions import runs_on_the_controller

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def where(row):
    if row["status"] == "skipped":
        return "skipped"
    if runs_on_the_controller(row["action"]) or row["delegated"]:
        return "on the controller"
    return "a module on the host"


def profile(rows, wall, cpu, top):
    lines = ["wall %.1f s, controller CPU %.1f s (user and system, every process of the run)" % (wall, cpu)]
    kinds = collections.defaultdict(list)
    for row in rows:
        kinds[where(row)].append(row["seconds"])
    for kind in ("a module on the host", "on the controller", "skipped"):
        times = kinds.get(kind, [])
        lines.append("  %-22s %4d tasks %7.1f s" % (kind, len(times), sum(times)))
    by_action, counts = collections.Counter(), collections.Counter()
    for row in rows:
        if where(row) == "a module on the host":
            by_action[row["action"]] += row["seconds"]
            counts[row["action"]] += 1
    lines.append("modules on the host, by seconds:")
    lines += ["  %6.2f s %3d  %s" % (seconds, counts[action], action) for action, seconds in by_action.most_common(top)]
    lines.append("the %d slowest tasks:" % top)
    lines += ["  %6.2f s  %s" % (row["seconds"], row["name"]) for row in
              sorted(rows, key=lambda r: r["seconds"], reverse=True)[:top]]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags")
    parser.add_argument("-e", dest="extra_vars", help="extra variables, as JSON")
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "lab", "hosts.yml"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="voipguard-run-profile-") as scratch:
        times = os.path.join(scratch, "times.jsonl")
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), VOIPGUARD_TASK_TIMES=times,
                   PATH=BIN + os.pathsep + os.environ["PATH"],
                   ANSIBLE_CALLBACK_PLUGINS=os.pathsep.join([os.path.join(ROOT, "benchmarks", "callback_plugins"),
                                                             os.path.join(ROOT, "callback_plugins")]),
                   ANSIBLE_CALLBACKS_ENABLED="voipguard_changes,voipguard_summary,voipguard_task_times")
        command = [os.path.join(BIN, "ansible-playbook"), "-i", args.inventory, "playbooks/harden.yml"]
        command += ["--tags", args.tags] if args.tags else []
        command += ["-e", args.extra_vars] if args.extra_vars else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print("%s: exit %d, %s" % (" ".join(command[2:]), proc.returncode, proc.stdout.strip().splitlines()[-1]))
        with open(times) as lines:
            rows = [json.loads(line) for line in lines]
    print(profile(rows, wall, cpu, args.top))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
