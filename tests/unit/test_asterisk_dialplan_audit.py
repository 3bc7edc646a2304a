"""module_utils/dialplan_audit.py (library/asterisk_dialplan_audit.py's judgement) on a dialplan with each mistake and its safe twin."""
from pathlib import Path

import pytest

from ansible.module_utils.asterisk_conf import load, parse
from ansible.module_utils.dialplan_audit import (
    applications_run, audit, conditional_branches, context_includes, dialplan_globals, extension_matches,
    gosub_call, infer_outside_line, jump_shape, local_area_code_prefixes, local_channels, onward_contexts,
    outside_line_read_as_dialed_too, parse_dialplan, pattern_tokens, patterns_meet, phone_switches, split_args,
    substring, trunk_routes, unfiltered_exten, with_extension)

FIXTURES = Path(__file__).parent / "fixtures" / "dialplan_audit"
FACTORY = Path(__file__).resolve().parents[2] / "lab" / "factory" / "pbx" / "asterisk"


def rules_by_line(findings):
    return sorted((f["line"], f["rule"]) for f in findings)


def test_fixture_findings_authenticated_internal():
    findings, contexts, unauth = audit(load(str(FIXTURES / "extensions.conf")),
                                       trunk_endpoints=["carrier"])
    assert contexts == ["default", "public-extra", "from-internal", "demo"]
    assert unauth == ["default", "public-extra"]
    assert rules_by_line(findings) == [
        (12, "DP001"), (12, "DP004"), (16, "DP001"), (22, "DP002"), (23, "DP002"),
        (25, "DP002"), (28, "DP003")]
    dp004 = [f for f in findings if f["rule"] == "DP004"][0]
    assert dp004["context"] == "public-extra" and dp004["extension"] == "_00X."
    assert dp004["file"].endswith("extensions.conf")
    assert "Dial(PJSIP/${EXTEN}@carrier)" in dp004["text"]


def test_unauthenticated_context_adds_toll_routes():
    findings, _, _ = audit(load(str(FIXTURES / "extensions.conf")),
                           unauthenticated_contexts=["from-internal"], trunk_endpoints=["carrier"])
    toll = [f["line"] for f in findings if f["rule"] == "DP004"]
    assert toll == [12, 16, 18, 20]


def test_without_trunk_list_any_peer_dial_is_a_trunk():
    findings, _, _ = audit(load(str(FIXTURES / "extensions.conf")),
                           unauthenticated_contexts=["from-internal"])
    assert [f["line"] for f in findings if f["rule"] == "DP004"] == [12, 16, 18, 20]


@pytest.mark.skipif(not (FACTORY / "extensions.conf").exists(), reason="lab factory not present")
def test_factory_incident_route():
    findings, _, _ = audit(load(str(FACTORY / "extensions.conf")),
                           unauthenticated_contexts=["from-internal", "from-carrier"],
                           trunk_endpoints=["carrier"])
    assert sorted({f["rule"] for f in findings}) == ["DP001", "DP003", "DP004"]
    assert not any(f["extension"] == "_1XXX" for f in findings)


def test_never_changes_the_file():
    path = FIXTURES / "extensions.conf"
    before = path.read_bytes()
    audit(load(str(path)))
    assert path.read_bytes() == before


def test_helpers():
    assert split_args("a,${X(b,c)},$[1,2],d") == ["a", "${X(b,c)}", "$[1,2]", "d"]
    assert split_args("$[a?b]?c?d", "?", 1) == ["$[a?b]", "c?d"]
    assert unfiltered_exten("PJSIP/${EXTEN}@x")
    assert unfiltered_exten("PJSIP/${EXTEN:1}@x")
    assert not unfiltered_exten("PJSIP/${FILTER(0-9,${EXTEN})}@x")
    assert not unfiltered_exten("PJSIP/${EXTENSION_VAR}@x")


def test_same_context_twice_and_dial_without_parens():
    config = parse("[default]\nexten => _X.,1,Dial(SIP/${EXTEN}@itsp)\n[default]\n"
                   "exten => s,1,Hangup\n")
    findings, contexts, _ = audit([config])
    assert contexts == ["default"]
    assert [f["rule"] for f in findings] == ["DP001", "DP004"]


# -- the outside-line digit, read from the routes to the trunk -------------------------------

def outside_line(text, contexts=("from-internal",), trunks=("carrier",)):
    configs = [parse(text, "/etc/asterisk/extensions.conf")]
    return infer_outside_line(trunk_routes(configs, contexts, trunks), contexts)


@pytest.mark.parametrize("route, digits", [
    ("exten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)", "9"),
    ("exten => _0.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN:1})}@carrier,60)", "0"),
    ("exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)", ""),
    ("exten => _00.,1,Dial(PJSIP/carrier/sip:${EXTEN:2}@198.51.100.20)", "00"),
])
def test_the_outside_line_is_read_from_the_route_that_strips_it(route, digits):
    assert outside_line("[from-internal]\nexten => _1XXX,1,Dial(PJSIP/${EXTEN})\n" + route + "\n") == (digits, None)


# FreePBX 17's outbound route, as core writes it (lab/factory/freepbx/asterisk/extensions_additional.conf).
FREEPBX_ROUTE = ("[globals]\nOUT_1 = PJSIP\nOUT_1_SUFFIX = @carrier\nOUT_2 = PJSIP\nOUT_2_SUFFIX = @other\n"
                 "[from-internal]\ninclude => outbound-allroutes\n[outbound-allroutes]\ninclude => outrt-1\n"
                 "[outrt-1]\nexten => %s,1,Gosub(macro-user-callerid,s,1(LIMIT,EXTERNAL))\n"
                 "exten => %s,n,Gosub(macro-dialout-trunk,s,1(%s,%s,,off))\n")


@pytest.mark.parametrize("pattern, trunk_id, number, expected", [
    ("_00.", "1", "${EXTEN}", ("", None)),
    ("_9.", "1", "${EXTEN:1}", ("9", None)),
    # A route to a trunk voipguard does not guard is no route to this trunk.
    ("_9.", "2", "${EXTEN:1}", (None, "no Dial() to a trunk is seen")),
])
def test_freepbx_routes_dial_the_trunk_through_its_dialout_subroutine(pattern, trunk_id, number, expected):
    digits, why = outside_line(FREEPBX_ROUTE % (pattern, pattern, trunk_id, number))
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why)


@pytest.mark.parametrize("text, prefixes", [
    # Digits a route puts before the number: the area code of local numbers, FreePBX's prepend.
    ("[from-internal]\nexten => _0ZXXXXX.,1,Dial(PJSIP/0531${FILTER(0-9,${EXTEN:1})}@carrier)\n"
     "exten => _0X.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN:1})}@carrier)\n",
     {"0531": ["[from-internal] _0ZXXXXX. (/etc/asterisk/extensions.conf:2)"]}),
    (FREEPBX_ROUTE % ("_NXXXXXX", "_NXXXXXX", "1", "1212${EXTEN}"),
     {"1212": ["[outrt-1] _NXXXXXX (/etc/asterisk/extensions.conf:12)"]}),
    ("[from-internal]\nexten => _X.,1,Dial(PJSIP/+49${EXTEN}@carrier)\n", {"+49": ["[from-internal] _X. (/etc/asterisk/extensions.conf:2)"]}),
    ("[from-internal]\nexten => _ZXXXXX,1,Dial(PJSIP/carrier/sip:0531${EXTEN}@198.51.100.20)\n",
     {"0531": ["[from-internal] _ZXXXXX (/etc/asterisk/extensions.conf:2)"]}),
    # Nothing before the number, or a number that is not ${EXTEN}: nothing to read.
    ("[from-internal]\nexten => _X.,1,Dial(PJSIP/${FILTER(0-9,${EXTEN})}@carrier)\n", {}),
    ("[from-internal]\nexten => _X.,1,Dial(PJSIP/0531${n}@carrier)\n", {}),
])
def test_the_digits_a_route_puts_before_the_number_are_read(text, prefixes):
    configs = [parse(text, "/etc/asterisk/extensions.conf")]
    assert local_area_code_prefixes(trunk_routes(configs, ["from-internal"], ["carrier"])) == prefixes


