#!/usr/bin/env python3
"""A fleet of PBXs hardened and audited in one run, for BENCHMARKS.md. Needs a lab started with
``./voipguard lab up --pbx N`` (its inventory: .lab/fleet/inventory/hosts.yml), in factory state.

  .venv/bin/python benchmarks/fleet.py [--inventory .lab/fleet/inventory/hosts.yml]

In order, with Ansible's profile_tasks callback on (--one-host: the first two only):
  one host    playbooks/harden.yml --limit pbx-02 on its factory state, then again (nothing to change,
              so the run ends early), then again with every role (voipguard_full_run=true)
  the fleet   every PBX of the inventory at once (pbx-02 already hardened), then again
              (--full-reruns: and again with every role)
  the audit   python -m audit run over every PBX (Testinfra, hosts in parallel)
--audit-only RUNS: only the audit, of a fleet hardened already.
--mitogen: the playbook runs as ./voipguard harden --mitogen runs it (Mitogen's mitogen_free).
Printed: wall time of each run, changed/failed per host, the ten slowest tasks of the fleet run,
and each PBX container's memory (podman stats) in factory state and after the fleet run.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# profile_tasks lives in the ansible.posix collection, which the toolkit itself does not need:
# the benchmark takes it from the "ansible" package's wheel (Galaxy is not reachable here).
COLLECTIONS = os.path.join(ROOT, ".lab", "collections")
ANSIBLE_WHEEL = "ansible==11.13.0"
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
           ANSIBLE_CALLBACKS_ENABLED="voipguard_changes,voipguard_summary,ansible.posix.profile_tasks",
           PROFILE_TASKS_TASK_OUTPUT_LIMIT="10", PATH=BIN + os.pathsep + os.environ["PATH"])


def ensure_profile_tasks():
    import zipfile

    target = os.path.join(COLLECTIONS, "ansible_collections", "ansible", "posix")
    if os.path.isdir(target):
        return
    with tempfile.TemporaryDirectory(prefix="voipguard-wheel-") as wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, ANSIBLE_WHEEL],
                       check=True)
        wheel = [name for name in os.listdir(wheels) if name.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(wheels, wheel)) as archive:
            members = [m for m in archive.namelist() if m.startswith("ansible_collections/ansible/posix/")]
            archive.extractall(COLLECTIONS, members)


def pbx_hosts(inventory):
    with open(inventory, encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["all"]["children"]["pbx"]["hosts"])


def harden(inventory, limit=None, full=False, mitogen=False):
    # As the operator runs it: ./voipguard harden [--mitogen].
    command = [os.path.join(ROOT, "voipguard"), "harden"] + (["--mitogen"] if mitogen else []) + ["-i", inventory]
    if limit:
        command += ["--limit", limit]
    if full:  # every role, even when nothing changed since the last verified run
        command += ["-e", "voipguard_full_run=true"]
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    recap = dict((m.group(1), (int(m.group(2)), int(m.group(3)) + int(m.group(4))))
                 for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                                      proc.stdout, re.M))
    slowest = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", proc.stdout, re.M)
    return wall, recap, slowest, proc


def memory():
    """{container: MiB} of the lab's PBX containers."""
    out = subprocess.run(["podman", "stats", "--no-stream", "--format", "json"], capture_output=True,
                         text=True, check=True, env=dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "lab", "containers.conf"))).stdout
    sizes = {}
    for row in json.loads(out or "[]"):
        name = row.get("name") or row.get("Name")
        if not re.match(r"voipguard-pbx(-\d+)?$", name or ""):
            continue
        used = (row.get("mem_usage") or row.get("MemUsage") or "").split("/")[0].strip()
        number, unit = re.match(r"([\d.]+)\s*([kKMG]i?B|B)", used).groups()
        factor = {"B": 1 / 1048576, "kB": 1 / 1024, "KiB": 1 / 1024, "MB": 1, "MiB": 1, "GB": 1024, "GiB": 1024}[unit]
        sizes[name] = float(number) * factor
    return sizes


