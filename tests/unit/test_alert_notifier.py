"""roles/toll_fraud_guard/files/voipguard_alert_notifier.py: alert lines, positions, delivery.

Delivery goes through the real Apprise library to a real HTTP receiver on localhost (Apprise's
json:// service); tests/lab/test_alerts.py does the same across the lab's network."""
import http.server
import importlib.util
import json
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    "voipguard_alert_notifier", ROOT / "roles" / "toll_fraud_guard" / "files" / "voipguard_alert_notifier.py")
notifier = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(notifier)

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


def test_only_the_guards_alert_and_refusal_lines_are_picked():
    text = "\n".join([ALERT_1, BLOCKED, FORGED, FORGED_WARNING, ALERT_2, ""])
    assert notifier.alerts_in(text) == [line.split("Ext. s: ")[1] for line in (ALERT_1, BLOCKED, ALERT_2)]


def test_alert_line_with_shell_or_header_characters_is_not_picked():
    assert notifier.alerts_in(ALERT_1 + " $(reboot)") == []
    # a line break ends the alert: what follows is a line of its own, and no alert
    assert notifier.alerts_in(ALERT_1 + "\rBcc: x@example.org") == [ALERT_1.split("Ext. s: ")[1]]


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
    assert notifier.plan_reads(state, current, rotated) == reads


def test_state_round_trip_and_garbage(tmp_path):
    path = str(tmp_path / "position.json")
    assert notifier.load_state(path) is None
    notifier.save_state(path, {"inode": 3, "offset": 42})
    assert notifier.load_state(path) == {"inode": 3, "offset": 42}
    Path(path).write_text("not json")
    assert notifier.load_state(path) is None


def test_compose_counts_alerts_and_refusals_and_caps_the_list():
    alerts = ["voipguard: ALERT kind=burst n=%d" % i for i in range(notifier.MAX_LINES_PER_MESSAGE + 5)]
    title, body = notifier.compose(alerts + [BLOCKED.split("Ext. s: ")[1]], "pbx1")
    assert title == "voipguard on pbx1: %d toll-fraud alert(s), 1 call(s) refused" % len(alerts)
    assert "kind=burst n=0\n" in body and "and 6 more" in body
    assert "n=%d\n" % (notifier.MAX_LINES_PER_MESSAGE + 4) not in body


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: keeps each POSTed JSON body; answers with the class's status."""
    received = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(tmp_path):
    Receiver.received, Receiver.status = [], 200
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = tmp_path / "destinations.conf"
    config.write_text("json://127.0.0.1:%d/alerts\n" % server.server_address[1])
    yield Receiver, str(config)
    server.shutdown()


def run(tmp_path, config):
    return notifier.main(["--log", str(tmp_path / "messages.log"), "--state",
                          str(tmp_path / "state.json"), "--config", config])


def test_new_alerts_are_sent_once_as_json_through_apprise(tmp_path, receiver):
    received, config = receiver
    log = tmp_path / "messages.log"
    log.write_text(ALERT_1 + "\n")
    assert run(tmp_path, config) == 0          # first run: position at the end, nothing sent
    assert received.received == []
    with open(log, "a") as handle:
        handle.write(BLOCKED + "\n" + FORGED + "\n" + ALERT_2 + "\n")
    assert run(tmp_path, config) == 0
    assert len(received.received) == 1
    message = received.received[0]
    assert "1 toll-fraud alert(s), 1 call(s) refused" in message["title"]
    assert "kind=off-hours" in message["message"] and "reason=budget" in message["message"]
    assert "kind=budget-exhausted" not in message["message"] and "kind=fake" not in message["message"]
    assert run(tmp_path, config) == 0          # nothing new: nothing sent again
    assert len(received.received) == 1


def test_a_refusing_receiver_keeps_the_alerts_for_the_next_try(tmp_path, receiver, capsys):
    received, config = receiver
    log = tmp_path / "messages.log"
    log.write_text("")
    run(tmp_path, config)
    log.write_text(ALERT_1 + "\n")
    received.status = 503
    assert run(tmp_path, config) == 1
    assert "NOT sent" in capsys.readouterr().err
    assert json.loads((tmp_path / "state.json").read_text())["offset"] == 0
    received.status = 200
    assert run(tmp_path, config) == 0
    assert "kind=budget-exhausted" in received.received[-1]["message"]


def test_a_configuration_without_any_destination_says_so(tmp_path, capsys):
    config = tmp_path / "destinations.conf"
    config.write_text("# nobody\n")
    (tmp_path / "messages.log").write_text("")
    run(tmp_path, str(config))
    (tmp_path / "messages.log").write_text(ALERT_1 + "\n")
    assert run(tmp_path, str(config)) == 1
    assert "no alert destination" in capsys.readouterr().err
