"""The controller-side module library/toll_fraud_policy.py and the dialplan it feeds."""
import json
import re
from pathlib import Path

import jinja2
import pytest

import toll_fraud_policy
from ansible.module_utils.dial_policy import PolicyError
from tests.module_runner import run_module
from tests.role_defaults import TOLL_FRAUD_POLICY_VARIABLES, argument_specs, toll_fraud_policy_params

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "toll_fraud"
TEMPLATES = ROOT / "roles" / "toll_fraud_guard" / "templates"


def params(**overrides):
    base = toll_fraud_policy_params(
        rates=[{"prefix": "49", "price_per_minute": 0.02}],
        default_price_per_minute=0.5, max_price_per_minute=1,
        budgets={"pbx_day": 20, "pbx_month": 200, "endpoint_day": 5, "endpoint_month": 50},
        business_hours={"time": "08:00-18:00", "days": "mon-fri"},
        internal_patterns=["_1XXX"],
        pjsip_conf=(FIXTURES / "pjsip.conf").read_text(),
        trunk_endpoints=["carrier"], trunk_boundary=False)
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def built():
    return toll_fraud_policy.build(params())


def render(result, **extra):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                             undefined=jinja2.StrictUndefined)
    variables = {"toll_fraud_guard_compiled": result["policy"],
                 "toll_fraud_guard_endpoint_plan": result["endpoint_plan"]}
    variables.update(extra)
    return env.get_template("extensions_voipguard.conf.j2").render(**variables)


def test_endpoints_read_through_templates_trunk_left_alone(built):
    assert built["endpoint_plan"] == {"1001": "from-internal", "1002": "from-internal",
                                      "1003": "from-internal", "anonymous": "from-internal"}
    assert built["guard_contexts"] == {"from-internal": "voipguard-guard-from-internal"}
    assert built["unguarded_endpoints"] == ["carrier"]


def test_defaults_block_the_incident_destinations(built):
    policy = built["policy"]
    assert {"SO", "ZW", "CU", "LV", "LT"} <= set(policy["blocked_countries"])
    assert {"881", "882", "883"} <= set(policy["blocked_prefixes"])
    rows = {row["prefix"]: row for row in policy["destinations"]}
    assert rows["263"]["blocked"] == "country" and rows["252"]["blocked"] == "country"
    assert rows["49"]["blocked"] == "" and rows["49"]["price"] == 2000


def test_exempt_endpoint_is_not_guarded():
    result = toll_fraud_policy.build(params(exempt_endpoints=["anonymous"]))
    assert "anonymous" not in result["endpoint_plan"]
    assert "anonymous" in result["unguarded_endpoints"]


def test_bad_policy_raises():
    with pytest.raises(PolicyError, match="unknown ISO"):
        toll_fraud_policy.build(params(blocked_countries=["ZZZ"]))
    with pytest.raises(PolicyError, match="pjsip.conf"):
        toll_fraud_policy.build(params(pjsip_conf="[1001](missing-tpl)\ntype=endpoint\n"))


def test_includes_are_reported():
    result = toll_fraud_policy.build(params(pjsip_conf="#include pjsip.d/*.conf\n"))
    assert result["warnings"] and "pjsip.d/*.conf" in result["warnings"][0]


def test_policy_is_json_for_the_audit(built):
    data = json.loads(json.dumps(built["policy"]))
    for key in ("currency", "budgets", "max_price_per_minute", "blocked_countries",
                "blocked_prefixes", "allowed_countries", "concurrency", "calls_per_minute",
                "alerts", "max_call_seconds"):
        assert key in data
    assert data["currency"] == "EUR" and data["money_unit"] == "millicent"


def test_dialplan_guard_and_original_context(built):
    text = render(built)
    assert "[voipguard-guard-from-internal]" in text
    assert "Goto(from-internal,${EXTEN},1)" in text
    assert ";   endpoint 1001: context=from-internal" in text
    # no shell from the dialplan: caller data never reaches a command line
    assert not re.search(r"\b(System|SHELL|TrySystem)\(", text)


