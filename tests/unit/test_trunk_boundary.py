"""The trunk boundary's plan (module_utils/trunk_boundary.py), what the role renders from it, and
the policy module's use of it. The loop itself is proven on the lab (tests/lab/test_trunk_boundary.py)."""
import re
from pathlib import Path

import jinja2
import pytest

import asterisk_config_info
import toll_fraud_policy
from ansible.module_utils.asterisk_conf import load, load_as_asterisk_reads, parse
from ansible.module_utils.dial_policy import PolicyError
from ansible.module_utils.pjsip_sections import trunk_definitions
from ansible.module_utils.trunk_boundary import (
    BoundaryError, copy_drift, copy_options, describe_loop_identify, identify_match_covers, identify_match_entries,
    is_loop_proxy, plan, proxy_written_back, running_identifies, running_loop_addresses,
    running_loop_identify_faults, unidentified_loop_fault)

import asterisk_config
from tests.unit.test_asterisk_live import captured, identifies_with

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "roles" / "toll_fraud_guard" / "templates"
FIXTURE = (Path(__file__).parent / "fixtures" / "toll_fraud" / "pjsip.conf").read_text()
CARRIER = [{"name": "carrier", "endpoint": "carrier"}]


def sections(text):
    return asterisk_config_info.describe([parse(text, "/etc/asterisk/pjsip.conf")])["sections"]


def render(template, **variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(template).render(**variables)


def test_each_trunk_loops_through_the_transport_it_would_use():
    result = plan(sections(FIXTURE), CARRIER)
    assert result["egress"] == {"endpoint": "voipguard-egress", "context": "voipguard-egress",
                                "matches": ["127.0.0.1:5060"], "srtp": False}
    (trunk,) = result["trunks"]
    assert trunk["proxy"] == "sip:carrier@127.0.0.1:5060;lr"
    assert trunk["copy_endpoint"] == "voipguard-trunk-carrier"
    assert trunk["file"] == "/etc/asterisk/pjsip.conf"
    assert ("aors", "carrier") in trunk["copy_options"] and ("context", "from-carrier") in trunk["copy_options"]


def test_a_bound_address_and_port_are_used_as_they_are():
    text = FIXTURE.replace("bind=0.0.0.0:5060", "bind=198.51.100.10:5080")
    result = plan(sections(text), CARRIER)
    assert result["trunks"][0]["proxy"] == "sip:carrier@198.51.100.10:5080;lr"
    assert result["egress"]["matches"] == ["198.51.100.10:5080"]


def test_the_copy_keeps_the_operators_options_but_not_the_loop_nor_the_trunk_group():
    effective = {"type": ["endpoint"], "allow": ["ulaw"], "disallow": ["all"],
                 "set_var": ["GROUP(voipguard-trunk)=carrier", "CDR(userfield)=acme"],
                 "outbound_proxy": ["sip:sbc.example.net\\;lr"], "from_user": ["4930123"]}
    lines = copy_options("carrier", effective)
    assert lines[:3] == [("type", "endpoint"), ("disallow", "all"), ("allow", "ulaw")]
    assert ("set_var", "CDR(userfield)=acme") in lines
    assert not any("voipguard-trunk" in value for _, value in lines)
    assert ("outbound_proxy", "sip:sbc.example.net\\;lr") in lines  # the operator's own proxy moves to the copy


def test_the_copy_takes_no_call_in_so_it_carries_no_inbound_auth():
    # A carrier that authenticates its calls to the PBX: the trunk's auth stays on the trunk.
    effective = {"type": ["endpoint"], "auth": ["carrier-in"], "outbound_auth": ["carrier-out"], "aors": ["carrier"]}
    lines = copy_options("carrier", effective)
    assert ("outbound_auth", "carrier-out") in lines and not [key for key, _ in lines if key == "auth"]
    assert copy_drift("carrier", effective, {"type": ["endpoint"], "outbound_auth": ["carrier-out"], "aors": ["carrier"]}) == []


def test_after_the_first_run_the_operators_proxy_is_read_back_from_the_copy():
    looped = {"type": ["endpoint"], "outbound_proxy": ["sip:carrier@127.0.0.1:5060;lr"]}
    assert ("outbound_proxy", "sip:sbc.example.net;lr") in copy_options(
        "carrier", looped, {"outbound_proxy": ["sip:sbc.example.net;lr"]})
    assert not [k for k, _ in copy_options("carrier", looped, None) if k == "outbound_proxy"]
    # No copy to read it from (the endpoint renamed by hand since; lab): the template's, under the
    # loop's line, known by the PBX's own address. Before, the renamed trunk's copy dialed past the
    # operator's SBC.
    templated = {"type": ["endpoint"], "outbound_proxy": ["sip:sbc.example.net;lr", "sip:backup@127.0.0.1:5060;lr"]}
    assert ("outbound_proxy", "sip:sbc.example.net;lr") in copy_options(
        "backup-sbc", templated, None, addresses=["127.0.0.1:5060"])
    assert ("outbound_proxy", "sip:sbc.example.net;lr") not in copy_options(
        "backup-sbc", templated, {"type": ["endpoint"]}, addresses=["127.0.0.1:5060"])


def test_an_operators_proxy_with_a_user_part_is_the_operators_not_the_loops():
    """The loop's proxy names the trunk's endpoint at this PBX; an operator's SBC proxy written
    with a user and a port has the same form. Read by form alone, the first run left it out of the
    copy, which then dialed the carrier past the SBC, and the audit took the unlooped trunk for a
    looped one."""
    sbc = "sip:proxy@sbc.example.net:5060;lr"
    assert not is_loop_proxy("carrier", sbc, ["127.0.0.1:5060"])
    assert is_loop_proxy("carrier", "sip:carrier@127.0.0.1:5060;lr")
    assert ("outbound_proxy", sbc) in copy_options("carrier", {"type": ["endpoint"], "outbound_proxy": [sbc]},
                                                   addresses=["127.0.0.1:5060"])
    built = plan(sections(FIXTURE.replace("[carrier]\ntype=endpoint",
                                          "[carrier]\ntype=endpoint\noutbound_proxy=%s" % sbc.replace(";", "\\;"))),
                 CARRIER)
    assert ("outbound_proxy", sbc) in built["trunks"][0]["copy_options"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("protocol=udp", "protocol=tcp"), "needs a UDP transport"),
    (lambda t: t.replace("context=from-carrier", "context=from-carrier\ntransport=transport-wss")
     + "\n[transport-wss]\ntype=transport\nprotocol=wss\n", "loops trunks on UDP, TCP and TLS transports"),
    (lambda t: t.replace("contact=sip:198.51.100.20:5060", "contact=sips:198.51.100.20:5061"),
     "aor carrier has contact sips:198.51.100.20:5061; res_pjsip sends a sips: request over TLS on every hop"),
    (lambda t: t.replace("context=from-carrier", "context=from-carrier\nmedia_encryption=dtls"),
     "media_encryption = dtls: the loop carries RTP and SDES-SRTP only"),
    (lambda t: "[global]\ntype=global\nendpoint_identifier_order=username,ip\n" + t, "needs 'ip' first"),
    (lambda t: t.replace("[carrier]\ntype=endpoint", "[carrier2]\ntype=endpoint"),
     "trunk carrier: endpoint carrier is not defined in pjsip.conf, its includes or pjsip_wizard.conf; "
     "did you mean carrier2?"),
])
def test_configurations_the_loop_cannot_serve_are_refused_with_the_reason(change, message):
    with pytest.raises(BoundaryError, match=re.escape(message)):
        plan(sections(change(FIXTURE)), CARRIER)


def test_a_trunk_endpoint_whose_name_the_loop_cannot_carry_is_refused_and_a_hyphen_is_carried():
    # The name is the Route user the egress matches; "+" would be lost in FILTER() and the SIP URI.
    plus = FIXTURE.replace("[carrier]\ntype=endpoint", "[carrier+1]\ntype=endpoint")
    with pytest.raises(BoundaryError, match=re.escape("trunk carrier: endpoint carrier+1 has characters the loop "
                                                      "cannot carry")):
        plan(sections(plus), [{"name": "carrier", "endpoint": "carrier+1"}])
    hyphen = FIXTURE.replace("[carrier]\ntype=endpoint", "[carrier-sbc]\ntype=endpoint")
    looped = plan(sections(hyphen), [{"name": "carrier", "endpoint": "carrier-sbc"}])
    assert looped["trunks"][0]["proxy"] == "sip:carrier-sbc@127.0.0.1:5060;lr"


