"""The lab is made of real parts: a real Asterisk 22, real SIP, a carrier that records calls."""
import re
import time

from conftest import PBX_VOICE, sip_register_probe


def test_pbx_runs_asterisk_22(lab):
    version = lab("pbx").run("asterisk -rx 'core show version'")
    assert version.rc == 0, version.stderr
    assert re.match(r"Asterisk 22\.\d+", version.stdout), version.stdout


def test_pbx_runs_under_systemd(lab):
    pbx = lab("pbx")
    assert pbx.service("asterisk").is_running
    assert pbx.process.get(pid=1).comm == "systemd"


def test_sip_register_from_a_phone_network_gets_a_sip_answer(lab):
    # admin sits in the phones' network; any SIP status line proves a real SIP stack answered.
    answer = lab("admin").check_output(sip_register_probe(PBX_VOICE))
    assert answer.startswith("SIP/2.0 "), answer


def test_carrier_records_a_call_the_pbx_places(lab, unique_number):
    pbx, carrier = lab("pbx"), lab("carrier")
    pbx.check_output(
        f"asterisk -rx 'channel originate PJSIP/{unique_number}@carrier application Wait 1'")
    for _ in range(20):
        records = carrier.run("cat /var/log/asterisk/cdr-csv/Master.csv").stdout
        if unique_number in records:
            break
        time.sleep(0.5)
    row = next(line for line in records.splitlines() if f'"{unique_number}"' in line)
    assert '"ANSWERED"' in row
