"""The guard covers the PBXs out there: an installer layout keeps its phones in #include'd files
(and their templates), and a phone the guard does not see is a phone whose calls reach the trunk
unchecked. Here a phone lives in an included file; after the run it is guarded where it is
defined, the running Asterisk sends its calls through the guard, and the incident's calls from
it never reach the carrier."""
import secrets
import time

import pytest

from conftest import PBX_VOICE, carrier_records, harden, log_length, log_lines_since

INCLUDED = "/etc/asterisk/voipguard-test.d/phones.conf"


def phone_file(password):
    return ("[office-phone](!)\ntype = endpoint\ncontext = from-internal\ndisallow = all\nallow = ulaw\n\n"
            "[2001](office-phone)\nauth = 2001\naors = 2001\n\n"
            "[2001]\ntype = auth\nauth_type = digest\nusername = 2001\npassword = %s\n\n"
            "[2001]\ntype = aor\nmax_contacts = 1\n" % password)


@pytest.fixture
def phone_in_an_included_file(lab):
    pbx = lab("pbx")
    password = secrets.token_hex(16)
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.included-test && mkdir -p %s",
                     INCLUDED.rsplit("/", 1)[0])
    pbx.check_output("printf '%%s' %s > %s && chown asterisk: %s && chmod 0640 %s",
                     phone_file(password), INCLUDED, INCLUDED, INCLUDED)
    pbx.check_output("printf '\\n#include voipguard-test.d/*.conf\\n' >> /etc/asterisk/pjsip.conf && "
                     "asterisk -rx 'module reload res_pjsip.so'")
    yield pbx, password
    pbx.check_output("cp -p /root/pjsip.conf.included-test /etc/asterisk/pjsip.conf && rm -rf %s && "
                     "asterisk -rx 'module reload res_pjsip.so'", INCLUDED.rsplit("/", 1)[0])


def test_a_phone_in_an_included_file_is_guarded_where_it_is_defined(lab, lab_inventory, phone_in_an_included_file):
    pbx, password = phone_in_an_included_file
    office, carrier = lab("admin"), lab("carrier")
    assert "context                            : from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2001'")
    result = harden(lab_inventory, tags="toll_fraud_guard")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    # Edited in the included file (the endpoint's own context= overrides its template's); the
    # file holds a password, so only the count of matching lines reaches the test output.
    edited = pbx.run("grep -c '^context = voipguard-guard-from-internal$' %s", INCLUDED).stdout.strip()
    assert edited == "1", "the included file holds %s guard context lines, not 1" % edited
    # ...and in force in the running Asterisk.
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2001'")
    recorded_before, log_before = len(carrier_records(carrier)), log_length(pbx, "/var/log/asterisk/messages.log")
    # The incident's 150 calls to Zimbabwe and Somalia, from the phone in the included file.
    for number in ("00263771234567", "+252612345678"):
        office.run("SIP_PASSWORD=%s voipguard-call %s 2001 %s 75 25 300 20", password, PBX_VOICE, number)
    time.sleep(1)
    assert carrier_records(carrier)[recorded_before:] == []
    blocked = [line for line in log_lines_since(pbx, "/var/log/asterisk/messages.log", log_before)
               if "voipguard: blocked call endpoint=2001" in line and "reason=country" in line]
    assert len(blocked) == 150, len(blocked)
