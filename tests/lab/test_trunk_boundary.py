"""The trunk leg is the money boundary: every path a call can take to the trunk is checked.

The lab PBX hardened with the role defaults loops every INVITE for the trunk "carrier" back
through itself (outbound_proxy -> endpoint voipguard-egress), where the guard judges the digits
that would reach the carrier. Each row of the matrix below makes a call onto the trunk by a path
that never passes a phone's guard context, with the privileges such a path needs (root on the
PBX, which also stands for an AMI user with the originate right: CLI and AMI Originate both go
through the same core call, ast_pbx_outgoing_app). For each: 0 calls to blocked destinations
reach the carrier (EUR 0), and a national call and 112 still go through.
"""
import time

import pytest

from conftest import (
    PBX_VOICE, carrier_records, cost_in_euros, log_length, log_lines_since, reset_guard_state, sip_password)

MESSAGES = "/var/log/asterisk/messages.log"
SPOOL = "/var/spool/asterisk/outgoing"
BLOCKED_FORMS = [
    "00263771234567",   # Zimbabwe, the incident
    "+252612345678",    # Somalia, E.164 form
    "263771234567",     # bare calling code: a form no dialing rule reads
    "00+263771234567",  # mixed form
    "00881612345678",   # satellite (GMSS, +881)
]


def originate(pbx, channel):
    pbx.run("asterisk -rx %s" % _quote("channel originate %s application Wait 1" % channel))


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def call_file(pbx, channel):
    """A call file dropped into the outgoing spool, as cron jobs and web GUIs do."""
    name = "vgtest-%d.call" % time.monotonic_ns()
    body = "Channel: %s\\nApplication: Wait\\nData: 1\\nMaxRetries: 0\\n" % channel
    pbx.check_output("printf '%s' > /tmp/%s && chown asterisk: /tmp/%s && mv /tmp/%s %s/"
                     % (body, name, name, name, SPOOL))


PATHS = {
    # AMI/CLI Originate straight onto the trunk: no phone, no dialplan before the trunk.
    "originate-on-trunk": lambda pbx, number: originate(pbx, "PJSIP/%s@carrier" % number),
    # The same with an explicit request URI, as a Dial() string or ARI can give it.
    "originate-uri": lambda pbx, number: originate(
        pbx, "PJSIP/carrier/sip:%s@198.51.100.20:5060" % number),
    # A Local channel into the operator's own context: what a blind or attended transfer, a DTMF
    # transfer (Dial T/t), call forwarding and follow-me do after the phone's guard is passed.
    "operator-context": lambda pbx, number: originate(pbx, "Local/%s@from-internal" % number),
    # A call file in the outgoing spool.
    "call-file": lambda pbx, number: call_file(pbx, "PJSIP/%s@carrier" % number),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_path_gets_a_blocked_destination_onto_the_trunk(lab, path, unique_number):
    pbx, carrier = lab("pbx"), lab("carrier")
    assert "sip:carrier@" in pbx.check_output("asterisk -rx 'pjsip show endpoint carrier' | grep outbound_proxy")
    reset_guard_state(pbx)
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    for number in BLOCKED_FORMS:
        PATHS[path](pbx, number)
    PATHS[path](pbx, unique_number)
    PATHS[path](pbx, "112")
    time.sleep(5)

    reached = carrier_records(carrier)[recorded:]
    blocked = [r for r in reached if r["dst"] not in (unique_number, "112")]
    assert blocked == [] and cost_in_euros(blocked) == 0, blocked
    assert [r["dst"] for r in reached if r["dst"] == unique_number] == [unique_number], reached
    assert [r["dst"] for r in reached if r["dst"] == "112"] == ["112"], reached
    # Each refusal is the guard's, on the trunk leg, with a reason (and so an alert).
    refused = [line for line in log_lines_since(pbx, MESSAGES, logged) if "voipguard: blocked call" in line]
    assert len(refused) == len(BLOCKED_FORMS), refused
    assert all("endpoint=trunk-leg" in line for line in refused), refused


def transfer(phone, user, number, targets):
    """Calls `number` as `user` with SIPp, then transfers the other party by SIP REFER to each of
    `targets` in turn (lab/tools/voipguard-transfer); returns SIPp's counters."""
    result = phone.run("SIP_PASSWORD=%s voipguard-transfer %s %s %s " + " ".join(["%s"] * len(targets)),
                       sip_password(user), PBX_VOICE, user, number, *targets)
    return dict(part.split("=") for part in result.stdout.split())


def test_a_blind_transfer_by_sip_refer_gets_no_blocked_destination_onto_the_trunk(lab, unique_number):
    # A phone on a call sends REFER: Asterisk moves the other party (here the trunk-bound channel
    # of the phone's own call) into the dialplan at the transfer target, as a call of its own.
    # The first call is to 112: emergency calls count against no limit, so the calls-per-minute
    # limit of one phone cannot decide this test.
    pbx, carrier, phone = lab("pbx"), lab("carrier"), lab("admin")
    reset_guard_state(pbx)
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    counters = transfer(phone, "1003", "112", BLOCKED_FORMS + [unique_number])
    time.sleep(3)
    # A transferred call lives on until a party hangs up (the carrier holds it an hour): end them
    # all, so that the carrier writes its records.
    pbx.check_output("asterisk -rx 'channel request hangup all'")
    time.sleep(2)

    reached = carrier_records(carrier)[recorded:]
    assert int(counters["placed"]) == len(BLOCKED_FORMS) + 1, counters
    blocked = [r for r in reached if r["dst"] not in (unique_number, "112")]
    assert blocked == [] and cost_in_euros(blocked) == 0, blocked
    # The transfer path works: the national number it was given reached the carrier.
    assert [r["dst"] for r in reached if r["dst"] == unique_number] == [unique_number], reached
    refused = [line for line in log_lines_since(pbx, MESSAGES, logged) if "voipguard: blocked call" in line]
    assert len(refused) >= len(BLOCKED_FORMS), refused
