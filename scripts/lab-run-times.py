#!/usr/bin/env python3
"""Where the lab suite's time goes: the playbook runs the lab tests made, summed from the log that
tests/lab/conftest.py writes when VOIPGUARD_LAB_RUN_LOG is set (./voipguard test sets it).

    scripts/lab-run-times.py RUN_LOG [--top N]
"""
import argparse
import collections
import json
import sys


def sums(rows, key):
    """{group: seconds} and {group: runs} of the rows, grouped by key(row)."""
    seconds, runs = collections.Counter(), collections.Counter()
    for row in rows:
        seconds[key(row)] += row["seconds"]
        runs[key(row)] += 1
    return seconds, runs


def summary(rows, top):
    lines = ["playbook runs of the lab tests: %d, %.0f s" % (len(rows), sum(r["seconds"] for r in rows))]
    for title, key in (("by kind", lambda r: r["kind"]), ("by test file", lambda r: r["test"].split("::")[0])):
        seconds, runs = sums(rows, key)
        lines.append(title + ":")
        lines += ["  %7.1f s %4d  %s" % (total, runs[name], name) for name, total in seconds.most_common()]
    seconds, _runs = sums(rows, lambda r: r["test"])
    lines.append("the %d tests whose runs took longest:" % top)
    lines += ["  %7.1f s  %s" % (total, name) for name, total in seconds.most_common(top)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_log")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    try:
        with open(args.run_log) as log:
            rows = [json.loads(line) for line in log if line.strip()]
    except FileNotFoundError:
        rows = []
    print(summary(rows, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
