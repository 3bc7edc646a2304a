"""module_utils/pjsip_sections.py: what an endpoint is and where it lives, the one reading the
guard's policy, its trunk boundary and its outside-line step share."""
from ansible.module_utils.asterisk_live import phone_contexts
from ansible.module_utils.pjsip_sections import (
    concrete, duplicate_objects, endpoint_contexts, endpoint_definitions, lines_to_take_out)


def section(name, type_="endpoint", file="/etc/asterisk/pjsip.conf", template=False, addition=False, **effective):
    return {"name": name, "type": type_, "is_template": template, "is_addition": addition, "file": file,
            "effective": dict((key.replace("__", "/"), [value]) for key, value in effective.items())}


PJSIP = [
    section("phone", template=True, context="from-internal"),
    section("1001", context="from-internal", file="/etc/asterisk/pjsip.d/phones.conf"),
    section("1001", addition=True, context="other", file="/etc/asterisk/pjsip_custom.conf"),
    section("1002"),  # no context anywhere: Asterisk's default
    section("2101", context="from-pjsip"),
    section("transport-udp", type_="transport"),
    section("carrier", context="from-carrier"),
    section("voipguard-egress", context="voipguard-egress"),
]
WIZARD = {"files": ["/etc/asterisk/pjsip_wizard.conf"], "sections": [
    section("wizard-phone", type_="wizard", template=True, file="/etc/asterisk/pjsip_wizard.conf"),
    section("2101", type_="wizard", endpoint__context="from-wizard", file="/etc/asterisk/pjsip_wizard.conf"),
    section("2102", type_="Wizard", endpoint__context="voipguard-guard-sales", file="/etc/asterisk/pjsip_wizard.conf"),
]}


def test_templates_and_additions_make_no_object_and_types_are_read_in_any_case():
    assert [s["name"] for s in concrete(PJSIP, "endpoint")] == ["1001", "1002", "2101", "carrier", "voipguard-egress"]
    assert [s["name"] for s in concrete(WIZARD["sections"], "wizard")] == ["2101", "2102"]


def test_a_section_typed_by_an_addition_merged_into_it_is_an_object_of_that_type():
    # "[1001]\ncontext=..." then "[1001](+)\ntype=endpoint": its effective type is endpoint.
    typed_later = dict(section("1001", type_=None, context="from-internal"),
                       effective={"context": ["from-internal"], "type": ["endpoint"]})
    assert [s["name"] for s in concrete([typed_later], "endpoint")] == ["1001"]
    assert endpoint_definitions([typed_later])["1001"]["context"] == "from-internal"


def test_a_name_two_sections_of_one_type_define_is_named_with_both_places():
    # res_sorcery_config refuses every endpoint of the file then; a wizard's last one read wins.
    sections = [dict(section("1001"), lineno=1), dict(section("1001", type_="aor"), lineno=5),
                dict(section("1001", file="/etc/asterisk/pjsip.d/more.conf"), lineno=3),
                dict(section("phone", template=True), lineno=9), dict(section("phone"), lineno=12),
                dict(section("1001", addition=True), lineno=20)]
    wizard = {"sections": [dict(section("w1", type_="wizard"), lineno=1),
                           dict(section("W1", type_="wizard"), lineno=4)]}  # names compare exactly
    assert duplicate_objects(sections, wizard) == [
        "endpoint 1001: /etc/asterisk/pjsip.conf:1 and /etc/asterisk/pjsip.d/more.conf:3"]
    wizard["sections"].append(dict(section("w1", type_="wizard", file="/etc/asterisk/wiz.d/late.conf"), lineno=2))
    assert duplicate_objects(sections[:2], wizard) == [
        "wizard w1: /etc/asterisk/pjsip.conf:1 and /etc/asterisk/wiz.d/late.conf:2"]


def test_each_endpoint_is_defined_once_pjsip_conf_before_the_wizard():
    defined = endpoint_definitions(PJSIP, WIZARD)
    assert defined["1001"]["file"] == "/etc/asterisk/pjsip.d/phones.conf"  # not the (+) addition
    assert (defined["2101"]["section_type"], defined["2101"]["option"], defined["2101"]["context"]) == (
        "endpoint", "context", "from-pjsip")
    assert (defined["2102"]["section_type"], defined["2102"]["option"]) == ("wizard", "endpoint/context")
    # Where a change is written and read through: a wizard's through pjsip_wizard.conf (its
    # template may sit in an included file), a pjsip.conf section through pjsip.conf's own set.
    assert (defined["2102"]["option_prefix"], defined["2102"]["include_root"]) == (
        "endpoint/", "/etc/asterisk/pjsip_wizard.conf")
    assert (defined["2101"]["option_prefix"], defined["2101"]["include_root"]) == ("", None)
    assert endpoint_contexts(PJSIP, WIZARD) == {
        "1001": "from-internal", "1002": "default", "2101": "from-pjsip", "2102": "voipguard-guard-sales",
        "carrier": "from-carrier", "voipguard-egress": "voipguard-egress"}
    assert endpoint_contexts(PJSIP) == dict((k, v) for k, v in endpoint_contexts(PJSIP, WIZARD).items() if k != "2102")


