"""Every refusal reaches a person. The guard's dialplan only logs; voipguard-alert-notifier on the
PBX sends the lines through Apprise to the lab inventory's destination, a JSON webhook served by
lab/tools/voipguard-alert-receiver on the admin host (the operator's side of the lab)."""
from conftest import place_calls, received_alerts, wait_for_alert


def test_a_refused_call_reaches_the_person_behind_the_webhook_within_seconds(lab):
    pbx, admin = lab("pbx"), lab("admin")
    assert pbx.service("voipguard-alert-notifier").is_running
    before = len(received_alerts(admin))
    counters = place_calls(admin, "1001", "00263771234567", 1, hold_ms=500)
    assert counters["answered"] == 0
    alerts = wait_for_alert(admin, before, "blocked call endpoint=1001 dialed=00263771234567")
    assert alerts, "no alert reached the receiver in 20 s: %s" % pbx.run(
        "journalctl -u voipguard-alert-notifier -n 5 --no-pager -o cat").stdout
    assert alerts[0]["path"] == "/voipguard" and "reason=country" in alerts[0]["body"]["message"]
    assert "call(s) refused" in alerts[0]["body"]["title"]