def test_dialplan_checks_emergency_before_everything(built):
    text = render(built)
    check = text[text.index("[voipguard-check]"):]
    emergency = check.index("voipguard-emergency")
    for later in ("voipguard-internal", "voipguard-reading", "Gosub(voipguard-lock,s,1(wait))",
                  "voipguard-merge"):
        assert check.index(later) > emergency
    assert "exten => 112,1,Return(1)" in text and "exten => 110,1,Return(1)" in text


def test_dialplan_destination_rows(built):
    text = render(built)
    assert "exten => _263.,1,Return(ZW|country|100000)" in text  # unpriced foreign: the maximum price
    assert "exten => _49.,1,Return(DE||2000)" in text
    assert "exten => _00Z.,1,Return(${EXTEN:2})" in text
    assert "exten => _0Z.,1,Return(49${EXTEN:1})" in text


def test_dialplan_never_calls_out_even_with_a_webhook(built):
    # Alerts leave the PBX through the notifier (Apprise), never from the dialplan.
    url = "https://alerts.example.org/hook?token=abc"
    text = render(built, toll_fraud_guard_alert_webhook_url=url)
    assert "CURL(" not in text and "token=abc" not in text and "System(" not in text


def test_the_policy_records_how_many_places_the_alerts_go():
    assert toll_fraud_policy.build(params())["policy"]["alerts"]["destinations"] == 0
    assert toll_fraud_policy.build(params(alert_destinations=2))["policy"]["alerts"]["destinations"] == 2


def test_dialplan_block_on_alert_and_outside_line():
    result = toll_fraud_policy.build(params(block_on_alert=True, outside_line="0"))
    text = render(result)
    assert "?refuse_burst)" in text
    assert "Goto(refuse_off_hours)" in text
    assert '${num:0:1}" != "0"' in text


def test_the_module_reads_both_ways_only_without_the_trunk_leg_and_with_mixed_routes():
    mixed = [{"context": "from-internal", "pattern": "_0X.", "strip": 1},
             {"context": "from-internal", "pattern": "_00X.", "strip": 0}]
    assert toll_fraud_policy.build(params(outside_line="0", outside_line_routes=mixed))[
        "policy"]["outside_line_as_dialed_too"] is True
    assert toll_fraud_policy.build(params(outside_line="0", outside_line_routes=mixed[:1]))[
        "policy"]["outside_line_as_dialed_too"] is False
    assert toll_fraud_policy.build(params(outside_line="0", outside_line_routes=mixed, trunk_boundary=True,
                                          trunk_endpoints=[]))["policy"]["outside_line_as_dialed_too"] is False
    # The operator's digit, no routes read: the number is read without it.
    text = render(toll_fraud_policy.build(params(outside_line="0")))
    assert "Set(LOCAL(read)=${num:1})" in text and "Gosub(voipguard-reading,s,1(${num:1}))" not in text


@pytest.mark.parametrize("option", ["outside_line_routes", "phone_routes"])
@pytest.mark.parametrize("routes", [["_0X."], "_0X.", [{"context": "x", "pattern": "_0X.", "strip": 1}, 3],
                                    [{"pattern": "_0X.", "strip": 1, "prepend": "0531"}],
                                    [{"context": "x", "pattern": "_0X.", "strip": "one"}]])
def test_routes_that_are_no_list_of_routes_are_named(option, routes):
    result = run_module(toll_fraud_policy, params(outside_line="0", local_area_code="auto", **{option: routes}))
    assert result.get("failed") and option in result["msg"], result.get("msg")


def test_the_area_code_of_local_numbers_is_read_from_the_phones_routes():
    route = {"context": "from-internal", "pattern": "_0ZXXXXX.", "strip": 1, "prepend": "0531",
             "file": "/etc/asterisk/extensions.conf", "line": 12}
    built = toll_fraud_policy.build(params(local_area_code="auto", phone_routes=[route]))
    assert built["policy"]["local_area_code"] == "531" and not built["warnings"]
    assert "local numbers in area code 531," in render(built)
    # Without such a route none; the operator's own value wins over the routes.
    assert toll_fraud_policy.build(params(local_area_code="auto"))["policy"]["local_area_code"] == ""
    assert toll_fraud_policy.build(params(local_area_code="511", phone_routes=[route]))[
        "policy"]["local_area_code"] == "511"
    # Two towns: none, and the run says why.
    other = dict(route, context="office2", prepend="0511")
    built = toll_fraud_policy.build(params(local_area_code="auto", phone_routes=[route, other]))
    assert built["policy"]["local_area_code"] == "" and "different area codes" in built["warnings"][0]