def test_the_phones_contexts_leave_out_trunks_exempt_and_voipguards_own_and_read_through_a_guard():
    assert phone_contexts(endpoint_contexts(PJSIP, WIZARD), skip={"carrier", "1002"}) == [
        "from-internal", "from-pjsip", "sales"]


def test_a_wizards_endpoint_is_what_res_pjsip_config_wizard_makes_of_it():
    from ansible.module_utils.pjsip_sections import wizard_endpoint_options  # pylint: disable=import-outside-toplevel
    effective = {"type": ["wizard"], "transport": ["udp-a", "udp-b"], "accepts_auth": ["yes"], "sends_auth": ["no"],
                 "remote_hosts": ["192.0.2.1"], "endpoint/aors": ["other"], "endpoint/transport": ["tcp"],
                 "endpoint/allow": ["!all", "ulaw"], "inbound_auth/username": ["2101"]}
    assert wizard_endpoint_options("2101", effective) == {
        "type": ["endpoint"], "aors": ["2101"], "transport": ["udp-b"], "auth": ["2101-iauth"],
        "allow": ["!all", "ulaw"]}


def test_a_wizards_aor_and_auth_are_what_res_pjsip_config_wizard_makes_of_them():
    from ansible.module_utils.pjsip_sections import (  # pylint: disable=import-outside-toplevel
        wizard_aor_options, wizard_auth_options)
    effective = {"remote_hosts": ["192.0.2.9", "192.0.2.1:5061, 192.0.2.2"], "aor/qualify_frequency": ["60"],
                 "sends_auth": ["yes"], "outbound_auth/username": ["u"], "inbound_auth/username": ["i"]}
    assert wizard_aor_options(effective) == {
        "type": ["aor"], "qualify_frequency": ["60"], "contact": ["sip:192.0.2.1:5061", "sip:192.0.2.2"]}
    assert wizard_aor_options(dict(effective, contact_pattern=["sip:${REMOTE_HOST};transport=udp"]))["contact"] == [
        "sip:192.0.2.1:5061;transport=udp", "sip:192.0.2.2;transport=udp"]
    assert "contact" not in wizard_aor_options(dict(effective, contact_pattern=[""]))
    assert wizard_aor_options(dict(effective, **{"aor/contact": ["sip:sbc.example.net"]}))["contact"] == [
        "sip:sbc.example.net"]
    assert wizard_auth_options(effective, "outbound") == {"type": ["auth"], "username": ["u"], "auth_type": ["userpass"]}
    assert wizard_auth_options(effective, "inbound") is None  # accepts_auth is not set


def test_a_wizards_auths_are_named_and_found_by_one_reading():
    from ansible.module_utils.pjsip_sections import (  # pylint: disable=import-outside-toplevel
        wizard_auth_name, wizard_of_auth)
    assert (wizard_auth_name("carrier", "outbound"), wizard_auth_name("2101", "inbound")) == (
        "carrier-oauth", "2101-iauth")
    assert wizard_of_auth("carrier-oauth", "outbound") == "carrier"
    # Another direction's name, an auth of the operator's own, or the bare suffix: no wizard's.
    assert [wizard_of_auth(name, "outbound") for name in ("carrier-iauth", "carrier-auth", "-oauth")] == [
        None, None, None]


def ours(value):
    return value.startswith("voipguard-")


def test_an_option_gets_the_operators_value_back_from_where_they_wrote_it():
    # A template gives the value under ours: ours goes.
    assert lines_to_take_out(["from-internal", "voipguard-guard-from-internal"], ours, "from-internal") == [
        "voipguard-guard-from-internal"]
    # The template says another, or nothing gives it: the value is written back instead.
    assert lines_to_take_out(["sales", "voipguard-guard-from-internal"], ours, "from-internal") is None
    assert lines_to_take_out(["voipguard-guard-from-internal"], ours, "from-internal") is None
    # Nothing of ours: nothing to take out.
    assert lines_to_take_out(["from-internal"], ours, "from-internal") is None