def describe_memory(label, sizes):
    values = sorted(sizes.values())
    print("%s: %d PBX containers, memory median %.0f MiB, max %.0f MiB, total %.0f MiB" % (
        label, len(values), statistics.median(values), values[-1], sum(values)))


def line(label, wall, recap, hosts):
    changed = [recap[h][0] for h in hosts if h in recap]
    failed = [h for h in hosts if recap.get(h, (0, 1))[1]]
    print("%s: %.1f s for %d host(s); changed per host min %s max %s; failed or unreachable: %s" % (
        label, wall, len(hosts), min(changed, default=None), max(changed, default=None), ", ".join(failed) or "none"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", default=os.path.join(ROOT, ".lab", "fleet", "inventory", "hosts.yml"))
    parser.add_argument("--one-host", action="store_true",
                        help="only the two runs on one host (a lab of 2 PBXs is enough)")
    parser.add_argument("--audit-only", type=int, metavar="RUNS", default=0,
                        help="only the audit, RUNS times, of a fleet hardened already")
    parser.add_argument("--workers", type=int, default=None, help="the audit's --workers (default: its own)")
    parser.add_argument("--mitogen", action="store_true",
                        help="run the playbook with Mitogen's mitogen_free strategy (./voipguard harden --mitogen)")
    parser.add_argument("--full-reruns", action="store_true",
                        help="also run every role again on the whole fleet (voipguard_full_run=true)")
    args = parser.parse_args()
    hosts = pbx_hosts(args.inventory)
    if args.audit_only:
        walls = [audit(args.inventory, args.workers) for _ in range(args.audit_only)]
        print("audit of the fleet, %d runs: median %.1f s (min %.1f, max %.1f)"
              % (len(walls), statistics.median(walls), min(walls), max(walls)))
        return
    ensure_profile_tasks()
    one = hosts[1] if len(hosts) > 1 else hosts[0]
    describe_memory("factory state", memory())

    for label, full in (("one host hardened (%s, factory)" % one, False),
                        ("one host again (nothing to change)", False),
                        ("one host again, every role (voipguard_full_run=true)", True)):
        wall, recap, slowest, _ = harden(args.inventory, one, full, args.mitogen)
        line(label, wall, recap, [one])
        for task, seconds in slowest[:10]:
            print("  %6.1f s  %s" % (float(seconds), task.strip()))
    if args.one_host:
        return

    wall, recap, slowest, proc = harden(args.inventory, mitogen=args.mitogen)
    line("the fleet hardened (%d PBXs, %s already done)" % (len(hosts), one), wall, recap, hosts)
    if any(recap.get(h, (0, 1))[1] for h in hosts):
        print(proc.stdout[-4000:])
    print("slowest tasks of the fleet run (profile_tasks, summed over hosts' parallel runs):")
    for task, seconds in slowest[:10]:
        print("  %6.1f s  %s" % (float(seconds), task.strip()))
    describe_memory("after hardening", memory())
    wall, recap, _, _ = harden(args.inventory, mitogen=args.mitogen)
    line("the fleet again (nothing to change)", wall, recap, hosts)
    if args.full_reruns:
        wall, recap, _, _ = harden(args.inventory, full=True, mitogen=args.mitogen)
        line("the fleet again, every role (voipguard_full_run=true)", wall, recap, hosts)

    audit(args.inventory, args.workers)


def audit(inventory, workers=None):
    """One audit of every PBX in one report; prints and returns its wall time."""
    with tempfile.TemporaryDirectory(prefix="voipguard-fleet-audit-") as out:
        command = [sys.executable, "-m", "audit", "run", "--inventory", inventory, "--hosts", "pbx", "--out", out]
        if workers:
            command += ["--workers", str(workers)]
        started = time.monotonic()
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        with open(os.path.join(out, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
    failing = sorted(set(c["id"] for h in report["hosts"] for c in h["controls"] if c["status"] == "fail"))
    print("the fleet audited: %.1f s for %d hosts in one report (rc %d); failing controls: %s" % (
        wall, len(report["hosts"]), proc.returncode, ", ".join(failing) or "none"))
    return wall


if __name__ == "__main__":
    main()