def test_the_settings_alone_are_checked_before_the_pbx_is_read():
    # validate.yml's call: no PBX files yet (a trunk boundary would need them), the policy only.
    early = params(policy_only=True, pjsip_conf="", trunk_endpoints=["carrier"], trunks=["carrier"],
                   trunk_boundary=True)
    result = run_module(toll_fraud_policy, early)
    assert not result.get("failed"), result.get("msg")
    assert result["policy"]["site_country"] == "DE" and "endpoint_plan" not in result
    # A wrong setting fails there, naming the variable, before the run changes the host.
    for wrong, message in [({"local_area_code": "0531"}, "toll_fraud_guard_local_area_code: area code 0531"),
                           ({"rates": [{"prefix": "49", "price_per_minute": "cheap"}]}, "amount in EUR"),
                           ({"max_call_seconds": "ten"}, "max_call_seconds")]:
        result = run_module(toll_fraud_policy, dict(early, **wrong))
        assert result.get("failed") and message in result["msg"], (wrong, result.get("msg"))


def check_section(text):
    return text[text.index("[voipguard-check]"):]


def test_dialplan_national_calls_reserve_only_in_their_own_cap_but_are_settled_everywhere():
    def scopes_reserved(text):
        return re.findall(r"Set\(LOCAL\(in(\d)\)=([^)]*\]?)\)", check_section(text))

    budgets = dict(params()["budgets"], national_day=15)
    check = check_section(render(toll_fraud_policy.build(params(budgets=budgets))))
    # The four budgets: not for national calls; the fifth, national-day: only for them.
    assert scopes_reserved(render(toll_fraud_policy.build(params(budgets=budgets)))) == \
        [("1", "$[!${national}]"), ("2", "$[!${national}]"), ("3", "$[!${national}]"),
         ("4", "$[!${national}]"), ("5", "${national}")]
    assert check.index("?refuse_destination)") < check.index("(reserve),") < check.index("(settle),")
    settle = render(toll_fraud_policy.build(params(budgets=budgets))).split("[voipguard-settle]")[1]
    assert "Set(LOCAL(add5)=$[${cost} * ${national}])" in settle and "Set(LOCAL(add1)=${cost})" in settle
    # Without a national cap, national calls reserve nowhere; with budget_national, everywhere.
    assert [v for _, v in scopes_reserved(render(toll_fraud_policy.build(params())))] == ["$[!${national}]"] * 4
    assert [v for _, v in scopes_reserved(render(toll_fraud_policy.build(params(budget_national=True, budgets=budgets))))] \
        == ["1", "1", "1", "1", "${national}"]


def test_dialplan_takes_the_cheap_lock_and_never_waits_in_the_hangup_handler():
    text = render(toll_fraud_policy.build(params()))
    # LOCK() costs ~10 ms of autoservice per call; the guard's own lock replaced it everywhere.
    assert not re.search(r"\$\{(TRY)?LOCK\(|\$\{UNLOCK\(", text)
    check, settle = check_section(text), text.split("[voipguard-settle]")[1].split("\n[")[0]
    assert check.index("Gosub(voipguard-lock,s,1(wait))") < check.index("voipguard-count")
    # Wait() on a hung-up channel ends the handler before it charges: it tries again at once.
    assert "Gosub(voipguard-lock,s,1(spin))" in settle and "Wait(" not in settle
    assert settle.index("voipguard-lock,s,1(spin)") < settle.index("Set(DB(") < settle.index("voipguard-unlock")


def test_dialplan_trunk_caps():
    assert "voipguard-trunk" not in render(toll_fraud_policy.build(params(trunks=["carrier"])))
    capped = render(toll_fraud_policy.build(params(trunks=["carrier"],
                                                   trunk_max_concurrent_calls=2)))
    check = check_section(capped)
    assert "GotoIf($[${GROUP_COUNT(carrier@voipguard-trunk)} < 2]?trunk_free)" in check
    assert "(refuse_trunk),Gosub(voipguard-refuse,s,1(trunk-concurrent-calls))" in check
    assert check.index("voipguard-emergency") < check.index("GROUP_COUNT(carrier@")
    assert "VOIPGUARD_DIAL_LIMIT=L(${seconds}000)b(voipguard-trunk-cap^s^1))" in check
    handler = capped.split("[voipguard-trunk-cap]")[1]
    assert '"${trunk}" = "carrier" & ${GROUP_COUNT(carrier@voipguard-trunk)} > 2]?full)' in handler
    # an uncapped second trunk always has room: no refusal in the guard, the handler stays
    partly = render(toll_fraud_policy.build(params(
        trunks=["carrier", "backup"], trunk_max_concurrent_calls={"carrier": 2})))
    assert "?trunk_free)" not in partly and "[voipguard-trunk-cap]" in partly


