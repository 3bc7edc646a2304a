"""module_utils/sip_options_probe.py and library/asterisk_options_probe.py: whether a running Asterisk's
SIP OPTIONS to an endpoint are answered, read from res_pjsip_history. The CLI answers are the lab's
Asterisk 22 (the boundary instance qualifying the carrier, captured 2026-12-04); the lab runs the real
probe (tests/lab/test_trunk_boundary_instance.py, a carrier whose answers do not come back)."""
import asterisk_options_probe
from ansible.module_utils import sip_options_probe

SUMMARY_HEAD = (
    "No.   Timestamp  (Dir) Address                  SIP Message                        \n"
    "===== ========== ============================== ===================================\n")
SENT = "00000 1796353781 * ==> 198.51.100.20:5060       OPTIONS sip:198.51.100.20:5060 SIP/2.0\n"
ANSWER = "00001 1796353781 * <== 198.51.100.20:5060       SIP/2.0 200 OK\n"

ENTRY_SENT = """<--- History Entry 0 Sent to 198.51.100.20:5060 at 1796353888 --->
OPTIONS sip:198.51.100.20:5060 SIP/2.0
Via: SIP/2.0/UDP 198.51.100.10:5070;rport;branch=z9hG4bKPj3b50387f-ed49-4395-bf1f-c0dcafcdbce4
From: <sip:carrier@198.51.100.10>;tag=0d5494de-395a-46ca-8d27-46a71cab3682
To: <sip:198.51.100.20>
Contact: <sip:carrier@198.51.100.10:5070>
Call-ID: a7621ec3-44c5-47d3-914d-93eac1829902
CSeq: 45031 OPTIONS
Max-Forwards: 70
User-Agent: Asterisk PBX 22.10.1+dfsg+~cs6.17.60671434-1
Content-Length:  0

"""


def entry_answer(call_id="a7621ec3-44c5-47d3-914d-93eac1829902", method="OPTIONS", status="200 OK", number=1):
    return """<--- History Entry %d Received from 198.51.100.20:5060 at 1796353810 --->
SIP/2.0 %s
Via: SIP/2.0/UDP 198.51.100.10:5070;rport=5070;received=198.51.100.10;branch=z9hG4bKPj7beed9c9
Call-ID: %s
From: <sip:carrier@198.51.100.10>;tag=89723865-625a-467f-afab-f8d0e0a745ee
To: <sip:198.51.100.20>;tag=z9hG4bKPj7beed9c9-e014-455e-a3d4-aeae70a8f38d
CSeq: 10232 %s
Server: Asterisk PBX 22.10.1+dfsg+~cs6.17.60671434-1
Content-Length:  0

""" % (number, status, call_id, method)


class FakeAsterisk:
    """The CLI of an Asterisk whose history shows ``summaries`` one after the other (the last one
    stays), with ``entries`` by number; records every command, and whether history is on."""

    def __init__(self, summaries, entries, qualify="Qualifying AOR 'carrier' on endpoint 'carrier'\n"):
        self.summaries, self.entries, self.qualify = list(summaries), entries, qualify
        self.commands, self.history_on = [], False

    def __call__(self, command):
        self.commands.append(command)
        if command == "pjsip set history on":
            self.history_on = True
            return "PJSIP History enabled\n"
        if command == "pjsip set history off":
            self.history_on = False
            return "PJSIP History disabled\n"
        if command == "pjsip set history clear":
            return "PJSIP History cleared\n"
        if command.startswith("pjsip qualify "):
            return self.qualify
        if command == "pjsip show history":
            return SUMMARY_HEAD + (self.summaries.pop(0) if len(self.summaries) > 1 else self.summaries[0])
        if command.startswith("pjsip show history entry "):
            number = int(command.rsplit(" ", 1)[1])
            return self.entries.get(number, "Entry '%d' does not exist\n" % number)
        raise AssertionError("unexpected command %r" % command)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run_probe(asterisk, timeout=5.0):
    clock = Clock()
    result = sip_options_probe.probe(asterisk, "carrier", timeout=timeout, sleep=clock.sleep, clock=clock)
    return result, clock.now


