#!/usr/bin/env python3
"""The toll-fraud policy compiled once with the role's defaults (a DE site), as the role's
"Validate and compile the toll-fraud policy" task does on the controller for every host.

  .venv/bin/python benchmarks/policy_compile.py [RUNS] [LOCAL_AREA_CODE]

Prints the median of RUNS compiles (default 5) in the same process, after one not counted;
with LOCAL_AREA_CODE (e.g. 531), for an office that dials local numbers without it.
"""
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "library"))

import audit  # noqa: E402,F401  (makes module_utils importable as ansible.module_utils.<name>)
from tests.module_runner import run_module  # noqa: E402
from tests.role_defaults import toll_fraud_policy_params  # noqa: E402

import toll_fraud_policy  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    area = sys.argv[2] if len(sys.argv) > 2 else ""
    params = dict(toll_fraud_policy_params(local_area_code=area), trunk_boundary=False)
    assert not run_module(toll_fraud_policy, params).get("failed")
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run_module(toll_fraud_policy, params)
        seconds.append(time.perf_counter() - started)
    print("policy compile, role defaults (DE%s): median %.3f s (min %.3f, max %.3f) over %d runs"
          % (", local numbers in " + area if area else "", statistics.median(seconds), min(seconds),
             max(seconds), runs))


if __name__ == "__main__":
    main()