def test_the_task_feeds_every_parameter_from_the_variable_the_tests_assume():
    # roles/toll_fraud_guard/tasks/policy_compile.yml is the wiring; tests/role_defaults.py mirrors it.
    import yaml  # pylint: disable=import-outside-toplevel
    tasks = yaml.safe_load((ROOT / "roles/toll_fraud_guard/tasks/policy_compile.yml").read_text())
    call = next(t["toll_fraud_policy"] for t in tasks if "toll_fraud_policy" in t)
    options = argument_specs("toll_fraud_guard")
    for param, variable in TOLL_FRAUD_POLICY_VARIABLES.items():
        assert variable in call[param], (param, call[param])
        assert variable in options, variable


def test_the_static_subroutines_are_plain_dialplan_included_once(built):
    static = (TEMPLATES / "extensions_voipguard_subroutines.conf").read_text()
    assert "{{" not in static and "{%" not in static and "{#" not in static
    text = render(built)
    for context in re.findall(r"^\[([^\]]+)\]", static, re.M):
        assert text.count("[%s]" % context) == 1, context


WIZARD = {
    "files": ["/etc/asterisk/pjsip_wizard.conf", "/etc/asterisk/wizard.d/phones.conf"],
    "sections": [
        {"name": "phone", "type": "wizard", "is_template": True, "is_addition": False,
         "file": "/etc/asterisk/pjsip_wizard.conf", "effective": {"type": ["wizard"]}},
        {"name": "2101", "type": "wizard", "is_template": False, "is_addition": False,
         "file": "/etc/asterisk/wizard.d/phones.conf",
         "effective": {"type": ["wizard"], "endpoint/context": ["from-internal"]}},
        {"name": "2102", "type": "wizard", "is_template": False, "is_addition": False,
         "file": "/etc/asterisk/wizard.d/phones.conf",
         "effective": {"type": ["wizard"], "endpoint/context": ["sales"], "hint_exten": ["2102"],
                       "has_hint": ["yes"]}},
    ]}
PJSIP_SECTIONS = [
    {"name": "1001", "type": "endpoint", "is_template": False, "is_addition": False,
     "file": "/etc/asterisk/pjsip.d/phones.conf", "effective": {"context": ["from-internal"]}},
    {"name": "1001", "type": "endpoint", "is_template": False, "is_addition": True,
     "file": "/etc/asterisk/pjsip_custom.conf", "effective": {"context": ["from-internal"]}},
]


def test_each_phone_is_guarded_where_it_is_defined_wizard_phones_too():
    plan = {"1001": "from-internal", "2101": "from-internal", "2102": "sales", "elsewhere": "x"}
    changes = toll_fraud_policy.guard_changes(plan, PJSIP_SECTIONS, WIZARD)
    by = dict(((c["section"], c["option"]), c) for c in changes)
    assert by[("1001", "context")] == {
        "path": "/etc/asterisk/pjsip.d/phones.conf", "section": "1001", "section_type": "endpoint",
        "option": "context", "value": "voipguard-guard-from-internal", "create_section": False}
    # A wizard phone in an included file: edited there, its template found through the root.
    assert by[("2101", "endpoint/context")] == {
        "path": "/etc/asterisk/wizard.d/phones.conf", "section": "2101", "section_type": "wizard",
        "option": "endpoint/context", "value": "voipguard-guard-from-internal", "create_section": False,
        "include_root": "/etc/asterisk/pjsip_wizard.conf"}
    # Its hints would follow the endpoint's context into the guard's: kept in the operator's.
    assert by[("2102", "hint_context")]["value"] == "sales"
    assert ("2101", "hint_context") not in by
    # An endpoint no section defines (realtime, say) gets no change here.
    assert [c for c in changes if c["section"] == "elsewhere"] == []
    assert len(changes) == 4


