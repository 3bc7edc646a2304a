"""roles/toll_fraud_guard/files/voipguard_astdb_prune.py: which of the guard's AstDB keys are
stale. The lab test (tests/lab/test_toll_fraud_dialplan.py) runs it on the lab PBX's Asterisk."""
import datetime
import importlib.util
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    "voipguard_astdb_prune", ROOT / "roles" / "toll_fraud_guard" / "files" / "voipguard_astdb_prune.py")
prune = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(prune)

# Noon, local time, on 2026-12-01: days are the host's local days, as the dialplan makes them.
NOW = time.mktime(datetime.datetime(2026, 12, 1, 12, 0, 0).timetuple())

# The shape of Asterisk 22's 'database show voipguard' (main/db.c: "%-50s: %-25s").
SHOW = """\
/voipguard/cpm/ep/1001                            : 202612011159|3
/voipguard/spend/day/20261201/pbx                 : 1200
/voipguard/spend/day/20260930/pbx                 : 500
/voipguard/spend/day/20260930/ep/1001             : 500
/voipguard/spend/month/202612/pbx                 : 1700
/voipguard/voucher/263771234567                   : %d|1001
/voipguard/voucher/4930123456                     : %d|1002
6 results found.
""" % (NOW - 5, NOW - 3600)


def test_the_rows_of_database_show_are_read_with_their_values():
    rows = prune.parse_database_show(SHOW)
    assert rows[0] == ("voipguard/cpm/ep/1001", "202612011159|3")
    assert ("voipguard/voucher/4930123456", "%d|1002" % (NOW - 3600)) in rows
    assert len(rows) == 7  # the "results found" line is not a row


def test_only_old_vouchers_and_old_days_are_removed():
    # 62 days kept, today included: from 1 October on. The voucher of 5 s ago, the counter, today
    # and this month stay.
    commands = prune.prune_commands(prune.parse_database_show(SHOW), NOW, keep_days=62, voucher_seconds=600)
    assert commands == ["database del voipguard/voucher 4930123456",
                        "database deltree voipguard/spend/day/20260930"]
    assert prune.prune_commands(prune.parse_database_show(SHOW), NOW, keep_days=63, voucher_seconds=600) == [
        "database del voipguard/voucher 4930123456"]


def test_a_day_goes_as_a_whole_tree_once():
    # Two keys of 30 September (the PBX's and a phone's): one deltree.
    commands = prune.prune_commands(prune.parse_database_show(SHOW), NOW, keep_days=30, voucher_seconds=600)
    assert commands.count("database deltree voipguard/spend/day/20260930") == 1
    assert not any("20261201" in c or "/month/" in c for c in commands), commands


@pytest.mark.parametrize("keep_days, kept", [(2, ["20261130", "20261201"]), (3, ["20261129", "20261130", "20261201"])])
def test_keep_days_counts_today(keep_days, kept):
    days = ["20261128", "20261129", "20261130", "20261201"]
    rows = [("voipguard/spend/day/%s/pbx" % day, "1") for day in days]
    removed = prune.prune_commands(rows, NOW, keep_days=keep_days, voucher_seconds=600)
    assert removed == ["database deltree voipguard/spend/day/%s" % day for day in days if day not in kept]


def test_a_month_goes_when_its_last_day_is_older_than_the_kept_days():
    rows = [("voipguard/spend/month/%s/pbx" % month, "1") for month in ("202609", "202610", "202611", "202612")]
    # Kept from 2026-10-01 on: September ended the day before.
    removed = prune.prune_commands(rows, NOW, keep_days=62, voucher_seconds=600)
    assert removed == ["database deltree voipguard/spend/month/202609"]
    # December of the year before: the month arithmetic crosses a year.
    assert prune.prune_commands([("voipguard/spend/month/202512/pbx", "1")], NOW, 62, 600) == [
        "database deltree voipguard/spend/month/202512"]


def test_a_voucher_that_cannot_be_read_is_stale():
    rows = [("voipguard/voucher/123456", "garbage"), ("voipguard/voucher/654321", "")]
    assert prune.prune_commands(rows, NOW, 62, 600) == [
        "database del voipguard/voucher 123456", "database del voipguard/voucher 654321"]


def test_keys_the_dialplan_does_not_write_are_left_alone():
    rows = [
        ("voipguard/cpm/pbx", "202001010000|9"),             # counters: written under the lock
        ("voipguard/burst/pbx", "1|1"),
        ("voipguard/voucher/12 34", "1|x"),                  # not digits: two words to the CLI
        ("voipguard/spend/day/2026x101/pbx", "1"),           # not a date
        ("voipguard/spend/day/20260231/pbx", "1"),           # not a real date
        ("voipguard/spend/month/202613/pbx", "1"),           # no 13th month
        ("voipguard/spend/day/20200101/ep/x;y", "1"),        # a key with a character no endpoint has
        ("voipguard/operator-note", "keep me"),
    ]
    assert prune.prune_commands(rows, NOW, 62, 600) == []


def test_fewer_than_two_kept_days_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        prune.prune_commands([], NOW, keep_days=1, voucher_seconds=600)


def test_a_dry_run_prints_the_commands_and_runs_none(tmp_path, capsys):
    # A stand-in for the asterisk binary: it answers 'database show' and records anything else.
    calls = tmp_path / "calls"
    fake = tmp_path / "asterisk"
    fake.write_text("#!/bin/sh\necho \"$2\" >> %s\ncase \"$2\" in 'database show voipguard') cat <<'E'\n%sE\n;; esac\n"
                    % (calls, "/voipguard/voucher/999 : 1|x\n"))
    fake.chmod(0o755)
    assert prune.main(["--asterisk", str(fake), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "database del voipguard/voucher 999" in out and "would remove 1 stale vouchers" in out
    assert calls.read_text().splitlines() == ["database show voipguard"]
    assert prune.main(["--asterisk", str(fake)]) == 0
    assert calls.read_text().splitlines()[-1] == "database del voipguard/voucher 999"


def test_an_asterisk_that_does_not_answer_fails_the_run(tmp_path, capsys):
    fake = tmp_path / "asterisk"
    fake.write_text("#!/bin/sh\necho 'Unable to connect to remote asterisk' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert prune.main(["--asterisk", str(fake)]) == 1
    assert "Unable to connect" in capsys.readouterr().err
