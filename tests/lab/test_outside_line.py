"""A number is judged by the digits that reach the trunk. An office whose phones dial 9 for an
outside line has a route that strips it (_9X. -> ${EXTEN:1}); the run reads the digit from that
route (toll_fraud_guard_outside_line: auto), so "9 030..." is the national call it is, and
"9 00263..." is the call to Zimbabwe it is. Without the digit both are forms no dialing rule
reads, refused as unknown-form: the office could not call out."""
import time

import pytest

from conftest import carrier_records, harden, log_length, log_lines_since, place_calls

MESSAGES = "/var/log/asterisk/messages.log"
ROUTE = "\\n[from-internal]\\nexten => _9X.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN:1})}@carrier)\\n same => n,Hangup()\\n"
SAVED = "/etc/asterisk/extensions.conf /etc/asterisk/extensions_voipguard.conf"


@pytest.fixture
def outside_line_route(lab):
    """The operator's dialplan with an outside-line route; files and dialplan put back after."""
    pbx = lab("pbx")
    pbx.check_output("mkdir -p /root/outside-line && cp -p %s /root/outside-line/" % SAVED)
    pbx.check_output("printf '%s' >> /etc/asterisk/extensions.conf && asterisk -rx 'dialplan reload'" % ROUTE)
    yield pbx
    pbx.check_output("cp -p /root/outside-line/* /etc/asterisk/ && asterisk -rx 'dialplan reload'")


def test_the_outside_line_is_read_from_the_operators_route_and_judged_without_it(
        lab, lab_inventory, outside_line_route, unique_number):
    pbx, office, carrier = outside_line_route, lab("admin"), lab("carrier")
    result = harden(lab_inventory, tags="toll_fraud_guard")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "outside line 9," in pbx.check_output("grep '^; Policy:' /etc/asterisk/extensions_voipguard.conf")

    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    national = place_calls(office, "1001", "9" + unique_number, 1, hold_ms=500)
    zimbabwe = place_calls(office, "1001", "900263771234567", 1, hold_ms=500)
    time.sleep(1)
    assert national["answered"] == 1 and zimbabwe["answered"] == 0
    # The carrier saw the national number without the outside line, and nothing else.
    assert [record["dst"] for record in carrier_records(carrier)[recorded:]] == [unique_number]
    refused = [line for line in log_lines_since(pbx, MESSAGES, logged)
               if "voipguard: blocked call endpoint=1001 dialed=900263771234567" in line]
    assert len(refused) == 1 and "reason=country" in refused[0], refused
