#!/usr/bin/env python3
"""Time of an audit per host and size of its report, for BENCHMARKS.md.

  .venv/bin/python benchmarks/audit_time.py [--inventory inventories/lab/hosts.yml] [--hosts pbx] [--runs 3]

Runs ``python -m audit run`` (SSH as Ansible connects, the whole control suite) --runs times and prints
wall time per run, per host (sum of control durations + connection), the slowest controls, and
the size of report.json / report.html / junit.xml. Read-only on the hosts.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "lab", "hosts.yml"))
    parser.add_argument("--hosts", default="pbx")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    walls, per_host, controls = [], {}, {}
    sizes = {}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="voipguard-audit-bench-") as out:
            started = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "audit", "run", "--inventory", args.inventory,
                                   "--hosts", args.hosts, "--out", out], cwd=ROOT, capture_output=True,
                                  text=True, check=False)
            walls.append(time.monotonic() - started)
            if proc.returncode == 2:
                sys.exit("audit failed: %s" % proc.stderr.strip())
            with open(os.path.join(out, "report.json"), encoding="utf-8") as handle:
                doc = json.load(handle)
            for host in doc["hosts"]:
                total = sum(c.get("duration") or 0 for c in host["controls"]) + \
                    (host["info"].get("connect_seconds") or 0)
                per_host.setdefault(host["name"], []).append(total)
                for control in host["controls"]:
                    controls.setdefault(control["id"], []).append(control.get("duration") or 0)
            for name in ("report.json", "report.html", "junit.xml"):
                sizes[name] = os.path.getsize(os.path.join(out, name))
        print("run %d: %.2f s wall (exit %d)" % (run + 1, walls[-1], proc.returncode))
    print("wall per run: median %.2f s, min %.2f s, max %.2f s" % (statistics.median(walls), min(walls), max(walls)))
    for name, values in sorted(per_host.items()):
        print("host %s: median %.2f s in controls + connection" % (name, statistics.median(values)))
    slow = sorted(controls.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
    print("slowest controls: " + ", ".join("%s %.2f s" % (cid, statistics.median(v)) for cid, v in slow))
    print("report sizes: " + ", ".join("%s %d bytes" % kv for kv in sorted(sizes.items())))


if __name__ == "__main__":
    main()