def test_routes_in_an_included_context_count_and_both_forms_agree():
    text = ("[from-internal]\ninclude => outbound\n"
            "[outbound]\nexten => _9.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
            "exten => _+X.,1,Dial(PJSIP/${EXTEN}@carrier)\n")
    assert outside_line(text) == ("9", None)


@pytest.mark.parametrize("include", [
    "include => intl|08:00-18:00|mon-fri|*|*",  # the timed include's older form, '|' for ','
    "include => intl,08:00-18:00,mon-fri,*,*",
    "include => ${INTL}",  # pbx_config.c substitutes [globals] in an include
])
def test_a_timed_or_substituted_include_is_followed(include):
    text = ("[globals]\nINTL = intl\n[from-internal]\n%s\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
            "[intl]\nexten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n" % include)
    digits, unclear = outside_line(text)
    assert digits is None and "routes drop different outside-line digits: 0, 9" in unclear


def test_a_context_runs_the_lines_of_the_templates_it_inherits_and_a_template_is_no_context():
    # config.c copies a template's lines into the category that inherits it, first; pbx_config.c
    # makes no context of the template itself.
    text = ("[outbound-tpl](!)\nexten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
            "[intl-tpl](!,outbound-tpl)\nexten => _00X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"
            "[from-internal](outbound-tpl)\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
            "[from-carrier](intl-tpl)\nexten => 5000,1,Dial(PJSIP/1001)\n")
    digits, unclear = outside_line(text)
    assert digits is None and "routes drop different outside-line digits: 0, 9" in unclear
    routes = trunk_routes([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"], ["carrier"])
    # The template's line is where the operator would look.
    assert [(r["context"], r["pattern"], r["line"]) for r in routes] == [
        ("from-internal", "_0X.", 2), ("from-internal", "_9X.", 6)]
    findings, contexts, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], ["from-carrier"], ["carrier"])
    assert contexts == ["from-internal", "from-carrier"]
    # The open context dials the trunk with the lines of both templates (its template's template's
    # first); each template line is found in each context that inherits it, none in a template.
    assert [(f["rule"], f["context"], f["line"]) for f in findings if f["rule"] in ("DP001", "DP004")] == [
        ("DP001", "from-internal", 2), ("DP001", "from-internal", 6), ("DP001", "from-carrier", 2),
        ("DP004", "from-carrier", 2), ("DP001", "from-carrier", 4), ("DP004", "from-carrier", 4)]


@pytest.mark.parametrize("routes, trunk_boundary, both", [
    # A route that strips 0 beside one that dials the number as dialed: which one a number takes
    # is Asterisk's choice, so without the trunk leg the phone's check reads it both ways.
    ("exten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => _00X.,1,Dial(PJSIP/${EXTEN}@carrier)", False, True),
    ("exten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => _00X.,1,Dial(PJSIP/${EXTEN}@carrier)", True, False),
    ("exten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)", False, False),
    ("exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)", False, False),
])
def test_only_routes_that_strip_some_numbers_and_not_others_read_both_ways(routes, trunk_boundary, both):
    configs = [parse("[from-internal]\n%s\n" % routes, "/etc/asterisk/extensions.conf")]
    found = trunk_routes(configs, ["from-internal"], ["carrier"])
    assert outside_line_read_as_dialed_too(found, trunk_boundary) is both


@pytest.mark.parametrize("route, why", [
    ("exten => _[89]X.,1,Dial(PJSIP/${EXTEN:1}@carrier)", "drops 1 digit(s) the pattern does not fix"),
    ("exten => _9X.,1,Set(n=${EXTEN:1})\n same => n,Dial(PJSIP/${n}@carrier)", "dials a number that is not ${EXTEN}"),
    ("exten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)",
     "routes drop different outside-line digits: 0, 9"),
    ("exten => _9X.,1,Gosub(dialout,s,1(${EXTEN:1}))", "no Dial() to a trunk is seen from [from-internal]"),
])
def test_a_dialplan_that_does_not_show_the_outside_line_says_where(route, why):
    digits, unclear = outside_line("[from-internal]\n" + route + "\n")
    assert digits is None and why in unclear
    if "pattern" in why or "not ${EXTEN}" in why:
        assert "[from-internal]" in unclear and "extensions.conf:" in unclear


def test_routes_of_other_contexts_are_not_the_phones_routes():
    text = ("[from-internal]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"
            "[from-carrier]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n")
    assert outside_line(text) == ("", None)


@pytest.mark.parametrize("other", ["PJSIP/${EXTEN:1}@carrier-fax", "PJSIP/carrier.example/sip:${EXTEN:1}@carrier",
                                   "PJSIP/pbx2/sip:${EXTEN:1}@carrier.example.net", "SIP/${EXTEN:1}@carrier2"])
def test_an_endpoint_whose_name_only_starts_as_the_trunks_is_no_route_to_it(other):
    # chan_pjsip's request(): the endpoint is the first field's, after its first '@'.
    text = ("[from-internal]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"
            "exten => _9X.,1,Dial(%s)\n" % other)
    assert outside_line(text) == ("", None)


def test_each_target_of_a_dial_is_read_as_the_number_its_own_channel_gets():
    # A recorder called beside the carrier: the carrier gets ${EXTEN:1}, the outside line is 9.
    text = "[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN}@call-recorder&PJSIP/${EXTEN:1}@carrier)\n"
    assert outside_line(text) == ("9", None)
    # Two trunks in one Dial(), each a route of its own.
    text = "[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier&PJSIP/${EXTEN}@backup)\n"
    configs = [parse(text, "/etc/asterisk/extensions.conf")]
    routes = trunk_routes(configs, ["from-internal"], ["carrier", "backup"])
    assert [route["strip"] for route in routes] == [1, 0]


def test_the_module_reads_the_phones_contexts_from_the_pjsip_sections(tmp_path):
    """What the role passes: asterisk_config_info's sections, not contexts it picked itself. A
    phone an earlier run guarded counts by the operator's context behind its guard; a trunk, an
    exempt endpoint and voipguard's own endpoints are no phones."""
    import asterisk_dialplan_audit  # pylint: disable=import-outside-toplevel
    from tests import module_runner  # pylint: disable=import-outside-toplevel

    extensions = tmp_path / "extensions.conf"
    extensions.write_text("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
                          "[lobby]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n")

    def endpoint(name, context):
        return {"name": name, "type": "endpoint", "is_template": False, "is_addition": False,
                "file": str(tmp_path / "pjsip.conf"), "effective": {"context": [context]}}

    sections = [endpoint("1001", "voipguard-guard-from-internal"), endpoint("carrier", "from-carrier"),
                endpoint("lobby-phone", "lobby"), endpoint("voipguard-egress", "voipguard-egress")]
    result = module_runner.run_module(asterisk_dialplan_audit, dict(
        path=str(extensions), pjsip_sections=sections, trunk_endpoints=["carrier"],
        exempt_endpoints=["lobby-phone"], warn=False))
    assert result["outside_line"]["digits"] == "9", result["outside_line"]
    assert [route["context"] for route in result["outside_line"]["routes"]] == ["from-internal"]
    # Not exempt, the lobby phone is a phone: its route is read too.
    result = module_runner.run_module(asterisk_dialplan_audit, dict(
        path=str(extensions), pjsip_sections=sections, trunk_endpoints=["carrier"], warn=False))
    assert [route["context"] for route in result["outside_line"]["routes"]] == ["from-internal", "lobby"]
    assert result["unloopable_trunks"] == []
    # The trunk's endpoint mistyped in voipguard_trunks (lab: the run asked for the outside-line
    # digit instead): named, with the endpoint the typo most likely meant.
    result = module_runner.run_module(asterisk_dialplan_audit, dict(
        path=str(extensions), pjsip_sections=sections, trunk_endpoints=["carier"], warn=False))
    assert result["unloopable_trunks"] == [
        "trunk endpoint carier is not defined in pjsip.conf, its includes or pjsip_wizard.conf; did you mean carrier?"]
    assert result["undefined_trunks"] == [
        "trunk endpoint carier is not defined in pjsip.conf, its includes or pjsip_wizard.conf; did you mean carrier?"]
    assert result["undefined_exempt_endpoints"] == []
    # An exemption mistyped (a letter O for a zero) exempts nothing: named, with the phone it meant.
    result = module_runner.run_module(asterisk_dialplan_audit, dict(
        path=str(extensions), pjsip_sections=sections, trunk_endpoints=["carrier"], exempt_endpoints=["1O01"],
        warn=False))
    assert result["undefined_exempt_endpoints"] == [
        "1O01 is not defined in pjsip.conf, its includes or pjsip_wizard.conf; did you mean 1001?"]