def test_a_wizard_phone_with_its_own_hint_context_keeps_it():
    wizard = {"files": WIZARD["files"], "sections": [dict(
        WIZARD["sections"][2], effective=dict(WIZARD["sections"][2]["effective"], hint_context=["blf"]))]}
    changes = toll_fraud_policy.guard_changes({"2102": "sales"}, [], wizard)
    assert [c["option"] for c in changes] == ["endpoint/context"]


def test_the_role_plans_wizard_phones():
    result = toll_fraud_policy.build(params(
        endpoint_contexts={"1001": "from-internal", "2101": "from-internal", "carrier": "from-carrier"},
        pjsip_sections=PJSIP_SECTIONS, pjsip_wizard=WIZARD))
    assert result["endpoint_plan"] == {"1001": "from-internal", "2101": "from-internal"}
    assert [(c["section"], c["option"]) for c in result["endpoint_changes"]] == [
        ("1001", "context"), ("2101", "endpoint/context")]


def test_an_endpoint_set_to_no_context_dials_nothing_and_is_left_so():
    # "context =" over a template's: Asterisk keeps it empty and the endpoint can call nothing. A
    # guard would give it the dialplan of [default] instead; nor does it stop the run as unguarded.
    sections = [dict(PJSIP_SECTIONS[0], name=name, effective={"context": values})
                for name, values in (("1001", ["from-internal"]), ("1002", ["from-internal", ""]))]
    result = toll_fraud_policy.build(params(pjsip_sections=sections))
    assert result["endpoint_plan"] == {"1001": "from-internal"}
    assert result["unguarded_endpoints"] == []
    assert [c["section"] for c in result["endpoint_changes"]] == ["1001"]


def test_an_endpoint_two_sections_define_stops_the_guard_naming_both():
    sections = [dict(PJSIP_SECTIONS[0], name="1001", lineno=line, effective={"context": [context]})
                for line, context in ((1, "from-internal"), (9, "from-vip"))]
    with pytest.raises(PolicyError, match=re.escape("keep one of each: endpoint 1001: ")):
        toll_fraud_policy.build(params(pjsip_sections=sections))


def test_an_endpoint_guarded_before_and_now_a_trunk_or_exempt_gets_its_own_context_back():
    """An operator who forgot to declare the trunk runs again with voipguard_trunks set: the
    trunk's inbound calls must no longer pass the guard. Exempting a phone gives it back too."""
    sections = [dict(PJSIP_SECTIONS[0], name=name, effective={"context": [context]})
                for name, context in (("1001", "voipguard-guard-from-internal"),
                                      ("1002", "voipguard-guard-from-internal"),
                                      ("carrier", "voipguard-guard-from-carrier"))]
    result = toll_fraud_policy.build(params(
        endpoint_contexts={"1001": "voipguard-guard-from-internal", "1002": "voipguard-guard-from-internal",
                           "carrier": "voipguard-guard-from-carrier"},
        exempt_endpoints=["1002"], pjsip_sections=sections))
    assert result["endpoint_plan"] == {"1001": "from-internal"}
    assert [(c["section"], c["value"]) for c in result["endpoint_changes"]] == [
        ("1001", "voipguard-guard-from-internal"), ("1002", "from-internal"), ("carrier", "from-carrier")]
    # A phone whose template gives its context: the guard's line in its own section goes, and the
    # template's context is in force again (written into the section, it would hide the
    # operator's next change of the template). One whose template says another: written back.
    templated = [dict(PJSIP_SECTIONS[0], name=name, effective={"context": ["from-internal", guard]})
                 for name, guard in (("1002", "voipguard-guard-from-internal"), ("1003", "voipguard-guard-sales"))]
    result = toll_fraud_policy.build(params(
        endpoint_contexts={"1002": "voipguard-guard-from-internal", "1003": "voipguard-guard-sales"},
        exempt_endpoints=["1002", "1003"], pjsip_sections=templated))
    assert [(c["section"], c.get("state", "present"), c.get("value", c.get("values")))
            for c in result["endpoint_changes"]] == [
        ("1002", "absent", ["voipguard-guard-from-internal"]), ("1003", "present", "sales")]