@pytest.mark.parametrize("entry, covers", [
    ("127.0.0.1", True), ("localhost", True), ("127.0.0.0/8", True), ("127.0.0.0/255.0.0.0", True),
    ("127.0.0.1:5060", True), ("127.0.0.1:5080", False), ("198.51.100.20", False), ("0.0.0.0/0", True),
    ("::1", False), ("[::1]:5060", False), ("sip.example.net", False), ("", False),
])
def test_an_identify_match_is_read_as_res_pjsip_reads_it(entry, covers):
    assert identify_match_covers(entry, "127.0.0.1:5060") is covers


def test_an_identifys_match_lines_are_read_as_comma_separated_lists():
    assert identify_match_entries(["192.0.2.1, 127.0.0.1:5080,", "10.0.0.0/8"]) == [
        "192.0.2.1", "127.0.0.1:5080", "10.0.0.0/8"]
    assert identify_match_entries(None) == []


def test_an_operators_identify_of_the_loops_own_address_is_refused():
    """Lab: an identify matching 127.0.0.1 (a local application) took the looped INVITEs; each
    call went into that endpoint's context, dialed the trunk again, and looped until Asterisk ran
    out of open files (125 channels in 4 s)."""
    local = "\n[localapp]\ntype=endpoint\ncontext=from-internal\n[localapp]\ntype=identify\nendpoint=localapp\nmatch=%s\n"
    with pytest.raises(BoundaryError, match=re.escape(
            "identify localapp (endpoint localapp) matches 127.0.0.0/8, the address the trunk boundary's "
            "looped INVITEs come from (127.0.0.1:5060)")):
        plan(sections(FIXTURE + local % "192.0.2.1,127.0.0.0/8"), CARRIER)
    assert plan(sections(FIXTURE + local % "127.0.0.1:5080"), CARRIER)["egress"]["matches"] == ["127.0.0.1:5060"]
    # The guard's own identify of the egress is no operator's.
    own = "\n[voipguard-egress]\ntype=identify\nendpoint=voipguard-egress\nmatch=127.0.0.1:5060\n"
    assert plan(sections(FIXTURE + own), CARRIER)["egress"]["matches"] == ["127.0.0.1:5060"]


RUNNING_IDENTIFIES = captured("pjsip_show_identifies.txt")


def running_with(*matches):
    return identifies_with("localapp", "localapp", *matches)


def test_the_running_identifies_are_read_as_asterisk_prints_them():
    assert running_identifies(RUNNING_IDENTIFIES) == [
        ("carrier", "carrier", ["198.51.100.20/32"]),
        ("voipguard-egress", "voipguard-egress", ["127.0.0.1:5060/32"])]
    assert running_loop_addresses(running_identifies(RUNNING_IDENTIFIES)) == ["127.0.0.1:5060"]
    assert running_identifies(running_with("!127.0.0.1/32", "[::1]:5060/128"))[-1] == (
        "localapp", "localapp", ["!127.0.0.1/32", "[::1]:5060/128"])
    assert running_identifies("No objects found.\n") == []


@pytest.mark.parametrize("matches, taken_by", [
    (["127.0.0.1/32"], "127.0.0.1/32"),  # a host name resolved to the loop's address, say
    (["127.0.0.1:5060/32"], "127.0.0.1:5060/32"),
    (["127.0.0.1:5080/32"], None),  # its own port only
    (["127.0.0.0/8", "!127.0.0.1/32"], None),  # the last entry covering the address decides
    (["!127.0.0.1/32", "127.0.0.0/8"], "127.0.0.0/8"),
    (["192.0.2.7/32"], None),
])
def test_a_running_identify_of_the_loops_address_is_named_as_res_pjsip_applies_its_matches(matches, taken_by):
    faults = running_loop_identify_faults(running_with(*matches))
    if taken_by is None:
        assert faults == []
    else:
        assert faults == [describe_loop_identify(("localapp", "localapp", taken_by, "127.0.0.1:5060"))]
        assert "identify localapp (endpoint localapp) matches %s, where the looped INVITEs come from " \
               "(127.0.0.1:5060)" % taken_by in faults[0]


def test_without_the_running_egress_no_running_identify_is_judged():
    without_egress = running_with("127.0.0.1/32").replace(" Identify:  voipguard-egress/voipguard-egress\n", "")
    assert running_loop_identify_faults(without_egress) == []
    assert running_loop_identify_faults("") == []


UNREADABLE_LISTINGS = [
    "",  # nothing at all
    # res_pjsip_endpoint_identifier_ip.so unloaded (the lab, Asterisk 22): no command, no identify.
    captured("pjsip_show_identifies_module_unloaded.txt"),
    "No objects found.\n",
    # The egress without a match, or a listing this module does not know how to read.
    " Identify:  voipguard-egress/voipguard-egress\n",
    "voipguard-egress  127.0.0.1:5060/32\n",
]


@pytest.mark.parametrize("listing", UNREADABLE_LISTINGS)
def test_looped_trunk_calls_no_running_identify_gives_the_egress_are_a_fault_not_a_pass(listing):
    """With trunks looped, a listing that shows no egress match (the identify module unloaded, or
    a listing this module cannot read) proves nothing reaches the guard: it is refused."""
    assert running_loop_identify_faults(listing, looped=True) == [unidentified_loop_fault()]
    assert unidentified_loop_fault().startswith("the running Asterisk identifies no INVITE as voipguard-egress")
    assert running_loop_identify_faults(RUNNING_IDENTIFIES, looped=True) == []


def test_an_identify_only_the_running_asterisk_shows_is_refused_before_the_loop_is_written():
    """A realtime identify, or a host name in a file's match: the files show no address of the
    loop's (the name is not resolved on the controller); the running Asterisk shows it."""
    hostname = "\n[localapp]\ntype=identify\nendpoint=1001\nmatch=localapp.pbx.internal\n"
    assert plan(sections(FIXTURE + hostname), CARRIER)["egress"]["matches"] == ["127.0.0.1:5060"]
    with pytest.raises(BoundaryError, match=re.escape(
            "identify localapp (endpoint localapp) matches 127.0.0.1/32, the address the trunk boundary's "
            "looped INVITEs come from (127.0.0.1:5060)")):
        plan(sections(FIXTURE + hostname), CARRIER, running_identifies_text=running_with("127.0.0.1/32"))
    # The guard's own running egress is no operator's identify.
    assert plan(sections(FIXTURE), CARRIER, running_identifies_text=RUNNING_IDENTIFIES)["egress"]["matches"] == [
        "127.0.0.1:5060"]


@pytest.mark.parametrize("listing, refused", [
    (UNREADABLE_LISTINGS[1], "the running Asterisk identifies no endpoint by address "
                             "(res_pjsip_endpoint_identifier_ip.so is not loaded)"),
    ("Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n",
     "cannot read the running Asterisk's identifies (pjsip show identifies), which the trunk boundary is judged "
     "by: Unable to connect to remote asterisk"),
    ("No objects found.\n", None),  # no identify yet: the egress comes with the loop
    (RUNNING_IDENTIFIES, None),
])
def test_a_running_asterisk_that_cannot_identify_the_looped_invites_is_refused_before_the_loop_is_written(
        listing, refused):
    """Without res_pjsip_endpoint_identifier_ip.so every looped INVITE would go to the endpoint
    its From header names (the lab: a 401 each, every trunk call failed): the policy step refuses,
    before the guard writes, as it refuses what it cannot read."""
    if refused is None:
        assert plan(sections(FIXTURE), CARRIER, running_identifies_text=listing)["egress"]["matches"] == [
            "127.0.0.1:5060"]
    else:
        with pytest.raises(BoundaryError, match=re.escape(refused)):
            plan(sections(FIXTURE), CARRIER, running_identifies_text=listing)