# Hand-written dialplans name the trunk (or the area code) once, in [globals]: Asterisk
# substitutes it when Dial() runs, and so does the reading.
@pytest.mark.parametrize("globals_, dial, digits", [
    ("TRUNK = carrier", "PJSIP/${EXTEN:1}@${TRUNK}", "9"),
    ("TRUNK = ${MAIN}\nMAIN = carrier", "PJSIP/${EXTEN:1}@${TRUNK}", "9"),
    ("CARRIER = PJSIP/carrier", "${CARRIER}/sip:${EXTEN:1}@198.51.100.20", "9"),
])
def test_a_trunk_named_in_globals_is_a_route_to_it(globals_, dial, digits):
    assert outside_line("[globals]\n%s\n[from-internal]\nexten => _9X.,1,Dial(%s)\n" % (globals_, dial)) == (
        digits, None)


def test_every_globals_section_of_the_files_is_read_in_turn_unless_the_running_ones_are():
    # pbx_config.c sets the variables of each [globals] category one after another.
    text = ("[globals]\nTRUNK = other\n[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@${TRUNK})\n"
            "exten => _0X.,1,Dial(PJSIP/${EXTEN:1}@${INTL})\n[globals]\nTRUNK = carrier\nINTL = carrier\n")
    assert dialplan_globals([parse(text, "/etc/asterisk/extensions.conf")]) == {
        "trunk": ["other", "carrier"], "intl": ["carrier"]}
    digits, unclear = outside_line(text)
    assert digits is None and "routes drop different outside-line digits: 0, 9" in unclear
    # The running Asterisk's [globals] ('dialplan show globals') are what it substitutes.
    running = parse("[globals]\nTRUNK = carrier\n", "asterisk -rx 'dialplan show globals'")
    running.running = True
    assert dialplan_globals([running, parse(text, "/etc/asterisk/extensions.conf")]) == {"trunk": ["carrier"]}


@pytest.mark.parametrize("globals_", ["TRUNK = other", "", "EXTEN = carrier"])
def test_a_global_naming_another_trunk_or_none_is_no_route_to_it(globals_):
    digits, why = outside_line("[globals]\n%s\n[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@${TRUNK})\n"
                               "exten => _8X.,1,Dial(PJSIP/${EXTEN:1}@${EXTEN})\n" % globals_)
    assert digits is None and "no Dial() to a trunk is seen" in why


def test_the_area_code_a_global_puts_before_the_number_is_read():
    text = ("[globals]\nAREA = 0531\n[from-internal]\n"
            "exten => _0ZXXXXX.,1,Dial(PJSIP/${AREA}${FILTER(0-9,${EXTEN:1})}@carrier)\n")
    configs = [parse(text, "/etc/asterisk/extensions.conf")]
    assert local_area_code_prefixes(trunk_routes(configs, ["from-internal"], ["carrier"])) == {
        "0531": ["[from-internal] _0ZXXXXX. (/etc/asterisk/extensions.conf:4)"]}


def test_an_open_context_dialing_a_trunk_named_in_globals_is_toll_fraud():
    text = "[globals]\nTRUNK = carrier\n[default]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@${TRUNK})\n"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == [("DP004", 4)]


# Hand-written dialplans dial the trunk from a subroutine: the route is the Gosub, its number the
# argument the subroutine dials.
SUBROUTINE = "[sub-out]\nexten => s,1,Set(CALLERID(num)=0531123)\n same => n,Dial(%s)\n same => n,Return()\n"


@pytest.mark.parametrize("args, target, arguments", [
    ("sub-out,s,1(${EXTEN:1},carrier)", ("sub-out", "s"), ["${EXTEN:1}", "carrier"]),
    (" macro-dialout-trunk , s , 1 (1,${EXTEN},,off-net)", ("macro-dialout-trunk", "s"),
     ["1", "${EXTEN}", "", "off-net"]),
    ("dialout,1(${FILTER(0-9,${EXTEN})})", ("from-internal", "dialout"), ["${FILTER(0-9,${EXTEN})}"]),
    # The context in lower case, the extension as written (subroutine_key lowers it for lookups).
    ("Sub-Out,S,1", ("sub-out", "S"), []),
    ("dial-out,${EXTEN:1},1", ("dial-out", "${EXTEN:1}"), []),
    ("1(${EXTEN})", None, ["${EXTEN}"]),
])
def test_a_gosub_is_read_once_as_its_subroutine_and_arguments(args, target, arguments):
    assert gosub_call(args, "From-Internal") == (target, arguments)


@pytest.mark.parametrize("gosub, dial, digits", [
    ("Gosub(sub-out,s,1(${EXTEN:1}))", "PJSIP/${ARG1}@carrier", "9"),
    ("Gosub(sub-out,s,1(${EXTEN:1},carrier))", "PJSIP/${ARG1}@${ARG2},60", "9"),
    ("Gosub(sub-out,s,1(${EXTEN}))", "PJSIP/${ARG1}@carrier", ""),
    ("GoSub(SUB-OUT,s,1(${FILTER(0-9,${EXTEN:1})}))", "PJSIP/${ARG1}@carrier", "9"),
])
def test_a_subroutine_that_dials_the_trunk_is_a_route_read_with_its_callers_arguments(gosub, dial, digits):
    text = "[from-internal]\nexten => _9X.,1,%s\n" % gosub + SUBROUTINE % dial
    assert outside_line(text) == (digits, None)


@pytest.mark.parametrize("gosub, dial, why", [
    # In the subroutine ${EXTEN} is "s", not the number the phone dialed.
    ("Gosub(sub-out,s,1(${EXTEN:1}))", "PJSIP/${EXTEN}@carrier", "dials a number that is not ${EXTEN}"),
    ("Gosub(sub-out,s,1(${EXTEN:1}))", "PJSIP/${ARG1}@other", "no Dial() to a trunk is seen"),
    ("Gosub(1(${EXTEN:1}))", "PJSIP/${ARG1}@carrier", "no Dial() to a trunk is seen"),
])
def test_a_subroutine_that_does_not_show_the_number_or_the_trunk_is_not_read_as_one(gosub, dial, why):
    text = "[from-internal]\nexten => _9X.,1,%s\n" % gosub + SUBROUTINE % dial
    digits, unclear = outside_line(text)
    assert digits is None and why in unclear


# A Gosub to the dialed number itself: the subroutine runs at the pattern that number matches, its
# ${EXTEN} that number (app_stack.c jumps there as a Goto does), its ${ARGn} the call's arguments.
DIAL_OUT = "[dial-out]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@%s)\n same => n,Return()\n"


