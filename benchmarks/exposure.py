#!/usr/bin/env python3
"""The audit's worst-case toll-fraud cost per day, for BENCHMARKS.md.

  .venv/bin/python benchmarks/exposure.py [--inventory inventories/lab/hosts.yml] [--hosts pbx]

Runs ``python -m audit run`` against the hosts as they are (the lab hardened with the
toll_fraud_guard role's defaults, after ``./voipguard demo`` or Molecule's converge) and prints
each host's worst case and the limit that bounds it. Read-only on the hosts.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "lab", "hosts.yml"))
    parser.add_argument("--hosts", default="pbx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voipguard-exposure-") as out:
        proc = subprocess.run([sys.executable, "-m", "audit", "run", "--inventory", args.inventory,
                               "--hosts", args.hosts, "--out", out, "-k", "toll_fraud or guard"],
                              cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode in (2, 3):
            sys.exit("audit failed: %s" % (proc.stderr or proc.stdout).strip()[-2000:])
        with open(os.path.join(out, "report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
    for host in report["hosts"]:
        exposure = host.get("exposure") or {}
        if exposure.get("unlimited"):
            print("%s: worst case unlimited: %s" % (host["name"], "; ".join(exposure.get("reasons") or [])))
            continue
        print("%s: worst case %s %.2f per day, bound by %s" % (
            host["name"], exposure.get("currency", "EUR"), exposure["per_day"], exposure["bound_by"]))
        for term in exposure.get("terms") or ():
            print("  %-75s %10.2f" % (term["limit"], term["value"]))


if __name__ == "__main__":
    main()