def asterisk_filter(allowed, text):
    """FILTER() as Asterisk 22 reads its first argument (funcs/func_strings.c, filter()): "a-z" is
    a range, and a "-" with nothing after it ends a range of one character, so it is dropped."""
    kept, i = set(), 0
    while i < len(allowed):
        first, i = allowed[i], i + 1
        last = first
        if i < len(allowed) and allowed[i] == "-":
            last, i = (allowed[i + 1], i + 2) if i + 1 < len(allowed) else (first, i + 1)
        kept.update(chr(c) for c in range(ord(first), ord(last) + 1))
    return "".join(c for c in text if c in kept)


def test_every_filter_of_a_name_in_the_guards_dialplan_keeps_its_hyphens():
    """Lab: FILTER(0-9A-Za-z_.-,...) dropped the "-" of a trunk named backup-sbc, so the egress
    knew no such trunk and refused every call on it (reason=unknown-trunk)."""
    assert asterisk_filter("0-9A-Za-z_.-", "backup-sbc") == "backupsbc"  # what Asterisk did
    found = []
    for path in sorted(TEMPLATES.rglob("*.conf*")):
        for allowed in re.findall(r"FILTER\(([^,${}]+),", path.read_text()):
            if "_" in allowed:  # a name's, not a dialed number's
                found.append((path.name, allowed))
                assert asterisk_filter(allowed, "office-phone_2.b") == "office-phone_2.b", (path.name, allowed)
    assert len(found) >= 5, found


def test_the_policy_module_plans_the_boundary_and_never_guards_its_own_endpoints():
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    own = FIXTURE + "\n[voipguard-egress]\ntype=endpoint\ncontext=voipguard-egress\n"
    contexts = {"1001": "from-internal", "carrier": "from-carrier",
                "voipguard-egress": "voipguard-egress", "voipguard-trunk-carrier": "from-carrier"}
    built = toll_fraud_policy.build(params(
        endpoint_contexts=contexts, trunks=["carrier"], trunk_boundary=True,
        pjsip_sections=sections(own)))
    assert built["endpoint_plan"] == {"1001": "from-internal"}
    assert built["unguarded_endpoints"] == ["carrier"]
    assert built["trunk_boundary"]["trunks"][0]["proxy"] == "sip:carrier@127.0.0.1:5060;lr"
    with pytest.raises(PolicyError, match="toll_fraud_guard_trunk_boundary_enabled: .*UDP"):
        toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=True,
                                       pjsip_sections=sections(FIXTURE.replace("udp", "tcp"))))


def test_rendered_pjsip_file_parses_and_the_dialplan_checks_the_trunk_leg_before_dialing():
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_max_concurrent_calls=2,
                                           trunk_boundary=True, pjsip_sections=sections(FIXTURE)))
    boundary = built["trunk_boundary"]
    pjsip = parse(render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=boundary), "pjsip_voipguard.conf")
    names = [(s.name, s.get("type")) for s in pjsip.sections if s.header is not None]
    assert names == [("voipguard-egress", "endpoint"), ("voipguard-egress", "identify"),
                     ("voipguard-trunk-carrier", "endpoint"), ("voipguard-loop-carrier", "aor")]
    (loop_aor,) = [s for s in pjsip.sections if s.name == "voipguard-loop-carrier"]
    assert loop_aor.get("contact") == "sip:127.0.0.1:5060"
    dialplan = render("extensions_voipguard.conf.j2", toll_fraud_guard_compiled=built["policy"],
                      toll_fraud_guard_endpoint_plan=built["endpoint_plan"],
                      toll_fraud_guard_boundary=boundary)
    egress = dialplan.split("[voipguard-egress]")[1].split("\n[")[0]
    assert egress.index("Gosub(voipguard-check,s,1)") < egress.index("Dial(PJSIP/${FILTER(0-9+,${EXTEN})}@${VOIPGUARD_TRUNK_COPY}")
    # an unknown trunk in the Route header is refused, never dialed
    assert "(unknown),Set(VOIPGUARD_CALLER=trunk-leg)" in egress and "unknown-trunk" in egress
    check = dialplan.split("[voipguard-check]")[1].split("\n[")[0]
    # the exact per-trunk cap on the trunk leg, not the pre-dial handler
    assert '"${VOIPGUARD_TRUNK}" = "carrier" & ${GROUP_COUNT(carrier@voipguard-trunk)} > 2]?refuse_trunk)' in check
    assert "b(voipguard-trunk-cap" not in check
    # the phone's check returns before any limit; the trunk leg goes on to them
    assert check.index('"${VOIPGUARD_TRUNK_LEG}" = "1"]?limits)') < check.index("Gosub(voipguard-lock,s,1(wait))")
    # without the boundary nothing of it is rendered
    plain = render("extensions_voipguard.conf.j2", toll_fraud_guard_compiled=built["policy"],
                   toll_fraud_guard_endpoint_plan=built["endpoint_plan"])
    assert "voipguard-egress" not in plain and "VOIPGUARD_TRUNK_LEG" not in plain


def test_switched_off_the_looped_trunks_get_the_operators_proxy_back():
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    looped = FIXTURE.replace("context=from-carrier", "context=from-carrier\noutbound_proxy=sip:carrier@127.0.0.1:5060\\;lr")
    copy = "\n[voipguard-trunk-carrier]\ntype=endpoint\noutbound_proxy=sip:sbc.example.net\\;lr\n"
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=False,
                                           pjsip_sections=sections(looped + copy)))
    assert built["trunk_boundary"] is None
    assert built["trunk_boundary_undo"] == [{"name": "carrier", "endpoint": "carrier",
                                             "file": "/etc/asterisk/pjsip.conf", "section_type": "endpoint",
                                             "option_prefix": "", "include_root": None,
                                             "proxy": "sip:sbc.example.net;lr", "loop_lines": []}]
    # a trunk that never looped is left as it is
    assert toll_fraud_policy.build(params(trunks=["carrier"], pjsip_sections=sections(FIXTURE)))[
        "trunk_boundary_undo"] == []


def test_switched_off_a_trunk_whose_template_names_the_proxy_only_loses_the_loops_line():
    """An installer's trunk template names the SBC; the loop's line in the trunk's own section
    overrode it. Switched off, that line goes and the template's proxy is in force again: written
    back into the trunk's section instead, it would hide the operator's next change of the template."""
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    templated = FIXTURE.replace("[carrier]\ntype=endpoint\n", "[trunk-tpl](!)\noutbound_proxy=sip:sbc.example.net\\;lr\n"
                                "[carrier](trunk-tpl)\ntype=endpoint\noutbound_proxy=sip:carrier@127.0.0.1:5060\\;lr\n", 1)
    copy = "\n[voipguard-trunk-carrier]\ntype=endpoint\noutbound_proxy=sip:sbc.example.net\\;lr\n"
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=False,
                                           pjsip_sections=sections(templated + copy)))
    (undo,) = built["trunk_boundary_undo"]
    assert undo["proxy"] == "sip:sbc.example.net;lr" and not proxy_written_back(undo)
    changes = [(c["option"], c.get("state", "present"), c.get("value", c.get("values")))
               for c in built["trunk_changes"]]
    assert changes == [("outbound_proxy", "absent", ["sip:carrier@127.0.0.1:5060;lr"])]
    # ...which asterisk_config applies to that one line: the template's proxy is the trunk's again.
    text = apply_trunk_changes(templated + copy, built["trunk_changes"])
    assert "sip:carrier@127.0.0.1" not in text
    (carrier,) = [s for s in sections(text) if s["name"] == "carrier" and s["type"] == "endpoint"
                  and not s["is_template"]]
    assert carrier["effective"]["outbound_proxy"] == ["sip:sbc.example.net;lr"]


