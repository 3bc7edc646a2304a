"""A number is judged by the digits that reach the trunk. A German office dials 0 for an outside line,
and its route strips it (_0X. -> ${EXTEN:1}); the run reads the digit from that route
(toll_fraud_guard_outside_line: auto): a jump to an outbound context that dials the trunk named in
[globals] (@${VGTEST_TRUNK}).
"0 0531..." is then the national call to Braunschweig it is, not one to Cuba (+53, blocked by
default), "0 00263..." the call to Zimbabwe it is, "0 112" an emergency call that no limit or
budget refuses, and "0 116117" (the medical on-call service, a toll-free short number in
libphonenumber's data) a call, not a form nobody understood. Without the digit every such string is
a form no dialing rule reads, refused as unknown-form: the office could not call out.

The office is in Braunschweig and its phones dial local numbers without the area code: a route
puts 0531 before them (FreePBX's "prepend"; here the argument of a Gosub to a subroutine that
calls another to dial the trunk), and the run reads the area code from it
(toll_fraud_guard_local_area_code: auto). "0 55..." is then the local call the carrier gets as
0531 55..., while "0 263771234567", which a carrier could read as Zimbabwe's +263 77 123 4567, is
judged as that number and refused at the phone."""
import contextlib
import re
import time
import uuid

import pytest

from conftest import carrier_records, harden, log_length, log_lines_since, place_calls

MESSAGES = "/var/log/asterisk/messages.log"
# Beside the factory's _X. route, which dials numbers as dialed: Asterisk takes the more specific
# (_0ZXXXXX. for a local number after the outside line, _0X. for the rest). As hand-written
# dialplans often do, the routes name the trunk once, in [globals]. One jumps to an outbound
# context with the number after the outside line (Goto(vgtest-outbound,${EXTEN:1},1)), which jumps
# again to the context that dials the trunk (the run follows three jumps); the other
# dials from a subroutine, the number with its area code its argument: one that sets the caller ID
# and calls another to dial (the run reads three subroutines deep). The emergency number has a
# route of its own, and the outbound context one for the medical on-call service (0 116117 jumps
# to it as 116117): numbers of their own, which tell nothing of the outside line.
ROUTE = ("\\n[globals]\\nVGTEST_TRUNK = carrier\\n"
         "\\n[from-internal]\\nexten => _0X.,1,Goto(vgtest-outbound,${EXTEN:1},1)\\n"
         "exten => 0112,1,Dial(PJSIP/112@${VGTEST_TRUNK})\\n same => n,Hangup()\\n"
         "exten => _0ZXXXXX.,1,Gosub(vgtest-dialout,s,1(0531${FILTER(0-9,${EXTEN:1})}))\\n same => n,Hangup()\\n"
         "\\n[vgtest-dialout]\\nexten => s,1,Set(CALLERID(num)=0531555)\\n"
         " same => n,Gosub(vgtest-dial-trunk,s,1(${ARG1},${VGTEST_TRUNK}))\\n same => n,Return()\\n"
         "\\n[vgtest-dial-trunk]\\nexten => s,1,Dial(PJSIP/${ARG1}@${ARG2})\\n same => n,Return()\\n"
         "\\n[vgtest-outbound]\\nexten => _X.,1,Goto(vgtest-trunk,${EXTEN},1)\\n"
         "exten => 116117,1,Dial(PJSIP/116117@${VGTEST_TRUNK})\\n same => n,Hangup()\\n"
         "\\n[vgtest-trunk]\\nexten => _X.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})}@${VGTEST_TRUNK})\\n"
         " same => n,Hangup()\\n")
SAVED = "/etc/asterisk/extensions.conf /etc/asterisk/extensions_voipguard.conf"


@contextlib.contextmanager
def operators_dialplan(pbx, saved, change, put_back="asterisk -rx 'dialplan reload'"):
    """The files ``saved`` copied aside, ``change`` run; after, the files back and ``put_back`` run."""
    where = "/root/vgtest-dialplan"
    pbx.check_output("rm -rf %s && mkdir -p %s && cp -p %s %s/" % (where, where, saved, where))
    pbx.check_output(change)
    try:
        yield pbx
    finally:
        pbx.check_output("cp -p %s/* /etc/asterisk/ && { %s; }" % (where, put_back))