@pytest.mark.parametrize("route, dial_out, digits", [
    ("exten => _9X.,1,Gosub(dial-out,${EXTEN:1},1)", DIAL_OUT % "carrier", "9"),
    ("exten => _9X.,1,Gosub(dial-out,${EXTEN:1},1(carrier))", DIAL_OUT % "${ARG1}", "9"),
    ("exten => _9X.,1,Gosub(dial-out,${EXTEN},1)", DIAL_OUT % "carrier", ""),
    # The pattern in a context the subroutine's context includes.
    ("exten => _9X.,1,Gosub(dial-out,${EXTEN:1},1)", "[dial-out]\ninclude => trunks\n[trunks]\n"
     "exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n", "9"),
    # 0531 before the number: a route that puts the area code first, read as such.
    ("exten => _9X.,1,Gosub(dial-out,0531${EXTEN:1},1)", DIAL_OUT % "carrier", "9"),
])
def test_a_gosub_to_the_dialed_number_is_a_route_read_where_it_lands(route, dial_out, digits):
    assert outside_line("[from-internal]\n%s\n%s" % (route, dial_out)) == (digits, None)


def test_a_gosub_to_the_dialed_number_beside_another_route_leaves_the_outside_line_unclear():
    text = ("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
            "exten => _0X.,1,Gosub(dial-out,${EXTEN:1},1)\n" + DIAL_OUT % "carrier")
    digits, unclear = outside_line(text)
    assert digits is None and "routes drop different outside-line digits: 0, 9" in unclear
    # From an open context, the same subroutine is toll fraud.
    text = "[from-carrier]\nexten => _X.,1,Gosub(dial-out,${EXTEN},1)\n" + DIAL_OUT % "carrier"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], ["from-carrier"], ["carrier"])
    assert [(f["rule"], f["context"]) for f in findings if f["rule"] == "DP004"] == [("DP004", "from-carrier")]


def test_a_subroutine_in_the_phones_own_context_is_read_through_its_callers_only():
    text = ("[globals]\nAREA = 0531\n[from-internal]\nexten => _0ZXXXXX.,1,Gosub(dialout,1(${AREA}${EXTEN:1}))\n"
            "exten => _0X.,1,Gosub(dialout,1(${EXTEN:1}))\nexten => dialout,1,Dial(PJSIP/${ARG1}@carrier)\n")
    routes = trunk_routes([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"], ["carrier"])
    assert [(r["pattern"], r["strip"], r["prepend"], r["line"]) for r in routes] == [
        ("_0ZXXXXX.", 1, "0531", 4), ("_0X.", 1, "", 5)]
    assert infer_outside_line(routes, ["from-internal"]) == ("0", None)


# A subroutine that calls another to dial (sub-out sets the caller ID, sub-dial dials): followed
# with each level's arguments, three subroutines deep.
NESTED = "[sub-out]\nexten => s,1,Gosub(sub-dial,s,1(${ARG1},carrier))\n same => n,Return()\n" \
         "[sub-dial]\nexten => s,1,Dial(%s)\n same => n,Return()\n"


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,Gosub(sub-out,s,1(${EXTEN:1}))\n" + NESTED % "PJSIP/${ARG1}@${ARG2}",
     ("9", None)),
    ("[from-internal]\nexten => _X.,1,Gosub(sub-out,s,1(${EXTEN}))\n" + NESTED % "PJSIP/${ARG1}@${ARG2}",
     ("", None)),
    # The inner subroutine's own ${EXTEN} is "s".
    ("[from-internal]\nexten => _9X.,1,Gosub(sub-out,s,1(${EXTEN:1}))\n" + NESTED % "PJSIP/${EXTEN}@${ARG2}",
     (None, "dials a number that is not ${EXTEN}")),
    # A subroutine that calls itself ends at the depth, dialing nothing.
    ("[from-internal]\nexten => _9X.,1,Gosub(sub-out,s,1(${EXTEN:1}))\n"
     "[sub-out]\nexten => s,1,Gosub(sub-out,s,1(${ARG1}))\n", (None, "no Dial() to a trunk is seen")),
    # Four subroutines deep is past the depth: the run asks rather than guess.
    ("[from-internal]\nexten => _9X.,1,Gosub(a,s,1(${EXTEN:1}))\n[a]\nexten => s,1,Gosub(b,s,1(${ARG1}))\n"
     "[b]\nexten => s,1,Gosub(c,s,1(${ARG1}))\n[c]\nexten => s,1,Gosub(d,s,1(${ARG1}))\n"
     "[d]\nexten => s,1,Dial(PJSIP/${ARG1}@carrier)\n", (None, "no Dial() to a trunk is seen")),
    # Both in the phones' own context: read through the caller only.
    ("[from-internal]\nexten => _9X.,1,Gosub(dialout,1(${EXTEN:1}))\n"
     "exten => dialout,1,Gosub(dialtrunk,1(${ARG1}))\nexten => dialtrunk,1,Dial(PJSIP/${ARG1}@carrier)\n",
     ("9", None)),
], ids=["outside-line", "as-dialed", "inner-exten", "calls-itself", "four-deep", "phones-context"])
def test_a_subroutine_that_calls_another_to_dial_the_trunk_is_followed(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


def test_an_open_context_dialing_a_trunk_through_nested_subroutines_is_toll_fraud():
    text = "[default]\nexten => _X.,1,Gosub(sub-out,s,1(${EXTEN}))\n" + NESTED % "PJSIP/${ARG1}@${ARG2}"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == [("DP004", 2)]


# Hand-written dialplans also jump to an outbound context: the phones dial 9, the route drops it
# and jumps (Goto(outbound,${EXTEN:1},1)), the outbound context dials ${EXTEN} as it got it.
OUTBOUND = "[outbound]\nexten => _X.,1,Dial(%s)\n same => n,Hangup()\n"


@pytest.mark.parametrize("text, extension, expected", [
    ("PJSIP/${EXTEN}@carrier", "${EXTEN:1}", "PJSIP/${EXTEN:1}@carrier"),
    ("PJSIP/${EXTEN:1}@carrier", "0${EXTEN:1}", "PJSIP/${EXTEN:1}@carrier"),
    ("PJSIP/${EXTEN:2}@carrier", "0${EXTEN:1}", "PJSIP/${EXTEN:2}@carrier"),
    ("PJSIP/${EXTEN:1}@carrier", "00531${EXTEN}", "PJSIP/0531${EXTEN}@carrier"),
    ("PJSIP/${FILTER(0-9,${EXTEN})}@carrier", "${EXTEN:1}", "PJSIP/${FILTER(0-9,${EXTEN:1})}@carrier"),
    # What cannot be put as the caller's ${EXTEN} is no dialed number.
    ("PJSIP/${EXTEN:1}@carrier", "${FILTER(0-9,${EXTEN})}", "PJSIP/${GOTO_EXTEN}@carrier"),
    ("PJSIP/${EXTEN:0:4}@carrier", "${EXTEN}", "PJSIP/${GOTO_EXTEN}@carrier"),
    ("PJSIP/${EXTEN:-4}@carrier", "${EXTEN}", "PJSIP/${GOTO_EXTEN}@carrier"),
    # A literal extension is cut as Asterisk cuts it.
    ("PJSIP/${EXTEN}@carrier", "112", "PJSIP/112@carrier"),
    ("PJSIP/${EXTEN:1}@carrier", "9112", "PJSIP/112@carrier"),
    ("PJSIP/${EXTEN:1:3}@carrier", "004922112", "PJSIP/049@carrier"),
])
def test_a_jumps_extension_is_read_as_the_callers(text, extension, expected):
    assert with_extension(text, extension) == expected


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier",
     ("9", None)),
    # The jump within the phones' context, to its own route that dials numbers as dialed.
    ("[from-internal]\nexten => _9X.,1,Goto(${EXTEN:1},1)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n",
     ("9", None)),
    ("[globals]\nOUT = outbound\n[from-internal]\nexten => _9X.,1,Goto(${OUT},${EXTEN:1},1)\n"
     "[outbound]\nexten => _X.,1,Gosub(sub-out,s,1(${EXTEN}))\n" + SUBROUTINE % "PJSIP/${ARG1}@carrier",
     ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,0${EXTEN:1},1)\n"
     "[outbound]\nexten => _0X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n", ("9", None)),
    # _X. does not match s: the jump lands nowhere.
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,s,1)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier",
     (None, "no Dial() to a trunk is seen")),
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n" + OUTBOUND % "PJSIP/${EXTEN}@other",
     (None, "no Dial() to a trunk is seen")),
], ids=["outbound-context", "same-context", "global-and-subroutine", "outside-line-put-back", "literal-s",
        "another-trunk"])