def test_an_endpoint_taken_out_of_the_trunks_loses_its_loop_and_gets_the_operators_proxy_back():
    """An operator drops a second carrier from voipguard_trunks (or mistyped it there): the run
    that no longer loops it must take the loop out too, or its calls would reach an egress that
    has no copy of it. Found in the lab: its outbound_proxy and loop aor stayed."""
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    backup = ("\n[backup]\ntype=endpoint\ncontext=from-carrier\naors=backup-aor\naors=voipguard-loop-backup\n"
              "outbound_proxy=sip:backup@127.0.0.1:5060\\;lr\n[backup-aor]\ntype=aor\ncontact=sip:198.51.100.21\n"
              "[voipguard-trunk-backup]\ntype=endpoint\naors=backup-aor\noutbound_proxy=sip:sbc.example.net\\;lr\n"
              # an operator's proxy with a user part: not the loop's, left alone
              "[sbc-user]\ntype=endpoint\noutbound_proxy=sip:edge@198.51.100.30:5060\\;lr\n")
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=True,
                                           pjsip_sections=sections(FIXTURE + backup)))
    assert [trunk["endpoint"] for trunk in built["trunk_boundary"]["trunks"]] == ["carrier"]
    (undo,) = built["trunk_boundary_undo"]
    assert (undo["name"], undo["endpoint"], undo["proxy"]) == ("backup", "backup", "sip:sbc.example.net;lr")
    assert undo["loop_lines"] == [("aors", "absent", ["voipguard-loop-backup"])]
    changes = [(c["section"], c["option"], c.get("state", "present"), c.get("value", c.get("values")))
               for c in built["trunk_changes"] if c["section"] == "backup"]
    assert changes == [("backup", "outbound_proxy", "present", "sip:sbc.example.net;lr"),
                       ("backup", "aors", "absent", ["voipguard-loop-backup"])]
    # renamed by hand since (its loop still names the old endpoint), then taken out: the loop is
    # known by its address, this PBX's own transport
    renamed = backup.replace("[backup]\ntype=endpoint", "[backup2]\ntype=endpoint")
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=True,
                                           pjsip_sections=sections(FIXTURE + renamed)))
    assert [(u["endpoint"], u["proxy"]) for u in built["trunk_boundary_undo"]] == [("backup2", "")]
    # declared a trunk again, it is looped, not undone
    again = toll_fraud_policy.build(params(trunks=["carrier", "backup"], trunk_endpoints=["carrier", "backup"],
                                           trunk_boundary=True, pjsip_sections=sections(FIXTURE + backup)))
    assert again["trunk_boundary_undo"] == []


# A carrier reached over TLS, as many now want (SRTP with it): the trunk names its transport.
TLS_TRUNK = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\ntransport=transport-tls\n").replace(
    "contact=sip:198.51.100.20:5060", "contact=sip:198.51.100.20:5061\\;transport=tls") + (
    "\n[transport-tls]\ntype=transport\nprotocol=tls\nbind=0.0.0.0:5061\n")


def apply_trunk_changes(text, changes):
    """pjsip.conf's text after asterisk_config made the policy's trunk changes, in order."""
    for change in changes:
        if change["section"] != "carrier":
            continue
        text, _ = asterisk_config.apply_change(
            text, "/etc/asterisk/pjsip.conf", **dict((key, change[key]) for key in asterisk_config.CHANGE_KEYS
                                                     if key in change and key != "gui_read_first"))
    return text


def tls_policy(text, **kwargs):
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    return toll_fraud_policy.build(params(trunks=["carrier"], pjsip_sections=sections(text), **kwargs))


def test_the_trunk_dials_an_aor_of_the_loops_own_and_leaves_the_operators_to_its_copy():
    built = tls_policy(FIXTURE, trunk_boundary=True)
    (trunk,) = built["trunk_boundary"]["trunks"]
    assert trunk["loop_aor"] == {"name": "voipguard-loop-carrier", "contact": "sip:127.0.0.1:5060"}
    assert ("aors", "carrier") in trunk["copy_options"]
    written = apply_trunk_changes(FIXTURE, built["trunk_changes"])
    carrier = written.split("[carrier]\ntype=endpoint\n")[1].split("\n[")[0]
    assert "aors=carrier\naors=voipguard-loop-carrier\n" in carrier
    # A second run changes nothing; its copy still dials the operator's aor, and is current.
    again = tls_policy(written, trunk_boundary=True)
    assert apply_trunk_changes(written, again["trunk_changes"]) == written
    assert again["trunk_boundary"]["trunks"][0]["copy_options"] == trunk["copy_options"]
    trunk_effective, copy_effective = _trunk_and_copy(
        written, render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=again["trunk_boundary"]))
    assert trunk_effective["aors"] == ["carrier", "voipguard-loop-carrier"] and copy_effective["aors"] == ["carrier"]
    assert copy_drift("carrier", trunk_effective, copy_effective) == []
    # The operator names another aor on the line of their own: the copy follows it.
    moved = written.replace("aors=carrier\n", "aors=carrier-2\n") + "\n[carrier-2]\ntype=aor\ncontact=sip:198.51.100.21\n"
    trunk_effective, copy_effective = _trunk_and_copy(
        moved, render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=again["trunk_boundary"]))
    assert copy_drift("carrier", trunk_effective, copy_effective) == ["aors"]
    assert ("aors", "carrier-2") in plan(sections(moved), CARRIER)["trunks"][0]["copy_options"]


def test_a_tls_trunk_loops_over_udp_with_its_own_transport_kept_for_its_copy():
    built = tls_policy(TLS_TRUNK, trunk_boundary=True)
    (trunk,) = built["trunk_boundary"]["trunks"]
    assert trunk["proxy"] == "sip:carrier@127.0.0.1:5060;lr"
    assert ("transport", "transport-tls") in trunk["copy_options"]
    written = apply_trunk_changes(TLS_TRUNK, built["trunk_changes"])
    # The operator's line stays; the loop's empty one follows it and is what Asterisk uses.
    carrier = written.split("[carrier]\ntype=endpoint\n")[1].split("\n[")[0]
    assert "transport=transport-tls\ntransport=\n" in carrier
    looped = plan(sections(written), CARRIER)
    (again,) = looped["trunks"]
    assert again["loop_lines"] == [] and again["copy_options"] == trunk["copy_options"]
    # A second run changes nothing, and the copy it wrote is current.
    assert apply_trunk_changes(written, tls_policy(written, trunk_boundary=True)["trunk_changes"]) == written
    trunk_effective, copy_effective = _trunk_and_copy(
        written, render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=looped))
    assert trunk_effective["transport"] == ["transport-tls", ""]
    assert copy_effective["transport"] == ["transport-tls"]
    assert copy_drift("carrier", trunk_effective, copy_effective) == []


def test_switched_off_or_moved_to_udp_the_loops_own_lines_go_and_the_operators_stay():
    written = apply_trunk_changes(TLS_TRUNK, tls_policy(TLS_TRUNK, trunk_boundary=True)["trunk_changes"])
    off = tls_policy(written, trunk_boundary=False)
    assert off["trunk_boundary_undo"][0]["loop_lines"] == [
        ("aors", "absent", ["voipguard-loop-carrier"]), ("transport", "absent", [""])]
    assert apply_trunk_changes(written, off["trunk_changes"]) == TLS_TRUNK
    # The operator moves the looped trunk to UDP by editing their own line: the empty one goes.
    on_udp = written.replace("transport=transport-tls\n", "transport=transport-udp\n")
    (trunk,) = plan(sections(on_udp), CARRIER)["trunks"]
    assert trunk["loop_lines"] == [("transport", "absent", [""])]
    assert "transport=\n" not in apply_trunk_changes(on_udp, tls_policy(on_udp, trunk_boundary=True)["trunk_changes"])
    # A line the operator added after the loop's would win: the loop's moves after it.
    added_after = written.replace("[carrier]\ntype=aor", "transport=transport-tls\n\n[carrier]\ntype=aor")
    (trunk,) = plan(sections(added_after), CARRIER)["trunks"]
    assert trunk["loop_lines"] == [("transport", "absent", [""]), ("transport", "present", [""])]
    moved = apply_trunk_changes(added_after, tls_policy(added_after, trunk_boundary=True)["trunk_changes"])
    assert plan(sections(moved), CARRIER)["trunks"][0]["loop_lines"] == []


