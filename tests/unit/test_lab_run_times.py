"""scripts/lab-run-times.py: the sums of the lab tests' playbook runs that ./voipguard test prints."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lab-run-times.py"


def run(tmp_path, rows):
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return subprocess.run([sys.executable, str(SCRIPT), str(log), "--top", "2"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def row(test, seconds, kind):
    return {"test": test, "seconds": seconds, "kind": kind, "tags": None, "rc": 0, "inventory": "lab", "variables": []}


def test_runs_are_summed_by_kind_by_file_and_by_test_longest_first(tmp_path):
    lines = run(tmp_path, [row("tests/lab/test_a.py::test_x", 40.0, "whole"),
                           row("tests/lab/test_b.py::test_y", 12.5, "ended early"),
                           row("tests/lab/test_b.py::test_z[1: x]", 30.0, "whole"),
                           row("tests/lab/test_b.py::test_y", 12.5, "ended early")])
    assert lines[0] == "playbook runs of the lab tests: 4, 95 s"
    kinds = lines[lines.index("by kind:") + 1:lines.index("by test file:")]
    assert [line.split() for line in kinds] == [["70.0", "s", "2", "whole"], ["25.0", "s", "2", "ended", "early"]]
    files = lines[lines.index("by test file:") + 1:lines.index("the 2 tests whose runs took longest:")]
    assert [line.split()[-1] for line in files] == ["tests/lab/test_b.py", "tests/lab/test_a.py"]
    assert files[0].split()[:3] == ["55.0", "s", "3"]
    longest = lines[lines.index("the 2 tests whose runs took longest:") + 1:]
    assert [line.split(None, 2)[2] for line in longest] == ["tests/lab/test_a.py::test_x",
                                                            "tests/lab/test_b.py::test_z[1: x]"]


def test_no_log_is_no_run(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "missing.jsonl")], capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[0] == "playbook runs of the lab tests: 0, 0 s"