def test_a_goto_to_a_context_that_dials_the_trunk_is_a_route(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => 112,1,Dial(PJSIP/112@carrier)\n",
     ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\nexten => 999,1,Goto(outbound,112,1)\n"
     + OUTBOUND % "PJSIP/${EXTEN}@carrier", ("9", None)),
    ("[from-internal]\nexten => 112,1,Dial(PJSIP/112@carrier)\n",
     (None, "only extensions that dial a number of their own: [from-internal] 112 (")),
    # A pattern that dials what the files do not show still asks.
    ("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => _8X.,1,Dial(PJSIP/${NUM}@carrier)\n",
     (None, "[from-internal] _8X. (/etc/asterisk/extensions.conf:3) dials a number that is not ${EXTEN}")),
], ids=["emergency-dial", "emergency-goto", "emergency-only", "pattern-unread"])
def test_an_extension_that_dials_a_number_of_its_own_tells_nothing_of_the_outside_line(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


@pytest.mark.parametrize("pattern, extension, matches", [
    ("_X.", "112", True), ("_X.", "s", False), ("_X.", "1", False), ("_X!", "1", True),
    ("_9!", "9", True), ("_9.", "9", False), ("_x.", "12", True), ("_NXX-XXXX", "5551234", True),
    ("_NXXXXXX", "1551234", False), ("_ZX", "09", False), ("_[1-5a]X", "a3", True), ("_[1-5a]X", "63", False),
    ("_+X.", "+49", True), ("112", "112", True), ("112", "1120", False), ("s", "s", True),
])
def test_an_extension_pattern_matches_as_asterisk_matches_it(pattern, extension, matches):
    assert extension_matches(pattern, extension) is matches


@pytest.mark.parametrize("pattern, literal, matches", [
    ("555-1234", "5551234", True), ("555 1234", "555-1234", True), ("5551234", "555123", False),
])
def test_a_literal_extension_matches_without_the_dashes_written_for_the_eye(pattern, literal, matches):
    assert extension_matches(pattern, literal) is matches


@pytest.mark.parametrize("first, second, meet", [
    ("_X.", "_0X.", True), ("_9X.", "_0X.", False), ("_X.", "s", False), ("_X.", "112", True),
    ("_X.", "1", False), ("_X!", "1", True), ("_XXX", "_NXX", True), ("_XXX", "_XX", False), ("_XX.", "_XXX", True),
    ("_XX.", "_XX", False), ("_XX!", "_XX", True), ("_0[1-5]X.", "_0[6-9]X.", False), ("_0[1-5]X.", "_03", False),
    ("_0[1-5]X.", "_03X", False), ("_0[1-5]X.", "_03XX", True), ("555-1234", "_NXXXXXX", True),
    ("_+X.", "_00X.", False), ("s", "s", True),
])
def test_two_extensions_meet_when_one_extension_matches_both(first, second, meet):
    assert patterns_meet(pattern_tokens(first), pattern_tokens(second)) is meet
    assert patterns_meet(pattern_tokens(second), pattern_tokens(first)) is meet


@pytest.mark.parametrize("jump, extension, lands_on", [
    ("${EXTEN:1}", "_9X.", "_X."), ("${EXTEN:2}", "_90X.", "_X."), ("0531${EXTEN:1}", "_0ZX.", "_0531ZX."),
    ("${EXTEN}", "_00X.", "_00X."), ("${EXTEN:5}", "_9X.", "_!"), ("${EXTEN:4}", "_9XX", "_"),
])
def test_a_jump_lands_on_what_the_routes_extension_becomes(jump, extension, lands_on):
    assert jump_shape(jump, extension) == pattern_tokens(lands_on)


@pytest.mark.parametrize("jump, extension", [("${GOTO_EXTEN}", "_9X."), ("${EXTEN:1}", None)])
def test_a_jump_that_cannot_be_read_may_land_anywhere(jump, extension):
    assert jump_shape(jump, extension) is None


@pytest.mark.parametrize("offset, length, cut", [
    (0, None, "004922112"), (2, None, "4922112"), (-3, None, "112"), (2, 2, "49"), (0, -3, "004922"),
    (-3, 2, "11"), (-20, None, "004922112"), (20, None, ""),
])
def test_a_substring_is_cut_as_asterisk_cuts_it(offset, length, cut):
    assert substring("004922112", offset, length) == cut


# An outbound context often has an extension of its own beside the general route: the emergency
# number, or s. A jump reaches it only with that extension, so its dial is a number of its own.
@pytest.mark.parametrize("outbound, expected", [
    ("exten => 112,1,Dial(PJSIP/112@carrier)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n", ("9", None)),
    ("exten => 112,1,Dial(PJSIP/${EXTEN}@carrier)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n", ("9", None)),
    ("exten => s,1,Dial(PJSIP/${NUMBER}@carrier)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n", ("9", None)),
    ("exten => 112,1,Dial(PJSIP/112@carrier)\n",
     (None, "only extensions that dial a number of their own: [from-internal] _9X. "
            "(/etc/asterisk/extensions.conf:2), landing on 112")),
    # A pattern there that dials what the files do not show still asks.
    ("exten => _0X.,1,Dial(PJSIP/${NUMBER}@carrier)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n",
     (None, "[from-internal] _9X. (/etc/asterisk/extensions.conf:2) dials a number that is not ${EXTEN}")),
], ids=["emergency", "emergency-as-dialed", "s", "emergency-only", "pattern-unread"])
def test_a_literal_extension_a_jump_lands_on_tells_nothing_of_the_outside_line(outbound, expected):
    digits, why = outside_line("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n[outbound]\n" + outbound)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


def test_a_literal_extension_jumps_with_its_own_name():
    # In exten => 999, ${EXTEN} is 999: its jump lands on what matches 999 ([outbound] _X.), and
    # exten => s lands on nothing there. Read so, a jump costs one lookup, not a read of the
    # whole target context (benchmarks/dialplan_routes.py).
    text = ("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => 999,1,Goto(outbound,${EXTEN},1)\n"
            "exten => s,1,Goto(outbound,${EXTEN},1)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier")
    routes = trunk_routes([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"], ["carrier"])
    assert [(r["pattern"], r["strip"], r["landing"]) for r in routes] == [("_9X.", 1, None), ("999", None, "999")]
    assert infer_outside_line(routes, ["from-internal"]) == ("9", None)
    assert not outside_line_read_as_dialed_too(routes, trunk_boundary=False)


@pytest.mark.parametrize("outbound, flagged", [
    ("exten => s,1,Dial(PJSIP/${NUMBER}@carrier)\n", [("DP004", 2)]),
    ("exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n", []),
])
def test_an_open_context_jumping_to_a_literal_extension_is_read_where_it_lands(outbound, flagged):
    text = "[default]\nexten => _X.,1,Goto(outbound,s,1)\n[outbound]\n" + outbound
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == flagged


# A route can jump to an outbound context that jumps again, to the trunk's own: followed
# JUMP_DEPTH jumps, each landing only where its extension can match.
TRUNK_A = "[trunk-a]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n"
     "[outbound]\nexten => _X.,1,Goto(trunk-a,${EXTEN},1)\n" + TRUNK_A, ("9", None)),
    # Beside a route that dials numbers as dialed, a two-jump route unread made "no outside line"
    # the silent reading: "9 0531..." judged as 90531..., the office's calls refused.
    ("[from-internal]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"
     "exten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n"
     "[outbound]\nexten => _X.,1,Goto(trunk-a,${EXTEN},1)\n" + TRUNK_A, ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n"
     "[outbound]\nexten => _X.,1,Goto(select,${EXTEN},1)\n"
     "[select]\nexten => _X.,1,GotoIf($[${LEN(${EXTEN})} > 8]?trunk-a,${EXTEN},1:trunk-a,0531${EXTEN},1)\n" + TRUNK_A,
     ("9", None)),
    # A route jumping into its own context with ${EXTEN:1} is not read again where it lands: the
    # outside line is 9, not 9 and 99.
    ("[from-internal]\nexten => _9X.,1,Goto(${EXTEN:1},1)\nexten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)\n",
     ("9", None)),
    # _90X. with ${EXTEN:1} lands on what _0X. matches: never on [outbound] _1X., whose number the
    # files do not show.
    ("[from-internal]\nexten => _90X.,1,Goto(outbound,${EXTEN:1},1)\n"
     "[outbound]\nexten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)\nexten => _1X.,1,Dial(PJSIP/${NUMBER}@carrier)\n",
     ("9", None)),
    # Four jumps are past the depth: the run asks rather than guess.
    ("[from-internal]\nexten => _9X.,1,Goto(a,${EXTEN:1},1)\n[a]\nexten => _X.,1,Goto(b,${EXTEN},1)\n"
     "[b]\nexten => _X.,1,Goto(c,${EXTEN},1)\n[c]\nexten => _X.,1,Goto(trunk-a,${EXTEN},1)\n" + TRUNK_A,
     (None, "no Dial() to a trunk is seen")),
    # Two contexts jumping to each other end at the depth.
    ("[from-internal]\nexten => _9X.,1,Goto(other,${EXTEN:1},1)\n"
     "[other]\nexten => _X.,1,Goto(from-internal,9${EXTEN},1)\n", (None, "no Dial() to a trunk is seen")),
], ids=["two-jumps", "beside-as-dialed", "three-jumps-through-gotoif", "own-context", "disjoint-patterns",
        "four-jumps", "cycle"])