def test_a_trunk_sending_sdes_srtp_has_its_looped_invites_taken_with_srtp():
    srtp = TLS_TRUNK.replace("transport=transport-tls\n", "transport=transport-tls\nmedia_encryption=sdes\n")
    boundary = plan(sections(srtp), CARRIER)
    assert boundary["egress"]["srtp"] is True
    written = parse(render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=boundary), "pjsip_voipguard.conf")
    (egress,) = [s for s in written.sections if s.name == "voipguard-egress" and s.get("type") == "endpoint"]
    assert (egress.get("media_encryption"), egress.get("media_encryption_optimistic")) == ("sdes", "yes")
    plain = parse(render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=plan(sections(TLS_TRUNK), CARRIER)),
                  "pjsip_voipguard.conf")
    assert "media_encryption" not in plain.render()


@pytest.mark.parametrize("text, message", [
    (TLS_TRUNK, "trunk carrier uses transport transport-tls (tls): the boundary instance dials carriers over UDP only"),
    (FIXTURE.replace("context=from-carrier", "context=from-carrier\nmedia_encryption=sdes"),
     "trunk carrier has media_encryption = sdes: the boundary instance carries RTP only"),
])
def test_the_boundary_instance_refuses_a_trunk_it_cannot_carry(text, message):
    with pytest.raises(BoundaryError, match=re.escape(message)):
        plan(sections(text), CARRIER, instance_port=5070)


def _trunk_and_copy(trunk_text, copy_text):
    """Effective options of the trunk and of its copy, read as Asterisk reads both files."""
    described = asterisk_config_info.describe([parse(trunk_text, "/etc/asterisk/pjsip.conf"),
                                               parse(copy_text, "/etc/asterisk/pjsip_voipguard.conf")])
    endpoints = dict((s["name"], s["effective"]) for s in described["sections"] if s.get("type") == "endpoint")
    return endpoints["carrier"], endpoints["voipguard-trunk-carrier"]


def test_a_copy_is_current_until_the_trunk_changes_and_names_what_changed():
    # The operator's own proxy holds a ';' (escaped in the copy) and moves to the copy.
    operator = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\nallow=ulaw\n"
                               "outbound_proxy=sip:proxy.example.net\\;lr\n")
    written = render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=plan(sections(operator), CARRIER))
    looped = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\nallow=ulaw\n"
                             "outbound_proxy=sip:carrier@127.0.0.1:5060\\;lr\n")
    trunk, copy = _trunk_and_copy(looped, written)
    assert copy["outbound_proxy"] == ["sip:proxy.example.net;lr"]
    assert copy_drift("carrier", trunk, copy) == []
    # The GUI's Apply Config changes the trunk: another codec and a caller ID user.
    changed = looped.replace("allow=ulaw\n", "allow=alaw\nfrom_user=4930999\n")
    trunk, copy = _trunk_and_copy(changed, written)
    assert copy_drift("carrier", trunk, copy) == ["allow", "from_user"]
    # An option the trunk lost is drift too.
    trunk, copy = _trunk_and_copy(looped.replace("allow=ulaw\n", ""), written)
    assert copy_drift("carrier", trunk, copy) == ["allow"]


def test_with_the_instance_the_copy_forwards_to_it_and_the_instance_holds_the_trunk_as_written():
    operator = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\nallow=ulaw\nfrom_user=4930123\n")
    result = plan(sections(operator), CARRIER, instance_port=5070)
    (trunk,) = result["trunks"]
    assert ("outbound_proxy", "sip:carrier@127.0.0.1:5070;lr;voipguard") in trunk["copy_options"]
    instance = result["instance"]
    assert instance["port"] == 5070 and instance["main_matches"] == ["127.0.0.1:5060"]
    (held,) = instance["trunks"]
    options = dict(held["options"])
    # the operator's own options, sent from the instance's transport, never taking a call in
    assert options["from_user"] == "4930123" and options["allow"] == "ulaw"
    assert (options["transport"], options["context"], options["direct_media"]) == (
        "voipguard-carriers", "voipguard-boundary-refuse", "no")
    assert "outbound_proxy" not in options
    assert held["aors"] == [{"name": "carrier", "options": [("type", "aor"), ("contact", "sip:198.51.100.20:5060")]}]
    # without the instance nothing of it is planned
    assert plan(sections(operator), CARRIER)["instance"] is None


def test_the_operators_own_proxy_rides_with_the_instance_and_comes_back_when_it_is_switched_off():
    """A trunk behind the operator's SBC (outbound_proxy): with the instance, the instance's copy
    of the trunk dials through the SBC, while the main copy forwards to the instance. The SBC lives
    only in the instance's pjsip.conf then, and every later run reads it back from there."""
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    sbc = "sip:sbc.example.net;lr"
    operator = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\noutbound_proxy=sip:sbc.example.net\\;lr\n")
    first = plan(sections(operator), CARRIER, instance_port=5070)
    assert dict(first["instance"]["trunks"][0]["options"])["outbound_proxy"] == sbc
    assert dict(first["trunks"][0]["copy_options"])["outbound_proxy"] == "sip:carrier@127.0.0.1:5070;lr;voipguard"
    # What the run leaves: the trunk loops, the main copy forwards, the instance holds the SBC.
    looped = operator.replace("outbound_proxy=sip:sbc.example.net\\;lr", "outbound_proxy=sip:carrier@127.0.0.1:5060\\;lr")
    main = sections(looped) + asterisk_config_info.describe([parse(
        render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=first), "/etc/asterisk/pjsip_voipguard.conf")])[
        "sections"]
    written = asterisk_config_info.describe([parse(
        render("boundary/pjsip.conf.j2", toll_fraud_guard_boundary=first), "/etc/voipguard-boundary/pjsip.conf")])[
        "sections"]
    # The next run plans the same (idempotent), the SBC read back from the instance's file.
    again = plan(main, CARRIER, instance_port=5070, instance_sections=written)
    assert again["instance"]["trunks"] == first["instance"]["trunks"] and again["trunks"][0]["copy_options"] == \
        first["trunks"][0]["copy_options"]
    # Without the instance's file the SBC would be lost: that is why the role reads it.
    assert "outbound_proxy" not in dict(plan(main, CARRIER, instance_port=5070)["instance"]["trunks"][0]["options"])
    # The instance switched off, the boundary on: the main copy dials through the SBC again.
    assert dict(plan(main, CARRIER, instance_sections=written)["trunks"][0]["copy_options"])["outbound_proxy"] == sbc
    # The boundary switched off: the trunk gets the SBC back.
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=False, pjsip_sections=main,
                                           trunk_boundary_instance_sections=written))
    assert [undo["proxy"] for undo in built["trunk_boundary_undo"]] == [sbc]


def test_the_instances_copy_is_current_until_the_trunk_changes_and_names_what_changed():
    """VOIP-TF-007 with the instance: the copy that really dials the carrier is the instance's."""
    from ansible.module_utils.trunk_boundary import instance_copy_drift  # pylint: disable=import-outside-toplevel
    operator = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\nallow=ulaw\n"
                               "outbound_proxy=sip:sbc.example.net\\;lr\n")
    written = plan(sections(operator), CARRIER, instance_port=5070)
    main_copy = render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=written)
    held = asterisk_config_info.describe([parse(render("boundary/pjsip.conf.j2", toll_fraud_guard_boundary=written),
                                                "/etc/voipguard-boundary/pjsip.conf")])["sections"]
    held = dict((s["name"], s["effective"]) for s in held if s.get("type") == "endpoint")["carrier"]
    looped = operator.replace("outbound_proxy=sip:sbc.example.net\\;lr", "outbound_proxy=sip:carrier@127.0.0.1:5060\\;lr")
    trunk, copy = _trunk_and_copy(looped, main_copy)
    assert copy_drift("carrier", trunk, copy) == [] and instance_copy_drift("carrier", trunk, copy, held) == []
    # The SBC is read from the instance's copy itself: current, not drift.
    assert held["outbound_proxy"] == ["sip:sbc.example.net;lr"]
    trunk, copy = _trunk_and_copy(looped.replace("allow=ulaw\n", "allow=alaw\nfrom_user=4930999\n"), main_copy)
    assert instance_copy_drift("carrier", trunk, copy, held) == ["allow", "from_user"]
    # An option lost from the instance's copy (edited by hand) is drift too.
    trunk, copy = _trunk_and_copy(looped, main_copy)
    assert instance_copy_drift("carrier", trunk, copy, dict(held, direct_media=["yes"])) == ["direct_media"]