def test_the_contexts_come_from_the_sections_and_the_trunks_changes_from_their_definitions():
    """The role passes asterisk_config_info's sections only: the module reads the endpoints and
    their contexts there (pjsip_sections.endpoint_contexts) and writes each trunk change into the
    file that defines the trunk."""
    sections = PJSIP_SECTIONS + [
        {"name": "carrier", "type": "endpoint", "is_template": False, "is_addition": False,
         "file": "/etc/asterisk/pjsip.d/trunks.conf", "effective": {"context": ["from-carrier"]}}]
    result = toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=sections, pjsip_wizard=WIZARD,
                                            trunks=["carrier"], trunk_max_concurrent_calls=2))
    assert result["endpoint_plan"] == {"1001": "from-internal", "2101": "from-internal", "2102": "sales"}
    assert result["trunk_changes"] == [{
        "path": "/etc/asterisk/pjsip.d/trunks.conf", "section": "carrier", "section_type": "endpoint",
        "option": "set_var", "values": ["GROUP(voipguard-trunk)=carrier"], "values_mode": "append",
        "create_section": False, "gui_read_first": True}]
    # The cap dropped since (or the trunk renamed): the count line of an earlier run goes; the
    # operator's own set_var stays.
    counted = [dict(sections[-1], effective={"context": ["from-carrier"], "set_var": [
        "CDR(userfield)=acme", "GROUP(voipguard-trunk)=carrier"]})]
    dropped = toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=PJSIP_SECTIONS + counted,
                                             pjsip_wizard=WIZARD, trunks=["carrier"]))
    assert dropped["trunk_changes"] == [{
        "path": "/etc/asterisk/pjsip.d/trunks.conf", "section": "carrier", "section_type": "endpoint",
        "option": "set_var", "values": ["GROUP(voipguard-trunk)=carrier"], "state": "absent",
        "values_mode": "append", "create_section": False, "gui_read_first": True}]
    renamed = toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=PJSIP_SECTIONS + counted,
                                             pjsip_wizard=WIZARD, trunks=["telekom"], trunk_endpoints=["carrier"],
                                             trunk_max_concurrent_calls=2))
    assert [(c["values"], c.get("state", "present")) for c in renamed["trunk_changes"]] == [
        (["GROUP(voipguard-trunk)=telekom"], "present"), (["GROUP(voipguard-trunk)=carrier"], "absent")]
    kept = toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=PJSIP_SECTIONS + counted,
                                          pjsip_wizard=WIZARD, trunks=["carrier"], trunk_max_concurrent_calls=2))
    assert [c.get("state", "present") for c in kept["trunk_changes"]] == ["present"]
    # Switched off after a run that looped it: the operator's own proxy back, or none.
    undo = [{"name": "carrier", "endpoint": "carrier", "file": "/etc/asterisk/pjsip.d/trunks.conf", "proxy": "",
             "section_type": "endpoint", "option_prefix": "", "include_root": None}]
    assert toll_fraud_policy.trunk_changes([], {}, {}, None, undo) == [{
        "path": "/etc/asterisk/pjsip.d/trunks.conf", "section": "carrier", "section_type": "endpoint",
        "option": "outbound_proxy", "value": None, "state": "absent", "create_section": False, "gui_read_first": True}]
    # A capped trunk the wizard makes counts its channels in its wizard section.
    capped = toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=PJSIP_SECTIONS, pjsip_wizard=WIZARD,
                                            trunks=["carrier"], trunk_endpoints=["2101"], trunk_max_concurrent_calls=2))
    assert [(c["path"], c["option"], c["include_root"]) for c in capped["trunk_changes"]] == [
        ("/etc/asterisk/wizard.d/phones.conf", "endpoint/set_var", "/etc/asterisk/pjsip_wizard.conf")]
    # One no file defines (realtime, say) is refused by name.
    with pytest.raises(PolicyError, match="trunk carrier caps endpoint 2199, which neither"):
        toll_fraud_policy.build(params(pjsip_conf="", pjsip_sections=PJSIP_SECTIONS, pjsip_wizard=WIZARD,
                                       trunks=["carrier"], trunk_endpoints=["2199"], trunk_max_concurrent_calls=2))