def dialplan_with(pbx, text):
    """operators_dialplan with text appended to extensions.conf and the dialplan reloaded."""
    return operators_dialplan(pbx, SAVED, "printf '%s' >> /etc/asterisk/extensions.conf && "
                              "asterisk -rx 'dialplan reload'" % text)


@pytest.fixture
def outside_line_route(lab):
    """The operator's dialplan with an outside-line route; files and dialplan put back after."""
    with dialplan_with(lab("pbx"), ROUTE) as pbx:
        yield pbx


def test_the_outside_line_is_read_from_the_operators_route_and_judged_without_it(
        lab, lab_inventory, outside_line_route):
    pbx, office, carrier = outside_line_route, lab("admin"), lab("carrier")
    result = harden(lab_inventory, tags="toll_fraud_guard")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "outside line 0, local numbers in area code 531," in pbx.check_output(
        "grep '^; Policy:' /etc/asterisk/extensions_voipguard.conf")

    braunschweig = "0531" + str(uuid.uuid4().int)[:7]
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    national = place_calls(office, "1001", "0" + braunschweig, 1, hold_ms=500)
    zimbabwe = place_calls(office, "1001", "000263771234567", 1, hold_ms=500)
    emergency = place_calls(office, "1001", "0112", 1, hold_ms=500)
    helpline = place_calls(office, "1001", "0116117", 1, hold_ms=500)
    # 55 and five digits: no calling code has numbers that short (Brazil's +55 have 8 to 11).
    local = "55" + str(uuid.uuid4().int)[:5]
    local_call = place_calls(office, "1001", "0" + local, 1, hold_ms=500)
    zimbabwe_bare = place_calls(office, "1001", "0263771234567", 1, hold_ms=500)
    time.sleep(1)
    assert (national["answered"], zimbabwe["answered"], emergency["answered"], helpline["answered"],
            local_call["answered"], zimbabwe_bare["answered"]) == (1, 0, 1, 1, 1, 0)
    # The carrier saw the numbers without the outside line (the local one with its area code),
    # and nothing else.
    assert sorted(record["dst"] for record in carrier_records(carrier)[recorded:]) == sorted(
        [braunschweig, "112", "116117", "0531" + local])
    logs = log_lines_since(pbx, MESSAGES, logged)
    refused = [line for line in logs if "voipguard: blocked call endpoint=1001 dialed=000263771234567" in line]
    assert len(refused) == 1 and "reason=country" in refused[0], refused
    refused = [line for line in logs if "voipguard: blocked call endpoint=1001 dialed=0263771234567" in line]
    assert len(refused) == 1 and "reason=country" in refused[0] and "e164=263771234567" in refused[0], refused
    allowed = [line for line in logs if "voipguard: allowed call endpoint=1001 dialed=0%s" % local in line]
    assert allowed and "e164=49531%s country=DE" % local in allowed[0], allowed
    assert any("voipguard: emergency call endpoint=1001 dialed=0112" in line for line in logs), logs[-20:]


# The operator writes the phones' outbound route in AEL (extensions.ael, their own, not Debian's
# sample), in the phones' context, which Asterisk merges with extensions.conf's: no file voipguard
# parses shows the route, the running Asterisk does ('dialplan show'). The route strips an 8;
# beside the factory's _X., which dials numbers as dialed, the run reads the outside line 8 from it.
AEL_ROUTE = ("context from-internal {\\n"
             "    _8X. => Dial(PJSIP/${EXTEN:1}@carrier);\\n"
             "};\\n")
AEL_SAVED = "/etc/asterisk/extensions_voipguard.conf /etc/asterisk/extensions.ael /etc/asterisk/modules.conf"


@pytest.fixture
def ael_route(lab):
    """The operator's extensions.ael, pbx_ael loaded again by hand; everything put back after."""
    with operators_dialplan(lab("pbx"), AEL_SAVED, "printf '%s' > /etc/asterisk/extensions.ael && "
                            "sed -i '/^noload => pbx_ael.so$/d' /etc/asterisk/modules.conf && "
                            "asterisk -rx 'module load pbx_ael.so' && asterisk -rx 'dialplan reload'" % AEL_ROUTE,
                            "asterisk -rx 'module unload pbx_ael.so'; asterisk -rx 'dialplan reload'") as pbx:
        yield pbx