def test_a_trunk_deleted_by_hand_after_a_run_with_the_instance_leaves_no_orphan(tmp_path):
    """The guard's file adds to the trunk endpoint with the instance. Once the operator deletes
    the trunk from pjsip.conf, that addition goes to the placeholder before it: no orphan, so
    Asterisk does not stop reading the guard's file there (another trunk's addition after it
    would be lost: that trunk would send the carrier re-INVITEs the firewall drops)."""
    written = render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=plan(sections(FIXTURE), CARRIER,
                                                                               instance_port=5070))
    assert "[carrier]\ntype = voipguard-placeholder-endpoint\n\n[carrier](+type=endpoint)\n" in written
    without_trunk = "".join(part for part in re.split(r"(?m)^(?=\[)", FIXTURE) if not part.startswith("[carrier]"))
    (tmp_path / "pjsip.conf").write_text(without_trunk + "\n#include pjsip_voipguard.conf\n")
    (tmp_path / "pjsip_voipguard.conf").write_text(written)
    configs, orphans = load_as_asterisk_reads(str(tmp_path / "pjsip.conf"))
    assert orphans == []
    endpoints = [s.name for c in configs for s in c.sections if s.header is not None and s.get("type") == "endpoint"]
    assert "voipguard-egress" in endpoints and "carrier" not in endpoints, endpoints
    # Not vacuous: without its placeholder the addition is an orphan, where Asterisk stops reading.
    (tmp_path / "pjsip_voipguard.conf").write_text(written.replace("[carrier]\ntype = voipguard-placeholder-endpoint\n", ""))
    assert [category for _path, _line, category in load_as_asterisk_reads(str(tmp_path / "pjsip.conf"))[1]] == ["carrier"]


def test_with_the_instance_the_main_asterisk_sends_the_carrier_no_in_dialog_invite():
    """The firewall drops every INVITE of the main Asterisk to a carrier, and pjsip ends a call
    whose re-INVITE times out: in a carrier's inbound call the trunk endpoint must send none. The
    operator's direct media, hold passed through and connected-line updates are overridden, by an
    addition to the trunk endpoint in the guard's own file; its copies say the same, run after run."""
    from ansible.module_utils.trunk_boundary import instance_copy_drift  # pylint: disable=import-outside-toplevel
    operator = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\ndirect_media=yes\n"
                               "moh_passthrough=yes\nsend_pai=yes\n")
    first = plan(sections(operator), CARRIER, instance_port=5070)
    assert first["trunks"][0]["in_dialog_off"] == [
        ("direct_media", "no"), ("moh_passthrough", "no"), ("send_connected_line", "no")]
    main_copy = render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=first)
    assert "[carrier](+type=endpoint)" in main_copy
    # Additions last: Asterisk stops reading the file at one to a trunk deleted since the run,
    # and the egress and the copies must not go with it.
    additions = [s.is_addition for s in parse(main_copy, "pjsip_voipguard.conf").sections if s.header is not None]
    assert additions == sorted(additions) and additions[-1], additions
    looped = operator.replace("context=from-carrier\n", "context=from-carrier\n"
                              "outbound_proxy=sip:carrier@127.0.0.1:5060\\;lr\n")
    trunk, copy = _trunk_and_copy(looped, main_copy)
    # What Asterisk runs for the trunk: the addition, read last, wins; the operator's lines stay.
    assert [trunk[key][-1] for key in ("direct_media", "moh_passthrough", "send_connected_line")] == ["no"] * 3
    assert trunk["send_pai"] == ["yes"] and "direct_media=yes" in looped
    held = dict(first["instance"]["trunks"][0]["options"])
    for key, value in first["trunks"][0]["in_dialog_off"]:
        assert copy[key] == [value] and held[key] == value
    # The next run plans the same copies (idempotent) and finds no drift.
    main = sections(looped) + asterisk_config_info.describe([parse(main_copy, "/etc/asterisk/pjsip_voipguard.conf")])[
        "sections"]
    again = plan(main, CARRIER, instance_port=5070)
    assert again["trunks"][0]["copy_options"] == first["trunks"][0]["copy_options"]
    held_effective = asterisk_config_info.describe([parse(render("boundary/pjsip.conf.j2", toll_fraud_guard_boundary=first),
                                                          "/etc/voipguard-boundary/pjsip.conf")])["sections"]
    held_effective = dict((s["name"], s["effective"]) for s in held_effective if s.get("type") == "endpoint")["carrier"]
    assert copy_drift("carrier", trunk, copy) == [] and instance_copy_drift("carrier", trunk, copy, held_effective) == []
    # Switched off, the run reads the trunk with the addition still there: it plans the operator's
    # values, as the next run will (it once copied the addition's, and took two runs to settle).
    read_together = asterisk_config_info.describe([parse(looped, "/etc/asterisk/pjsip.conf"),
                                                   parse(main_copy, "/etc/asterisk/pjsip_voipguard.conf")])
    carrier = [s for s in read_together["sections"] if s["name"] == "carrier" and not s["is_addition"]
               and s.get("type") == "endpoint"][0]
    assert carrier["effective"]["direct_media"] == ["yes", "no"]  # what Asterisk reads: the addition last
    switched_off = plan(read_together["sections"], CARRIER)
    assert switched_off["trunks"][0]["in_dialog_off"] == []
    options = dict(switched_off["trunks"][0]["copy_options"])
    assert (options["direct_media"], options["moh_passthrough"]) == ("yes", "yes")
    assert "send_connected_line" not in options
    # Without the instance the trunk is the operator's: nothing added.
    plain = plan(sections(operator), CARRIER)
    assert plain["trunks"][0]["in_dialog_off"] == []
    assert "(+type=endpoint)" not in render("pjsip_voipguard.conf.j2", toll_fraud_guard_boundary=plain)
    assert dict(plain["trunks"][0]["copy_options"])["direct_media"] == "yes"


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("aors=carrier\n", "aors=carrier-aor\n"), "aor carrier-aor is not defined"),
    # An inbound fax's T.38 re-INVITE would be dropped, and the call with it.
    (lambda t: t.replace("aors=carrier\n", "aors=carrier\nt38_udptl=yes\n"), "t38_udptl = yes"),
])
def test_what_the_instance_cannot_carry_yet_stops_the_run_with_the_reason(change, message):
    with pytest.raises(BoundaryError, match=re.escape(message)):
        plan(sections(change(FIXTURE)), CARRIER, instance_port=5070)


def test_behind_nat_the_instance_announces_the_public_address_with_its_own_port():
    natted = FIXTURE.replace("[transport-udp]\ntype=transport\n",
                             "[transport-udp]\ntype=transport\nexternal_signaling_address=203.0.113.5\n"
                             "external_signaling_port=5060\nexternal_media_address=203.0.113.5\n"
                             "local_net=198.51.100.0/24\n")
    assert natted != FIXTURE
    (held,) = plan(sections(natted), CARRIER, instance_port=5070)["instance"]["trunks"]
    assert held["nat"] == [("external_media_address", "203.0.113.5"), ("external_signaling_address", "203.0.113.5"),
                           ("local_net", "198.51.100.0/24")]


def test_the_instance_port_must_not_be_the_pbxs_own():
    with pytest.raises(BoundaryError, match="port 5060 is the PBX's own SIP port"):
        plan(sections(FIXTURE), CARRIER, instance_port=5060)


def test_the_copy_forwarding_to_the_instance_is_not_drift_and_never_taken_for_the_operators_proxy():
    written = render("pjsip_voipguard.conf.j2",
                     toll_fraud_guard_boundary=plan(sections(FIXTURE), CARRIER, instance_port=5070))
    looped = FIXTURE.replace("context=from-carrier\n", "context=from-carrier\n"
                             "outbound_proxy=sip:carrier@127.0.0.1:5060\\;lr\n")
    trunk, copy = _trunk_and_copy(looped, written)
    assert copy["outbound_proxy"] == ["sip:carrier@127.0.0.1:5070;lr;voipguard"]
    assert copy_drift("carrier", trunk, copy) == []
    # read back on the next run, the instance's proxy is voipguard's, not the operator's
    assert not [k for k, _ in copy_options("carrier", trunk, copy) if k == "outbound_proxy"]