def test_jumps_one_after_another_are_followed_where_they_can_land(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


@pytest.mark.parametrize("default, flagged", [
    ("exten => _X.,1,Goto(outbound,${EXTEN},1)\n", [("DP004", 2)]),
    # _1X. lands nowhere in [outbound]: no toll route.
    ("exten => _1X.,1,Goto(outbound,${EXTEN},1)\n", []),
])
def test_an_open_context_two_jumps_from_a_trunk_is_toll_fraud_where_its_jump_can_land(default, flagged):
    text = "[default]\n" + default + "[outbound]\nexten => _0X.,1,Goto(trunk-a,${EXTEN},1)\n" + TRUNK_A
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == flagged


def test_a_jump_to_a_literal_extension_written_with_dashes_lands_on_it():
    text = ("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\nexten => 999,1,Goto(outbound,5551234,1)\n"
            "[outbound]\nexten => 555-1234,1,Dial(PJSIP/${EXTEN}@carrier)\n")
    routes = trunk_routes([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"], ["carrier"])
    assert [(r["pattern"], r["landing"]) for r in routes] == [("_9X.", None), ("999", "5551234")]


# A Dial() of a Local channel starts the call over at that extension of that context: read as a
# jump there (Dial(Local/${EXTEN:1}@outbound) as Goto(outbound,${EXTEN:1},1)).
@pytest.mark.parametrize("dial_string, channels", [
    ("Local/${EXTEN:1}@outbound/n", [("outbound", "${EXTEN:1}")]),
    ("PJSIP/1001&local/${EXTEN}@Out-Routes", [("out-routes", "${EXTEN}")]),
    ("Local/s@sub-out", [("sub-out", "s")]),
    ("PJSIP/${EXTEN}@carrier", []),
])
def test_a_local_channel_is_read_as_the_context_and_extension_it_calls(dial_string, channels):
    assert local_channels(dial_string) == channels


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,Dial(Local/${EXTEN:1}@outbound/n,60)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier",
     ("9", None)),
    # Beside a route that dials numbers as dialed, "no outside line" was the silent reading.
    ("[from-internal]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n"
     "exten => _9X.,1,Dial(PJSIP/1001&Local/${EXTEN:1}@outbound)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier", ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Dial(Local/${EXTEN:1}@outbound)\n" + OUTBOUND % "PJSIP/${EXTEN}@other",
     (None, "no Dial() to a trunk is seen")),
], ids=["local-channel", "beside-as-dialed", "another-trunk"])
def test_a_local_channel_to_a_context_that_dials_the_trunk_is_a_route(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


@pytest.mark.parametrize("trunks, flagged", [(["carrier"], [("DP004", 2)]), ([], [("DP004", 2)])])
def test_an_open_context_dialing_a_local_channel_to_a_trunk_is_toll_fraud(trunks, flagged):
    text = "[default]\nexten => _X.,1,Dial(Local/${EXTEN}@outbound,30)\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=trunks)
    dp004 = [f for f in findings if f["rule"] == "DP004"]
    assert [(f["rule"], f["line"]) for f in dp004] == flagged
    # The finding names the carrier, not the Local channel's context.
    assert "Dial to trunk carrier from pattern _X." in dp004[0]["message"]


@pytest.mark.parametrize("args, branches", [
    ("$[${LEN(${EXTEN})} > 4]?outbound,${EXTEN:1},1:internal,${EXTEN},1",
     ["outbound,${EXTEN:1},1", "internal,${EXTEN},1"]),
    ("$[\"${EXTEN:1:2}\" = \"00\" ? 1 :: 0]?intl,${EXTEN:1},1", ["intl,${EXTEN:1},1"]),
    ("${DB_EXISTS(block/${EXTEN})}?:outbound,${EXTEN},1", ["outbound,${EXTEN},1"]),
    ("$[1]", []),
])
def test_a_gotoifs_branches_are_split_where_asterisk_splits_them(args, branches):
    assert conditional_branches(args) == branches


def test_a_gotoif_to_a_context_that_dials_the_trunk_is_a_route_and_toll_fraud_from_an_open_context():
    text = ("[from-internal]\nexten => _9X.,1,GotoIf($[${LEN(${EXTEN})} > 4]?outbound,${EXTEN:1},1:local,${EXTEN},1)\n"
            "[local]\nexten => _X.,1,Dial(PJSIP/${EXTEN})\n" + OUTBOUND % "PJSIP/${EXTEN}@carrier")
    assert outside_line(text) == ("9", None)
    text = "[default]\nexten => _X.,1,GotoIf($[${LEN(${EXTEN})} > 4]?outbound,${EXTEN},1)\n" + \
        OUTBOUND % "PJSIP/${EXTEN}@carrier"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == [("DP004", 2)]


def test_the_area_code_a_goto_puts_before_the_number_is_read():
    text = ("[from-internal]\nexten => _0ZXXXXX.,1,Goto(outbound,0531${EXTEN:1},1)\n"
            + OUTBOUND % "PJSIP/${EXTEN}@carrier")
    routes = trunk_routes([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"], ["carrier"])
    assert [(r["pattern"], r["strip"], r["prepend"], r["line"]) for r in routes] == [("_0ZXXXXX.", 1, "0531", 2)]
    assert list(local_area_code_prefixes(routes)) == ["0531"]


@pytest.mark.parametrize("dial, flagged", [
    ("PJSIP/${EXTEN}@carrier", [("DP004", 2)]),
    ("PJSIP/${EXTEN}@other", []),
])
def test_an_open_context_jumping_to_a_context_that_dials_a_trunk_is_toll_fraud(dial, flagged):
    text = "[default]\nexten => _X.,1,Goto(outbound,${EXTEN},1)\n" + OUTBOUND % dial
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == flagged


@pytest.mark.parametrize("dial, flagged", [
    ("PJSIP/${ARG1}@carrier", [("DP004", 2)]),
    ("PJSIP/${ARG1}@${TRUNK}", [("DP004", 2)]),
    ("PJSIP/${ARG1}@other", []),
])
def test_an_open_context_dialing_a_trunk_from_a_subroutine_is_toll_fraud(dial, flagged):
    text = ("[default]\nexten => _X.,1,Gosub(sub-out,s,1(${EXTEN}))\n[globals]\nTRUNK = carrier\n"
            + SUBROUTINE % dial)
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] == "DP004"] == flagged
    if flagged:
        assert "Dial to trunk carrier from pattern _X." in [f for f in findings if f["rule"] == "DP004"][0]["message"]


# Exec(), TryExec() and ExecIf() run another application: a Dial() there is a Dial().
@pytest.mark.parametrize("app, args, run", [
    ("execif", "$[${LEN(${EXTEN})} > 4]?Dial(PJSIP/${EXTEN:1}@carrier,30):Playback(invalid)",
     [("dial", "PJSIP/${EXTEN:1}@carrier,30"), ("playback", "invalid")]),
    ("execif", "$[\"${EXTEN:1:2}\" = \"00\" ? 1 :: 0]?Hangup()", [("hangup", "")]),
    ("execif", "${DB_EXISTS(block/${EXTEN})}?:Dial(PJSIP/${EXTEN}@carrier)", [("dial", "PJSIP/${EXTEN}@carrier")]),
    # The old syntax: ExecIf(expr,app,args).
    ("execif", "$[1],Dial,PJSIP/${EXTEN}@carrier,30", [("dial", "PJSIP/${EXTEN}@carrier,30")]),
    ("exec", "Dial(PJSIP/${EXTEN}@carrier)", [("dial", "PJSIP/${EXTEN}@carrier")]),
    ("tryexec", "ExecIf($[1]?Dial(PJSIP/${EXTEN}@carrier))", [("execif", "$[1]?Dial(PJSIP/${EXTEN}@carrier)"),
                                                              ("dial", "PJSIP/${EXTEN}@carrier")]),
    ("dial", "PJSIP/${EXTEN}@carrier", []),
])
def test_an_application_that_runs_another_is_split_as_asterisk_splits_it(app, args, run):
    assert applications_run(app, args) == [(app, args)] + run


@pytest.mark.parametrize("text, expected", [
    ("[from-internal]\nexten => _9X.,1,ExecIf($[${LEN(${EXTEN})} > 4]?Dial(PJSIP/${EXTEN:1}@carrier))\n", ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Exec(Gosub(sub-out,s,1(${EXTEN:1})))\n" + SUBROUTINE % "PJSIP/${ARG1}@carrier",
     ("9", None)),
    ("[from-internal]\nexten => _9X.,1,Goto(outbound,${EXTEN:1},1)\n"
     "[outbound]\nexten => _X.,1,ExecIf($[1]?Dial(PJSIP/${EXTEN}@carrier):Hangup())\n", ("9", None)),
    ("[from-internal]\nexten => _9X.,1,ExecIf($[1]?Dial(PJSIP/${EXTEN:1}@other))\n", (None, "no Dial() to a trunk is seen")),
], ids=["execif", "exec-gosub", "goto-execif", "another-trunk"])
def test_a_dial_that_an_application_runs_is_a_route(text, expected):
    digits, why = outside_line(text)
    assert digits == expected[0] and (why is None if expected[1] is None else expected[1] in why), why


@pytest.mark.parametrize("line, rules", [
    ("exten => _X.,1,ExecIf($[1]?Dial(PJSIP/${EXTEN}@carrier))", ["DP001", "DP004"]),
    ("exten => _X.,1,ExecIf($[1]?Dial(PJSIP/${FILTER(0-9,${EXTEN})}@carrier))", ["DP004"]),
    ("exten => _X.,1,ExecIf($[1]?System(echo ${CALLERID(num)} >> /tmp/calls))", ["DP002"]),
    ("exten => _X.,1,ExecIf($[1]?Playback(hello))", []),
])
def test_toll_fraud_and_injection_through_an_application_that_runs_another(line, rules):
    text = "[default]\n%s\n" % line
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")], trunk_endpoints=["carrier"])
    assert sorted(f["rule"] for f in findings) == rules


# -- the running dialplan beyond the files (asterisk_live.running_dialplan) ----------------------

AEL_PHONES = ("[ Context 'from-internal' created by 'pbx_ael' ]\n"
              "  '_9X.' =>          1. Dial(PJSIP/${EXTEN:1}@${TRUNK})             [pbx_ael]\n"
              "  '_1XXX' =>         1. Dial(PJSIP/${EXTEN},30)                     [pbx_ael]\n")


def test_routes_only_the_running_dialplan_shows_are_read():
    """An operator who writes the dialplan in extensions.ael: extensions.conf shows no route, the
    running Asterisk does ('dialplan show', its [globals] substituted)."""
    from ansible.module_utils.asterisk_live import running_dialplan  # pylint: disable=import-outside-toplevel
    files = [parse("[general]\nstatic = yes\n", "/etc/asterisk/extensions.conf")]
    routes = trunk_routes(files, ["from-internal"], ["carrier"])
    assert infer_outside_line(routes, ["from-internal"])[0] is None
    configs = running_dialplan(AEL_PHONES, "   TRUNK=carrier\n") + files
    routes = trunk_routes(configs, ["from-internal"], ["carrier"])
    assert [(r["pattern"], r["strip"], r["file"], r["line"]) for r in routes] == [
        ("_9X.", 1, "asterisk -rx 'dialplan show'", 2)]
    assert infer_outside_line(routes, ["from-internal"], phone_switches(configs, ["from-internal"])) == ("9", None)


def test_a_switch_the_phones_reach_makes_the_outside_line_unclear():
    """Debian's pbx_lua puts a 'Lua/' switch in each context extensions.lua names, one of the
    operator's too: a number the context lacks goes to Lua code nobody reads (the sample's [local]
    dials DAHDI/1/<number>). The switch of a context the phones do not reach changes nothing."""
    from ansible.module_utils.asterisk_live import running_dialplan  # pylint: disable=import-outside-toplevel
    files = [parse("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\ninclude => local\n"
                   "[local]\nexten => 100,1,Answer()\n[lobby]\nexten => 1,1,Answer()\n",
                   "/etc/asterisk/extensions.conf")]
    lua = "[ Context 'local' created by 'pbx_config' ]\n  Alt. Switch =>    'Lua/'         [pbx_lua]\n"
    configs = running_dialplan(lua) + files
    routes = trunk_routes(configs, ["from-internal"], ["carrier"])
    switches = phone_switches(configs, ["from-internal"])
    assert switches == ["[local] switch => Lua/ (asterisk -rx 'dialplan show':2)"]
    digits, why = infer_outside_line(routes, ["from-internal"], switches)
    assert digits is None and "[local] switch => Lua/" in why
    assert phone_switches(configs, ["lobby"]) == []
    # A switch in the files is one too (switch => Realtime/...).
    files = [parse("[from-internal]\nexten => _9X.,1,Dial(PJSIP/${EXTEN:1}@carrier)\n"
                   "switch => Realtime/from-internal@extensions\n", "/etc/asterisk/extensions.conf")]
    assert phone_switches(files, ["from-internal"]) == [
        "[from-internal] switch => Realtime/from-internal@extensions (/etc/asterisk/extensions.conf:3)"]


def test_a_switch_a_jump_carries_the_dialed_number_to_makes_the_outside_line_unclear():
    """A route that jumps with the number (Goto(outbound,${EXTEN:1},1), a GotoIf branch, a Local
    channel, the context from [globals]) into a context with a switch: what that context lacks goes
    to the switch. A jump to a fixed extension (an IVR's s) carries no number there."""
    def switches(route):
        text = ("[globals]\nOUT = outbound\n[from-internal]\n%s\n"
                "[outbound]\nexten => _0X.,1,Dial(PJSIP/${EXTEN}@carrier)\nswitch => Realtime/outbound@extensions\n"
                "[ivr]\nexten => 1,1,Answer()\nswitch => DUNDi/e164\n" % route)
        return phone_switches([parse(text, "/etc/asterisk/extensions.conf")], ["from-internal"])

    realtime = ["[outbound] switch => Realtime/outbound@extensions (/etc/asterisk/extensions.conf:7)"]
    assert switches("exten => _9X.,1,Goto(outbound,${EXTEN:1},1)") == realtime
    assert switches("exten => _9X.,1,GotoIf($[${LEN(${EXTEN})} > 5]?outbound,${EXTEN:1},1:ivr,s,1)") == realtime
    assert switches("exten => _9X.,1,Dial(Local/${EXTEN:1}@outbound/n)") == realtime
    assert switches("exten => _9X.,1,Goto(${OUT},${EXTEN:1},1)") == realtime
    assert switches("exten => _9X.,1,ExecIf($[1]?Goto(outbound,${EXTEN:1},1))") == realtime
    assert switches("exten => 0,1,Goto(ivr,s,1)") == []
    assert switches("exten => 0,1,Goto(${SOMEWHERE},${EXTEN},1)") == []


def test_the_running_dialplan_lines_are_judged_and_the_demo_named_once():
    """Debian's stock listing: AEL's ael-trunkint passes ${EXTEN} unfiltered (DP001, named by the
    listing's line); [demo] is in the files and in the listing (pbx_lua's switch): named once, at
    the file's line."""
    from ansible.module_utils.asterisk_live import running_dialplan  # pylint: disable=import-outside-toplevel
    listing = (Path(__file__).parent / "fixtures" / "asterisk_live" / "dialplan_show_debian_stock.txt").read_text()
    files = [parse("[demo]\nexten => 1000,1,Answer()\n", "/etc/asterisk/extensions.conf")]
    findings, contexts, _ = audit(running_dialplan(listing) + files)
    assert [(f["rule"], f["file"], f["line"]) for f in findings if f["rule"] == "DP003"] == [
        ("DP003", "/etc/asterisk/extensions.conf", 1)]
    dp001 = [(f["context"], f["file"]) for f in findings if f["rule"] == "DP001"]
    assert ("ael-trunkint", "asterisk -rx 'dialplan show'") in dp001
    assert "ael-trunkint" in contexts


def test_the_module_asks_the_running_asterisk_unless_told_not_to(tmp_path, monkeypatch):
    """The module reads 'dialplan show' through asterisk -rx. No Asterisk runs in a unit test: a
    script named asterisk stands in for its CLI here, printing Debian's captured listing with an
    AEL route of the phones (tests/lab/test_outside_line.py asks the real one)."""
    import asterisk_dialplan_audit  # pylint: disable=import-outside-toplevel
    from tests import module_runner  # pylint: disable=import-outside-toplevel

    (tmp_path / "dialplan_show.txt").write_text(AEL_PHONES + "[ Context 'from-internal' created by 'pbx_ael' ]\n"
                                                "  Alt. Switch =>    'Lua/'         [pbx_lua]\n")
    (tmp_path / "globals.txt").write_text("   TRUNK=carrier\n")
    fake = tmp_path / "bin" / "asterisk"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\ncase "$2" in\n"dialplan show") cat %s/dialplan_show.txt ;;\n'
                    '"dialplan show globals") cat %s/globals.txt ;;\n*) exit 1 ;;\nesac\n' % (tmp_path, tmp_path))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (fake.parent, __import__("os").environ["PATH"]))
    extensions = tmp_path / "extensions.conf"
    extensions.write_text("[general]\nstatic = yes\n")
    args = dict(path=str(extensions), phone_contexts=["from-internal"], trunk_endpoints=["carrier"], warn=False)
    result = module_runner.run_module(asterisk_dialplan_audit, args)
    assert result["running_read"] is True
    assert result["files"] == [str(extensions)]
    assert result["outside_line"]["digits"] is None
    assert "[from-internal] switch => Lua/" in result["outside_line"]["unclear"]
    # The run switches pbx_lua off: its switch is not read, the AEL route is.
    result = module_runner.run_module(asterisk_dialplan_audit, dict(args, switched_off=["pbx_lua.so"]))
    assert result["outside_line"]["digits"] == "9", result["outside_line"]
    # Not asked: the files alone.
    result = module_runner.run_module(asterisk_dialplan_audit, dict(args, running=False))
    assert result["running_read"] is False and result["outside_line"]["digits"] is None
    assert "no Dial() to a trunk is seen" in result["outside_line"]["unclear"]