def test_a_route_only_the_running_dialplan_shows_gives_the_outside_line(lab, lab_inventory, ael_route):
    pbx, office, carrier = ael_route, lab("admin"), lab("carrier")
    assert re.search(r"'_8X\.' =>.*\[pbx_ael\]", pbx.check_output("asterisk -rx 'dialplan show from-internal'"))
    result = harden(lab_inventory, tags="toll_fraud_guard")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "outside line 8," in pbx.check_output("grep '^; Policy:' /etc/asterisk/extensions_voipguard.conf")
    # The operator's own extensions.ael is no sample: pbx_ael stays, with its route.
    assert re.search(r"^pbx_ael\.so\s.*\d+\s+Running\s", pbx.check_output("asterisk -rx 'module show like pbx_'"), re.M)
    braunschweig = "0531" + str(uuid.uuid4().int)[:7]
    recorded = len(carrier_records(carrier))
    national = place_calls(office, "1001", "8" + braunschweig, 1, hold_ms=500)
    zimbabwe = place_calls(office, "1001", "800263771234567", 1, hold_ms=500)
    time.sleep(1)
    assert (national["answered"], zimbabwe["answered"]) == (1, 0)
    assert [record["dst"] for record in carrier_records(carrier)[recorded:]] == [braunschweig]


# An installer's layout: the phones' context gets its outbound route from a template
# ([from-internal](vgtest-phones-tpl), whose lines config.c copies into it: no file shows them in
# from-internal, and 'dialplan show' lists them at the template's file:line), and the route calls a
# subroutine at the number itself (Gosub(vgtest-dialout,${EXTEN:1},1)), which runs at the pattern
# that number matches, its ${EXTEN} that number. Missing either, the run would read the factory's
# _X. alone, and "0 0531..." as the international number 00531... .
TEMPLATE_ROUTE = ("\\n[globals]\\nVGTEST_TRUNK = carrier\\n"
                  "\\n[vgtest-phones-tpl](!)\\nexten => _0X.,1,Gosub(vgtest-dialout,${EXTEN:1},1)\\n"
                  " same => n,Hangup()\\n"
                  "\\n[from-internal](vgtest-phones-tpl)\\n"
                  "\\n[vgtest-dialout]\\nexten => _X.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})}@${VGTEST_TRUNK})\\n"
                  " same => n,Return()\\n")


@pytest.fixture
def template_route(lab):
    """The operator's dialplan with the template's route; files and dialplan put back after."""
    with dialplan_with(lab("pbx"), TEMPLATE_ROUTE) as pbx:
        yield pbx


def test_a_route_a_template_gives_the_phones_through_a_gosub_to_the_number_gives_the_outside_line(
        lab, lab_inventory, template_route):
    pbx, office, carrier = template_route, lab("admin"), lab("carrier")
    # Asterisk runs the template's line in the phones' context, and no context of the template.
    assert re.search(r"'_0X\.' =>\s+1\. Gosub\(vgtest-dialout", pbx.check_output(
        "asterisk -rx 'dialplan show from-internal'"))
    assert "vgtest-phones-tpl" not in pbx.check_output("asterisk -rx 'dialplan show'")
    result = harden(lab_inventory, tags="toll_fraud_guard")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "outside line 0," in pbx.check_output("grep '^; Policy:' /etc/asterisk/extensions_voipguard.conf")
    braunschweig = "0531" + str(uuid.uuid4().int)[:7]
    recorded = len(carrier_records(carrier))
    national = place_calls(office, "1001", "0" + braunschweig, 1, hold_ms=500)
    zimbabwe = place_calls(office, "1001", "000263771234567", 1, hold_ms=500)
    time.sleep(1)
    assert (national["answered"], zimbabwe["answered"]) == (1, 0)
    # The subroutine dialed the number without the outside line: Asterisk ran it as it is read.
    assert [record["dst"] for record in carrier_records(carrier)[recorded:]] == [braunschweig]