def test_the_instances_files_parse_and_it_judges_before_it_dials_the_carrier():
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=True,
                                           trunk_boundary_instance_port=5070, pjsip_sections=sections(FIXTURE)))
    boundary = built["trunk_boundary"]
    pjsip = parse(render("boundary/pjsip.conf.j2", toll_fraud_guard_boundary=boundary), "pjsip.conf")
    names = [(s.name, s.get("type")) for s in pjsip.sections if s.header is not None]
    assert names == [("global", "global"), ("voipguard-carriers", "transport"), ("voipguard-main", "endpoint"),
                     ("voipguard-main", "identify"), ("carrier", "endpoint"), ("carrier", "aor")]
    extensions = render("boundary/extensions.conf.j2", toll_fraud_guard_boundary=boundary)
    assert "#include extensions_voipguard.conf" in extensions  # the very tables the main Asterisk runs
    judging = extensions.split("[voipguard-boundary]")[1].split("\n[")[0]
    assert judging.index("Set(VOIPGUARD_JUDGE_ONLY=1)") < judging.index("Gosub(voipguard-check,s,1)") < judging.index(
        "Dial(PJSIP/${FILTER(0-9+,${EXTEN})}@${VOIPGUARD_TRUNK_ENDPOINT})")
    assert "unknown-trunk" in judging
    dialplan = render("extensions_voipguard.conf.j2", toll_fraud_guard_compiled=built["policy"],
                      toll_fraud_guard_endpoint_plan=built["endpoint_plan"], toll_fraud_guard_boundary=boundary)
    check = dialplan.split("[voipguard-check]")[1].split("\n[")[0]
    # judged only: a destination refusal comes first, and it returns before any limit or budget
    assert check.index("?refuse_destination)") < check.index('"${VOIPGUARD_JUDGE_ONLY}" != "1"]?not_judge_only)') < \
        check.index("Gosub(voipguard-lock,s,1(wait))")


def test_switched_off_after_the_instance_the_trunk_gets_no_proxy_of_voipguards_back():
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    looped = FIXTURE.replace("context=from-carrier", "context=from-carrier\noutbound_proxy=sip:carrier@127.0.0.1:5060\\;lr")
    copy = "\n[voipguard-trunk-carrier]\ntype=endpoint\noutbound_proxy=sip:carrier@127.0.0.1:5070\\;lr\\;voipguard\n"
    built = toll_fraud_policy.build(params(trunks=["carrier"], trunk_boundary=False,
                                           pjsip_sections=sections(looped + copy)))
    assert built["trunk_boundary_undo"] == [{"name": "carrier", "endpoint": "carrier",
                                             "file": "/etc/asterisk/pjsip.conf", "section_type": "endpoint",
                                             "option_prefix": "", "include_root": None, "proxy": "",
                                             "loop_lines": []}]


OUTPUT_CHAIN = """table inet voipguard {
	chain output {
		type filter hook output priority filter - 10; policy accept;
		meta skuid 101 ip daddr @trunks_v4 meta l4proto udp @th,64,48 0x494e56495445 counter packets 0 bytes 0 drop comment "voipguard: INVITE from the main Asterisk to a trunk"
	}
}"""


def test_calls_past_the_loop_are_gated_only_by_the_instance_and_the_firewall_together():
    from ansible.module_utils.trunk_boundary import past_the_loop_reasons  # pylint: disable=import-outside-toplevel
    gated = {"carrier": "sip:carrier@127.0.0.1:5070;lr;voipguard"}
    assert past_the_loop_reasons(["carrier"], gated, ["carrier", "voipguard-main"], OUTPUT_CHAIN) == []
    # The loop alone (the role's default): the copy dials the carrier, no instance, no rule.
    reasons = past_the_loop_reasons(["carrier"], {"carrier": ""}, None, "")
    assert len(reasons) == 3
    assert "copy voipguard-trunk-carrier dials the carrier itself" in reasons[0]
    assert "instance (voipguard-boundary.service) does not answer" in reasons[1]
    assert reasons[2].startswith("no firewall rule drops the main Asterisk's INVITEs")
    # Each part missing alone is named.
    assert "has not loaded trunk carrier" in past_the_loop_reasons(["carrier"], gated, ["voipguard-main"], OUTPUT_CHAIN)[0]
    assert "no firewall rule" in past_the_loop_reasons(
        ["carrier"], gated, ["carrier"], OUTPUT_CHAIN.replace(" drop comment", " accept comment"))[0]
    assert "dials the carrier itself" in past_the_loop_reasons(["carrier"], {"carrier": None}, ["carrier"], OUTPUT_CHAIN)[0]


def test_the_instance_dials_with_the_trunks_outbound_auth_by_name_only():
    operator = FIXTURE.replace("aors=carrier\n", "aors=carrier\noutbound_auth=carrier-auth\nauth=carrier-in\n")
    (held,) = plan(sections(operator), CARRIER, instance_port=5070)["instance"]["trunks"]
    assert held["auths"] == ["carrier-auth"]
    assert ("outbound_auth", "carrier-auth") in held["options"]
    # the carrier's calls never reach the instance: no inbound auth there
    assert "auth" not in dict(held["options"])


def test_the_audit_judges_the_running_trunk_by_the_options_the_role_sets():
    """VOIP-TF-009 reads `pjsip show endpoint <trunk>` and asks the same question as the plan:
    would the main Asterisk send the carrier an INVITE in its inbound call?"""
    from ansible.module_utils.trunk_boundary import in_dialog_invites  # pylint: disable=import-outside-toplevel
    shown = {"direct_media": "false", "moh_passthrough": "false", "send_connected_line": "false",
             "t38_udptl": "false", "send_pai": "true"}
    assert in_dialog_invites(shown) == []
    assert in_dialog_invites(dict(shown, direct_media="true")) == ["direct_media is true"]
    assert in_dialog_invites(dict(shown, t38_udptl="true", send_connected_line="yes")) == [
        "send_connected_line is yes", "t38_udptl is true"]
    # An option the running Asterisk does not show is not taken as off.
    assert in_dialog_invites(dict((k, v) for k, v in shown.items() if k != "moh_passthrough")) == [
        "moh_passthrough not shown"]


# A trunk as installers and the Asterisk docs write it with the config wizard: its template in
# pjsip_wizard.conf, the trunk itself in an included file.
WIZARD_TRUNK = """[trunk-tpl](!)
type = wizard
sends_auth = yes
remote_hosts = 198.51.100.20:5060
endpoint/context = from-carrier
endpoint/disallow = all
endpoint/allow = ulaw
endpoint/aors = ignored-by-the-wizard
#include wizard.d/trunks.conf
"""
WIZARD_TRUNK_INCLUDED = """[carrier](trunk-tpl)
outbound_auth/username = acme
outbound_auth/password = not-a-real-secret
endpoint/from_user = 4930123
"""


def wizard(tmp_path, trunk=WIZARD_TRUNK_INCLUDED):
    """asterisk_config_info's reading of a pjsip_wizard.conf whose trunk lives in an included file."""
    (tmp_path / "wizard.d").mkdir(exist_ok=True)
    (tmp_path / "wizard.d" / "trunks.conf").write_text(trunk)
    root = tmp_path / "pjsip_wizard.conf"
    root.write_text(WIZARD_TRUNK)
    return asterisk_config_info.describe(load(str(root), config_dir=str(tmp_path)))


def pjsip_without_the_carrier():
    return re.sub(r"(?ms)^\[carrier\].*?(?=^\[|\Z)", "", FIXTURE)


def plan_with_wizard(read, **kwargs):
    """The boundary's plan of the fixture without its carrier, whose trunk the wizard ``read`` makes."""
    pjsip = sections(pjsip_without_the_carrier())
    return plan(pjsip, CARRIER, definitions=trunk_definitions(pjsip, read), **kwargs)