def test_a_findings_line_never_shows_a_dial_strings_password():
    """Dial(IAX2/user:secret@host/...) carries the far end's password: the finding's text hides it."""
    text = "[from-internal]\nexten => _X.,1,Dial(IAX2/pbx:S3cretPass@203.0.113.5/${EXTEN})\n"
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")])
    assert [f["rule"] for f in findings] == ["DP001"]
    assert "S3cretPass" not in str(findings) and "IAX2/pbx:********@203.0.113.5" in findings[0]["text"]


def test_a_switch_reachable_without_authentication_is_a_finding():
    """Debian's stock [default] (pbx_lua's, in the listing): what it lacks goes to Lua code. In a
    context only authenticated phones reach, a switch is no finding of its own."""
    text = ("[default]\ninclude => demo\n[demo]\nswitch => Realtime/demo@extensions\n"
            "[from-internal]\nswitch => Realtime/from-internal@extensions\n")
    findings, _, _ = audit([parse(text, "/etc/asterisk/extensions.conf")])
    assert [(f["rule"], f["context"], f["line"]) for f in findings if f["rule"] == "DP005"] == [("DP005", "demo", 4)]
    assert "Realtime/demo@extensions" in [f for f in findings if f["rule"] == "DP005"][0]["message"]
    # An open context jumping with the number into one with a switch: the switch gets the number.
    text = ("[from-carrier]\nexten => _X.,1,Goto(lookup,${EXTEN},1)\nexten => s,1,Goto(ivr,s,1)\n"
            "[lookup]\nswitch => DUNDi/e164\n[ivr]\nswitch => Realtime/ivr@extensions\n")
    findings, _, unauth = audit([parse(text, "/etc/asterisk/extensions.conf")], ["from-carrier"])
    assert [(f["rule"], f["context"]) for f in findings if f["rule"] == "DP005"] == [("DP005", "lookup")]
    assert unauth == ["default", "from-carrier"]  # the contexts a call reaches by includes, as before


def test_the_onward_contexts_leave_the_includes_they_are_given_as_they_were():
    # audit() hands over the includes its trunk reading follows: the jumps must not join them.
    text = "[from-internal]\ninclude => outbound\nexten => _9X.,1,Goto(lookup,${EXTEN:1},1)\n[lookup]\n[outbound]\n"
    entries = list(parse_dialplan([parse(text, "/etc/asterisk/extensions.conf")]))
    includes = context_includes(entries)
    assert onward_contexts(entries, {}, includes) == {"from-internal": ["outbound", "lookup"]}
    assert includes == {"from-internal": ["outbound"]}
