"""roles/toll_fraud_guard/files/voipguard_alert_mailer.py: alert lines, positions, the mail."""
import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    "voipguard_alert_mailer", ROOT / "roles" / "toll_fraud_guard" / "files" / "voipguard_alert_mailer.py")
mailer = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(mailer)

# Real lines from Asterisk 22's messages.log (lab PBX, toll-fraud guard dialplan).
ALERT_1 = ("[Nov 25 10:42:19] WARNING[1154][C-0000000f] Ext. s: voipguard: ALERT "
           "kind=budget-exhausted endpoint=1001 dialed=030123456 e164=4930123456 country=DE "
           "price=2000 remaining=0")
ALERT_2 = ("[Nov 25 10:46:13] WARNING[3326][C-0000003c] Ext. s: voipguard: ALERT kind=off-hours "
           "endpoint=1001 dialed=0012125551234 e164=12125551234 country=US "
           "business_hours=16:00-16:59/mon-sun")
BLOCKED = ("[Nov 25 10:46:18] WARNING[3479][C-0000003e] Ext. s: voipguard: blocked call "
           "endpoint=1001 dialed=0012125551234 e164=12125551234 country=US reason=budget")
# A caller's text inside another message must not pass for an alert.
FORGED = ("[Nov 25 10:50:00] NOTICE[99] res_pjsip/pjsip_distributor.c: Request 'INVITE' from "
          "'\"x\" <sip:voipguard: ALERT kind=fake@198.19.0.66>' failed for '198.19.0.66:5060' "
          "(callid: 1) - No matching endpoint found")
FORGED_WARNING = ("[Nov 25 10:50:01] WARNING[99] chan_pjsip.c: Ext. s: voipguard: ALERT "
                  "kind=fake endpoint=x")


def test_only_the_guards_alert_lines_are_picked():
    text = "\n".join([ALERT_1, BLOCKED, FORGED, FORGED_WARNING, ALERT_2, ""])
    assert mailer.alerts_in(text) == [ALERT_1.split("Ext. s: ")[1], ALERT_2.split("Ext. s: ")[1]]


def test_alert_line_with_shell_or_header_characters_is_not_picked():
    assert mailer.alerts_in(ALERT_1 + " $(reboot)") == []
    # a line break ends the alert: what follows is a line of its own, and no alert
    assert mailer.alerts_in(ALERT_1 + "\rBcc: x@example.org") == [ALERT_1.split("Ext. s: ")[1]]


@pytest.mark.parametrize("state, current, rotated, reads", [
    (None, {"inode": 5, "size": 900}, None, [("current", 900)]),          # first run: from now on
    ({"inode": 5, "offset": 100}, {"inode": 5, "size": 900}, None, [("current", 100)]),
    ({"inode": 5, "offset": 950}, {"inode": 5, "size": 900}, None, [("current", 0)]),  # truncated
    ({"inode": 5, "offset": 100}, {"inode": 7, "size": 50}, {"inode": 5, "size": 300},
     [("rotated", 100), ("current", 0)]),                                  # rotated to log.1
    ({"inode": 5, "offset": 100}, {"inode": 7, "size": 50}, None, [("current", 0)]),
    ({"inode": 5, "offset": 100}, None, None, []),                         # no log at all
])
def test_plan_reads(state, current, rotated, reads):
    assert mailer.plan_reads(state, current, rotated) == reads


def test_state_round_trip_and_garbage(tmp_path):
    path = str(tmp_path / "position.json")
    assert mailer.load_state(path) is None
    mailer.save_state(path, {"inode": 3, "offset": 42})
    assert mailer.load_state(path) == {"inode": 3, "offset": 42}
    Path(path).write_text("not json")
    assert mailer.load_state(path) is None


def test_compose_caps_the_list():
    alerts = ["voipguard: ALERT kind=burst n=%d" % i for i in range(mailer.MAX_LINES_PER_MAIL + 5)]
    message = mailer.compose(alerts, "ops@example.org", "pbx1")
    assert message["Subject"] == "voipguard: %d toll-fraud alert(s) on pbx1" % len(alerts)
    assert message["To"] == "ops@example.org" and message["From"] is None
    body = message.get_content()
    assert "kind=burst n=0\n" in body and "and 5 more" in body
    assert "n=%d\n" % (mailer.MAX_LINES_PER_MAIL + 4) not in body


def fake_sendmail(tmp_path, exit_code=0):
    script = tmp_path / "sendmail"
    script.write_text("#!/bin/sh\necho \"$@\" > %s/args\ncat > %s/mail\nexit %d\n"
                      % (tmp_path, tmp_path, exit_code))
    script.chmod(0o755)
    return str(script)


def run(tmp_path, sendmail, *extra):
    return mailer.main(["--log", str(tmp_path / "messages.log"), "--state",
                        str(tmp_path / "state.json"), "--to", "ops@example.org",
                        "--sendmail", sendmail] + list(extra))


def test_run_mails_new_alerts_once(tmp_path):
    log = tmp_path / "messages.log"
    log.write_text(ALERT_1 + "\n")
    sendmail = fake_sendmail(tmp_path)
    assert run(tmp_path, sendmail) == 0          # first run: position at the end, no mail
    assert not (tmp_path / "mail").exists()
    with open(log, "a") as handle:
        handle.write(BLOCKED + "\n" + ALERT_2 + "\n")
    assert run(tmp_path, sendmail) == 0
    mail = (tmp_path / "mail").read_text()
    assert "kind=off-hours" in mail and "kind=budget-exhausted" not in mail
    assert (tmp_path / "args").read_text().split() == ["-oi", "--", "ops@example.org"]
    os.unlink(tmp_path / "mail")
    assert run(tmp_path, sendmail) == 0          # nothing new: no second mail
    assert not (tmp_path / "mail").exists()


def test_missing_sendmail_warns_and_keeps_the_alerts(tmp_path, capsys):
    log = tmp_path / "messages.log"
    log.write_text("")
    sendmail = fake_sendmail(tmp_path)
    run(tmp_path, sendmail)
    log.write_text(ALERT_1 + "\n")
    assert run(tmp_path, str(tmp_path / "no-sendmail")) == 0
    err = capsys.readouterr().err
    assert err.startswith("<4>voipguard-alert-mailer:") and "NOT mailed" in err
    assert json.loads((tmp_path / "state.json").read_text())["offset"] == 0
    assert run(tmp_path, sendmail) == 0          # mailed once sendmail exists
    assert "kind=budget-exhausted" in (tmp_path / "mail").read_text()


def test_failing_sendmail_is_retried(tmp_path):
    log = tmp_path / "messages.log"
    log.write_text("")
    run(tmp_path, fake_sendmail(tmp_path))
    log.write_text(ALERT_1 + "\n")
    assert run(tmp_path, fake_sendmail(tmp_path, exit_code=75)) == 1
    assert json.loads((tmp_path / "state.json").read_text())["offset"] == 0