# A local application behind a wizard (a SIP proxy or an IVR on the same host, say): the identify
# res_pjsip_config_wizard makes of its remote_hosts takes the loop's INVITEs as one in pjsip.conf
# would (handle_identify: the hosts, unless identify/match is given). Asterisk 22 keeps a host's
# port (lab: "Match: 127.0.0.1:5080/32"), so another port takes none of them.
LOCAL_APP_WIZARD = """
[localapp]
type = wizard
remote_hosts = %s
endpoint/context = from-internal
"""


@pytest.mark.parametrize("options, refused", [
    ("127.0.0.1", True),
    ("127.0.0.1:5080", False),  # its own port only
    ("127.0.0.1\naccepts_registrations = yes", False),  # no identify when it takes registrations
    ("192.0.2.7\nidentify/match = 127.0.0.1", True),  # its own match, not the remote hosts
    ("192.0.2.7", False),
])
def test_an_identify_a_wizard_makes_of_the_loops_own_address_is_refused(tmp_path, options, refused):
    read = wizard(tmp_path, WIZARD_TRUNK_INCLUDED + LOCAL_APP_WIZARD % options)
    if not refused:
        assert plan_with_wizard(read)["egress"]["matches"] == ["127.0.0.1:5060"]
        return
    with pytest.raises(BoundaryError, match=re.escape(
            "identify localapp-identify (endpoint localapp) matches 127.0.0.1, the address the trunk "
            "boundary's looped INVITEs come from (127.0.0.1:5060)")):
        plan_with_wizard(read)


@pytest.mark.parametrize("proxy, refused", [
    ("outbound_proxy = sip:sbc.example.net\\;lr", True),
    ("outbound_proxy =", False),  # empty: the wizard appends nothing
    ("endpoint/outbound_proxy = sip:sbc.example.net\\;lr", False),  # the endpoint's own: the loop moves it
])
def test_a_wizard_trunk_whose_wizard_wide_outbound_proxy_overrides_the_loop_is_refused(tmp_path, proxy, refused):
    # res_pjsip_config_wizard's handle_endpoint sets the wizard-wide outbound_proxy after the
    # endpoint/ options: the loop's would never be in force.
    read = wizard(tmp_path, WIZARD_TRUNK_INCLUDED + proxy + "\n")
    effective = trunk_definitions(sections(pjsip_without_the_carrier()), read)["carrier"]["endpoint_options"]
    if not refused:
        assert plan_with_wizard(read)["trunks"][0]["proxy"] == "sip:carrier@127.0.0.1:5060;lr"
        return
    assert effective["outbound_proxy"][-1] == "sip:sbc.example.net;lr"  # what the endpoint keeps
    with pytest.raises(BoundaryError, match=re.escape(
            "trunk carrier: endpoint carrier: its wizard in pjsip_wizard.conf sets outbound_proxy for all its "
            "objects, which overrides the loop's endpoint/outbound_proxy")):
        plan_with_wizard(read)


def test_a_wizard_trunk_is_looped_in_its_wizard_section_and_its_copy_names_the_wizards_objects(tmp_path):
    read = wizard(tmp_path)
    result = plan_with_wizard(read)
    (trunk,) = result["trunks"]
    assert trunk["proxy"] == "sip:carrier@127.0.0.1:5060;lr"
    assert (trunk["file"], trunk["section_type"], trunk["option_prefix"], trunk["include_root"]) == (
        str(tmp_path / "wizard.d" / "trunks.conf"), "wizard", "endpoint/", str(tmp_path / "pjsip_wizard.conf"))
    lines = trunk["copy_options"]
    # What res_pjsip_config_wizard makes of the wizard: the aor of its name, its outbound auth.
    for line in [("aors", "carrier"), ("outbound_auth", "carrier-oauth"), ("context", "from-carrier"),
                 ("allow", "ulaw"), ("from_user", "4930123")]:
        assert line in lines, line
    # Wizard options are no endpoint options; nothing of the auth (its password) reaches the copy.
    assert not [key for key, _ in lines if "/" in key or key in ("remote_hosts", "sends_auth")], lines
    assert "not-a-real-secret" not in repr(result)
    assert ("aors", "ignored-by-the-wizard") not in lines


def test_the_policy_writes_a_wizard_trunks_loop_and_group_as_endpoint_options_of_the_wizard(tmp_path):
    read = wizard(tmp_path)
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    result = toll_fraud_policy.build(params(
        trunks=["carrier"], trunk_boundary=True, trunk_max_concurrent_calls={"carrier": 2},
        pjsip_sections=sections(pjsip_without_the_carrier()), pjsip_wizard=read))
    changes = [c for c in result["trunk_changes"] if c["section"] == "carrier"]
    where = {"path": str(tmp_path / "wizard.d" / "trunks.conf"), "section": "carrier", "section_type": "wizard",
             "create_section": False, "include_root": str(tmp_path / "pjsip_wizard.conf"), "gui_read_first": True}
    assert dict(where, option="endpoint/set_var", values=["GROUP(voipguard-trunk)=carrier"],
                values_mode="append") in changes
    assert dict(where, option="endpoint/outbound_proxy", value="sip:carrier@127.0.0.1:5060;lr") in changes
    assert len(changes) == 2


def test_a_wizard_trunk_switched_off_gets_its_own_proxy_back_in_its_wizard_section(tmp_path):
    looped = WIZARD_TRUNK_INCLUDED + "endpoint/outbound_proxy = sip:carrier@127.0.0.1:5060\\;lr\n"
    from test_toll_fraud_policy import params  # pylint: disable=import-outside-toplevel
    result = toll_fraud_policy.build(params(
        trunks=["carrier"], trunk_boundary=False,
        pjsip_sections=sections(pjsip_without_the_carrier()), pjsip_wizard=wizard(tmp_path, looped)))
    (change,) = [c for c in result["trunk_changes"] if c["section"] == "carrier"]
    assert (change["option"], change["state"], change["value"], change["section_type"]) == (
        "endpoint/outbound_proxy", "absent", None, "wizard")


def test_the_boundary_instance_holds_a_wizard_trunk_once_the_wizard_sends_no_in_dialog_invite(tmp_path):
    # The wizard sets none of the three: the run names the two whose defaults would send one.
    with pytest.raises(BoundaryError, match=r"trunk carrier is made by pjsip_wizard.conf .*set "
                                            r"endpoint/direct_media = no, endpoint/send_connected_line = no in"):
        plan_with_wizard(wizard(tmp_path), instance_port=5070)
    ready = WIZARD_TRUNK_INCLUDED + "endpoint/direct_media = no\nendpoint/send_connected_line = no\n"
    result = plan_with_wizard(wizard(tmp_path, ready), instance_port=5070)
    (trunk,) = result["trunks"]
    assert trunk["in_dialog_off"] == []  # nothing added to the wizard's endpoint: it says so itself
    (held,) = result["instance"]["trunks"]
    # The aor and the outbound auth the wizard makes, held by the instance.
    assert held["aors"] == [{"name": "carrier", "options": [("type", "aor"), ("contact", "sip:198.51.100.20:5060")]}]
    assert held["auths"] == ["carrier-oauth"]
    assert ("outbound_auth", "carrier-oauth") in held["options"] and ("aors", "carrier") in held["options"]
    with pytest.raises(BoundaryError, match="not defined in pjsip.conf, its includes or pjsip_wizard.conf"):
        plan_with_wizard({"files": [], "sections": []})


def test_the_instance_gets_the_outbound_auth_a_wizard_makes(tmp_path):
    import asterisk_auth_copy  # pylint: disable=import-outside-toplevel
    wizard(tmp_path)
    configs = load(str(tmp_path / "pjsip_wizard.conf"), config_dir=str(tmp_path))
    pjsip = [parse(pjsip_without_the_carrier(), "/etc/asterisk/pjsip.conf")]
    text = asterisk_auth_copy.render(pjsip, ["carrier-oauth"], wizard_configs=configs)
    assert text.splitlines() == ["[carrier-oauth]", "type = auth", "auth_type = userpass",
                                 "password = not-a-real-secret", "username = acme"]
    with pytest.raises(asterisk_auth_copy.AuthCopyError, match="nor made by a wizard of"):
        asterisk_auth_copy.render(pjsip, ["other-oauth"], wizard_configs=configs)
