#!/usr/bin/env python3
"""Where the lab suite's time goes: the playbook runs the lab tests made, summed from the log that
tests/lab/conftest.py writes when VOIPGUARD_LAB_RUN_LOG is set (./voipguard test sets it).

    scripts/lab-run-times.py RUN_LOG [--top N]
"""
import argparse
import collections
import json
import sys


def summary(rows, top):
    lines = ["playbook runs of the lab tests: %d, %.0f s" % (len(rows), sum(r["seconds"] for r in rows))]
    for title, key in (("by kind", lambda r: r["kind"]), ("by test file", lambda r: r["test"].split("::")[0])):
        totals, counts = collections.Counter(), collections.Counter()
        for row in rows:
            totals[key(row)] += row["seconds"]
            counts[key(row)] += 1
        lines.append(title + ":")
        lines += ["  %7.1f s %4d  %s" % (seconds, counts[name], name) for name, seconds in totals.most_common()]
    by_test = collections.Counter()
    for row in rows:
        by_test[row["test"]] += row["seconds"]
    lines.append("the %d tests whose runs took longest:" % top)
    lines += ["  %7.1f s  %s" % (seconds, name) for name, seconds in by_test.most_common(top)]
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
