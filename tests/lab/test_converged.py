"""A rerun with nothing to do ends early, and only then: on the lab PBX hardened by the run
before, the next run ends after proving the running Asterisk; a fail2ban stopped by hand, a
firewall table deleted, a hand edit in /etc/asterisk or another variable each send the run
through every role again, which puts back what the roles manage and keeps the operator's edit.
The roles themselves stay idempotent: a full rerun changes nothing either."""
import re

from conftest import harden

EXTENSIONS = "/etc/asterisk/extensions.conf"
HAND_EDIT = "; voipguard test: a line of the operator"


def said(proc):
    """The run's "Say whether the roles run, and why" message, on one line."""
    text = " ".join((proc.stdout + proc.stderr).split())
    found = re.search(r"msg: '?((?:Nothing to do|Every role runs): .*?\.)'? (?:TASK|PLAY)", text)
    assert found, text[-3000:]
    return found.group(1)


def changed(proc):
    return int(re.search(r"pbx\s*: ok=\d+\s+changed=(\d+)", proc.stdout).group(1))


def ok(proc):
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc


def test_a_rerun_with_nothing_to_do_ends_early_and_still_proves_the_running_asterisk(lab):
    pbx = lab("pbx")
    ok(harden())  # whatever the tests before left, this run is recorded
    again = ok(harden())
    assert said(again).startswith("Nothing to do: nothing changed since the verified run")
    assert changed(again) == 0
    assert "Make the running Asterisk match its files, and prove it" in again.stdout
    for role_task in ("fail2ban_asterisk : Install the jails", "toll_fraud_guard : Write extensions_voipguard.conf",
                      "nftables_firewall : Write the voipguard table"):
        assert role_task not in again.stdout
    checked = ok(harden(check=True))
    assert said(checked).startswith("Nothing to do") and changed(checked) == 0
    assert "pbx : would be hardened (check mode), 0 changes" in checked.stdout
    # The roles are idempotent on their own: every role run again changes nothing.
    full = ok(harden(extra_vars={"voipguard_full_run": True}))
    assert said(full).startswith("Every role runs: voipguard_full_run is set") and changed(full) == 0
    assert pbx.service("fail2ban").is_running


def test_what_changed_by_hand_sends_the_run_through_every_role_which_puts_it_back(lab):
    pbx = lab("pbx")
    ok(harden())
    pbx.check_output("systemctl stop fail2ban && nft delete table inet voipguard && echo %s >> %s",
                     repr(HAND_EDIT), EXTENSIONS)
    try:
        fixed = ok(harden())
        reason = said(fixed)
        assert reason.startswith("Every role runs: changed since the last verified run: ")
        for name in ("command:systemctl is-active", "command:fail2ban-client status", "nft:inet voipguard",
                     "path:" + EXTENSIONS):
            assert name in reason, reason
        assert changed(fixed) > 0
        assert pbx.service("fail2ban").is_running
        assert "chain input" in pbx.check_output("nft list table inet voipguard")
        assert HAND_EDIT in pbx.file(EXTENSIONS).content_string  # the operator's line is kept
        assert said(ok(harden())).startswith("Nothing to do")
    finally:
        pbx.run("sed -i '/voipguard test: a line of the operator/d' %s", EXTENSIONS)
    # The edit taken back is a change too.
    assert said(ok(harden())).startswith("Every role runs: changed since the last verified run: path:")


def test_another_value_of_a_role_variable_sends_the_run_through_every_role(lab):
    ok(harden())
    # In check mode: the judgement is the same, and nothing is recorded, so no run is needed to
    # put the lab back (a real run with the value and one without took 115 s of CI).
    other = ok(harden(check=True, extra_vars={"voipguard_journal_path": "/var/log/voipguard/other-journal.jsonl"}))
    assert said(other) == "Every role runs: the toolkit or the role variables changed since the last verified run."
    assert "toll_fraud_guard : Write extensions_voipguard.conf" in other.stdout
    assert said(ok(harden())).startswith("Nothing to do")
