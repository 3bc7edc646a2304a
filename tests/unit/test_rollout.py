"""Rolling fleets: the inventory's serial and max_fail_percentage reach the play
(lookup_plugins/voipguard_rollout), and the run ends with one line per host
(callback_plugins/voipguard_summary). Real ansible-playbook runs on local hosts, no network."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "callback_plugins"))

from voipguard_summary import outcome_lines  # noqa: E402  pylint: disable=wrong-import-position

PLAY = """
- name: A rollout like playbooks/harden.yml's
  hosts: pbx
  gather_facts: false
  serial: "{{ lookup('voipguard_rollout', 'voipguard_serial', default='100%', check='serial') }}"
  max_fail_percentage: "{{ lookup('voipguard_rollout', 'voipguard_max_fail_percentage', default=100, check='max_fail_percentage') }}"
  tasks:
    - name: Break one host
      ansible.builtin.fail:
        msg: "broken on purpose"
      when: inventory_hostname == 'pbx-a'
    - name: Change something
      ansible.builtin.command: /bin/true
"""


def run(tmp_path, group_vars, strategy="linear", extra_args=()):
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "group_vars" / "pbx.yml").write_text(group_vars)
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    pbx:\n      hosts:\n"
        + "".join("        pbx-%s: {ansible_connection: local, ansible_python_interpreter: %s}\n"
                  % (name, sys.executable) for name in "abcd"))
    (tmp_path / "play.yml").write_text(PLAY)
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path),
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOOKUP_PLUGINS": str(ROOT / "lookup_plugins"),
           "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "callback_plugins"),
           "ANSIBLE_CALLBACKS_ENABLED": "voipguard_summary", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_STRATEGY": strategy}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                           str(tmp_path / "play.yml")] + list(extra_args),
                          env=env, cwd=tmp_path, capture_output=True, text=True,
                          check=False, timeout=300)
    summary = proc.stdout.split("VOIPGUARD SUMMARY", 1)[-1]
    return proc, dict(line.split(" : ", 1) for line in summary.splitlines()[1:] if " : " in line)


def test_without_rollout_settings_a_broken_host_does_not_stop_the_others(tmp_path):
    proc, outcome = run(tmp_path, "---\n")
    assert proc.stdout.count("PLAY [A rollout") == 1
    assert outcome["pbx-a"].strip() == 'failed at "Break one host": broken on purpose'
    assert [outcome["pbx-%s" % n].strip() for n in "bcd"] == ["ok, 1 change"] * 3


def test_the_inventory_sets_the_batches_and_a_failed_batch_stops_the_rollout(tmp_path):
    proc, outcome = run(tmp_path, "voipguard_serial: 2\nvoipguard_max_fail_percentage: 0\n")
    # Batches of two; pbx-a's failure is over 0 % of its batch: the rollout stops there.
    assert proc.stdout.count("PLAY [A rollout") == 1
    assert outcome["pbx-a"].startswith("failed")
    # pbx-b was cut short with its batch, before its change: never called done.
    assert outcome["pbx-b"].strip() == "stopped with its batch, 0 changes so far"
    assert outcome["pbx-c"].startswith("not run") and outcome["pbx-d"].startswith("not run")
    assert proc.returncode != 0


def test_a_tolerated_failure_lets_the_rollout_go_on(tmp_path):
    proc, outcome = run(tmp_path, "voipguard_serial: 2\nvoipguard_max_fail_percentage: 50\n")
    assert proc.stdout.count("PLAY [A rollout") == 2
    assert [outcome["pbx-%s" % n].strip() for n in "bcd"] == ["ok, 1 change"] * 3


def test_a_check_run_says_that_nothing_was_changed(tmp_path):
    proc, outcome = run(tmp_path, "---\n", extra_args=["--check"])
    assert outcome["pbx-a"].startswith("failed")
    assert [outcome["pbx-%s" % n].strip() for n in "bcd"] == ["ok (check mode), 0 changes"] * 3


def test_the_free_strategy_runs_a_fleet_that_never_stops_early_without_a_warning(tmp_path):
    # ./voipguard harden --mitogen runs mitogen_free; the default rollout suits it.
    proc, outcome = run(tmp_path, "---\n", strategy="free")
    assert "max_fail_percentage with the free strategy" not in proc.stdout + proc.stderr
    assert outcome["pbx-a"].startswith("failed")
    assert [outcome["pbx-%s" % n].strip() for n in "bcd"] == ["ok, 1 change"] * 3


def test_a_rollout_that_stops_early_is_refused_under_the_free_strategy(tmp_path):
    # The free strategy cannot stop a batch early: said before any host is touched, not ignored.
    proc, outcome = run(tmp_path, "voipguard_serial: 2\nvoipguard_max_fail_percentage: 50\n", strategy="free")
    assert proc.returncode != 0
    assert "voipguard_max_fail_percentage: 50 % needs a linear strategy" in proc.stdout + proc.stderr
    assert "TASK [" not in proc.stdout and not outcome


@pytest.mark.parametrize("stats, expected", [
    ({"h": {"unreachable": 1}}, "unreachable: timed out"),
    ({"h": {"failures": 1, "changed": 2}}, 'failed at "t": why'),
    ({"h": {"changed": 1}}, "hardened, 1 change"),
    ({}, "not run: the rolling update stopped before this host"),
])
def test_each_host_gets_one_outcome(stats, expected):
    lines = outcome_lines(["h"], stats, {"h": ("t", "why")}, {"h": ("t", "timed out")}, done="hardened")
    assert lines == [("h", expected)]


def test_a_host_that_ran_to_the_end_is_done_even_when_a_later_batch_never_ran():
    lines = outcome_lines(["a", "b", "c"], {"a": {"changed": 3}, "b": {"failures": 1}}, {"b": ("t", "why")},
                          {}, done="hardened", last_batch=["b"])
    assert lines == [("a", "hardened, 3 changes"), ("b", 'failed at "t": why'),
                     ("c", "not run: the rolling update stopped before this host")]


@pytest.mark.parametrize("group_vars, message", [
    ("voipguard_serial: lots\n", "voipguard_serial: 'lots' is not a number of hosts"),
    ("voipguard_serial: [1, 0]\n", "voipguard_serial: 0 is not a number of hosts"),
    ("voipguard_max_fail_percentage: 120\n", "voipguard_max_fail_percentage: 120 is not a percentage"),
])
def test_a_wrong_rollout_setting_stops_the_run_before_any_host_is_touched(tmp_path, group_vars, message):
    proc, outcome = run(tmp_path, group_vars)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-1500:]
    assert "TASK [" not in proc.stdout and not outcome