def test_the_summary_and_an_entry_are_read_as_asterisk_22_prints_them():
    assert sip_options_probe.parse_history(SUMMARY_HEAD + SENT + ANSWER) == [
        (0, True, "OPTIONS sip:198.51.100.20:5060 SIP/2.0"), (1, False, "SIP/2.0 200 OK")]
    assert sip_options_probe.parse_entry(ENTRY_SENT) == {
        "sent": True, "address": "198.51.100.20:5060", "first_line": "OPTIONS sip:198.51.100.20:5060 SIP/2.0",
        "call_id": "a7621ec3-44c5-47d3-914d-93eac1829902", "method": "OPTIONS"}
    assert sip_options_probe.parse_entry("Entry '7' does not exist\n") is None


def test_an_answered_options_is_proof_and_the_history_is_switched_off_again():
    asterisk = FakeAsterisk([SENT + ANSWER], {0: ENTRY_SENT, 1: entry_answer()})
    result, waited = run_probe(asterisk)
    assert result == {"answered": {"198.51.100.20:5060": "SIP/2.0 200 OK"}, "unanswered": [], "error": None}
    assert waited == 0  # answered at the first look: no waiting
    assert sip_options_probe.unanswered_reason(result, 5.0) is None
    assert not asterisk.history_on and asterisk.commands[-1] == "pjsip set history clear"


def test_any_response_counts_a_challenge_too():
    asterisk = FakeAsterisk([SENT + ANSWER], {0: ENTRY_SENT, 1: entry_answer(status="401 Unauthorized")})
    assert run_probe(asterisk)[0]["answered"] == {"198.51.100.20:5060": "SIP/2.0 401 Unauthorized"}


def test_an_answer_that_comes_later_is_waited_for():
    asterisk = FakeAsterisk([SENT, SENT, SENT + ANSWER], {0: ENTRY_SENT, 1: entry_answer()})
    result, waited = run_probe(asterisk)
    assert result["answered"] and not result["unanswered"]
    assert 0 < waited < 1


def test_no_answer_within_the_timeout_names_the_address_and_the_history_is_off_again():
    asterisk = FakeAsterisk([SENT], {0: ENTRY_SENT})
    result, waited = run_probe(asterisk, timeout=3.0)
    assert result == {"answered": {}, "unanswered": ["198.51.100.20:5060"], "error": None}
    assert waited >= 3.0
    assert sip_options_probe.unanswered_reason(result, 3.0) == "no answer within 3 s from 198.51.100.20:5060"
    assert not asterisk.history_on


def test_a_response_to_another_request_from_the_same_address_is_no_answer():
    """A call's 200 OK from the carrier, in the instance's history at the same moment, proves nothing."""
    other_call = entry_answer(call_id="another-call", method="INVITE")
    result, _ = run_probe(FakeAsterisk([SENT + ANSWER], {0: ENTRY_SENT, 1: other_call}), timeout=1.0)
    assert result["unanswered"] == ["198.51.100.20:5060"]
    same_call_other_method = entry_answer(method="INVITE")
    result, _ = run_probe(FakeAsterisk([SENT + ANSWER], {0: ENTRY_SENT, 1: same_call_other_method}), timeout=1.0)
    assert result["unanswered"] == ["198.51.100.20:5060"]


def test_an_endpoint_with_nothing_to_send_to_is_not_proven():
    result, _ = run_probe(FakeAsterisk([""], {}), timeout=1.0)
    assert sip_options_probe.unanswered_reason(result, 1.0) == (
        "no OPTIONS was sent: the endpoint's aors have no contact")
    unknown = FakeAsterisk([""], {}, qualify="Unable to retrieve endpoint carrier\n")
    result, waited = run_probe(unknown)
    assert sip_options_probe.unanswered_reason(result, 5.0) == "Unable to retrieve endpoint carrier"
    assert waited == 0 and not unknown.history_on


def test_an_asterisk_that_does_not_answer_is_not_proof():
    result = sip_options_probe.probe(lambda command: None, "carrier", sleep=None, clock=None)
    assert sip_options_probe.unanswered_reason(result, 5.0) == "Asterisk did not answer on its CLI"


def test_the_module_names_each_endpoint_without_an_answer():
    answered_cli = FakeAsterisk([SENT + ANSWER], {0: ENTRY_SENT, 1: entry_answer()})
    assert asterisk_options_probe.probe_all(answered_cli, ["carrier"], 5.0) == (
        {"carrier": {"198.51.100.20:5060": "SIP/2.0 200 OK"}}, {})
    silent = FakeAsterisk([SENT], {0: ENTRY_SENT})
    answered, unanswered = asterisk_options_probe.probe_all(silent, ["carrier"], 0.0)
    assert answered == {"carrier": {}}
    assert unanswered == {"carrier": "no answer within 0 s from 198.51.100.20:5060"}
