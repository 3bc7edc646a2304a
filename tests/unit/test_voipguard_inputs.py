"""The operator's variables are judged by their meaning before anything changes: an invalid
CIDR in voipguard_admin_networks once passed the regular expressions and was written into the
AMI's permit lines."""
import pytest

from ansible.module_utils.voipguard_inputs import check, check_all, check_trunks
from tests.module_runner import run_action_plugin_play


@pytest.mark.parametrize("kind, value", [
    ("networks", ["198.18.0.0/24", "2001:db8::/32", "203.0.113.7", "198.18.0.1/24"]),
    ("address", "198.18.0.10"), ("address", "2001:db8::1"),
    ("port", 5060), ("port", "5038"),
    ("names", ["1001", "carrier", "office-tpl", "alice@home"]),
    ("countries", ["DE", "AT"]),
    ("path", "/etc/asterisk"),
    ("port_range", [10000, 20000]), ("port_range", ["30000", "30000"]),
])
def test_right_values_pass(kind, value):
    assert check("v", kind, value) == []


@pytest.mark.parametrize("kind, value, needle", [
    ("networks", ["198.18.0.0/24", "198.18.0.300/24"], "v[1]: '198.18.0.300/24' is not an IP network"),
    ("networks", ["10.0.0.0/33"], "is not an IP network"),
    ("networks", ["198.18.0.0/24;"], "is not an IP network"),
    # nft's grammar takes a prefix length after '/' (lab: "syntax error, unexpected string,
    # expecting number"), fail2ban's ignoreip no hostmask.
    ("networks", ["10.0.0.0/255.0.0.0"], "v[0]: '10.0.0.0/255.0.0.0': write the prefix length (10.0.0.0/8)"),
    ("networks", ["10.0.0.0/0.255.255.255"], "write the prefix length (10.0.0.0/8)"),
    # An ip6 rule never sees an IPv4 packet: an admin office written so would be locked out.
    ("networks", ["::ffff:198.51.100.0/120"], "is an IPv4-mapped IPv6 address, which no IPv4 packet carries: "
                                              "write the IPv4 address (198.51.100.0)"),
    ("address", "::ffff:198.51.100.20", "write the IPv4 address (198.51.100.20)"),
    ("networks", "198.18.0.0/24", "v must be a list, not str"),
    ("address", "198.18.0", "is not an IP address"),
    ("address", "pbx.example.net", "is not an IP address"),
    ("port", 0, "is not a port"), ("port", 70000, "is not a port"), ("port", "50a", "is not a port"),
    ("names", ["1001", "bad name"], "v[1]: 'bad name' is not an Asterisk object name"),
    ("names", ["x]"], "is not an Asterisk object name"),
    ("countries", ["de"], "is not an ISO 3166 country code"),
    ("countries", ["DEU"], "is not an ISO 3166 country code"),
    ("path", "etc/asterisk", "is not an absolute path"),
    ("port_range", [20000, 10000], "v: the first port 20000 is above the last 10000"),
    ("port_range", [10000], "is not a port range [first, last]"),
    ("port_range", "10000-20000", "is not a port range [first, last]"),
    ("port_range", [10000, 70000], "v[1]: 70000 is not a port"),
])
def test_wrong_values_are_named(kind, value, needle):
    problems = check("v", kind, value)
    assert problems and needle in " ".join(problems)


def test_required_and_optional():
    assert check("voipguard_admin_networks", "networks", [], required=True) == ["voipguard_admin_networks is required"]
    assert check("voipguard_phone_networks", "networks", []) == []
    assert check("asterisk_hardening_sip_bind_address", "address", "") == []


def test_trunks_need_a_named_endpoint_and_addresses():
    good = [{"name": "carrier", "endpoint": "carrier", "addresses": ["198.51.100.20"]}]
    assert check_trunks("voipguard_trunks", good) == []
    problems = check_trunks("voipguard_trunks", [
        {"name": "carrier", "endpoint": "carrier"},
        {"endpoint": "my trunk", "addresses": ["198.51.100.999"]},
        "carrier",
    ])
    text = " ".join(problems)
    assert "voipguard_trunks[0].addresses is required" in text
    assert "voipguard_trunks[1].endpoint: 'my trunk'" in text
    assert "voipguard_trunks[1].addresses[0]: '198.51.100.999'" in text
    assert "voipguard_trunks[2] must be a mapping" in text
    assert "voipguard_trunks[1].name is required" in text


def test_a_trunk_name_or_endpoint_listed_twice_is_refused():
    """Lab: one endpoint under two names passed, and the guard would have written two copies of it."""
    trunk = {"name": "carrier", "endpoint": "carrier", "addresses": ["198.51.100.20"]}
    problems = check_trunks("voipguard_trunks", [trunk, dict(trunk, name="carrier2"), dict(trunk, endpoint="backup")])
    assert problems == [
        "voipguard_trunks[1].endpoint: carrier is voipguard_trunks[0]'s endpoint already; each trunk once",
        "voipguard_trunks[2].name: carrier is voipguard_trunks[0]'s name already; each trunk once"]


def test_every_problem_is_reported_at_once():
    problems = check_all([
        {"variable": "voipguard_admin_networks", "kind": "networks", "value": ["1.2.3.4/40"], "required": True},
        {"variable": "voipguard_management_address", "kind": "address", "value": "1.2.3"},
        {"variable": "voipguard_trunks", "kind": "trunks", "value": []},
    ])
    assert len(problems) == 2
    assert problems[0].startswith("voipguard_admin_networks[0]") and problems[1].startswith("voipguard_management_address")


def test_alert_urls_are_judged_by_apprise_and_a_problem_never_shows_the_token():
    problems = check("toll_fraud_guard_alert_urls", "alert_urls",
                     ["json://198.18.0.30:8099/voipguard", "mailto://localhost?to=ops@example.org",
                      "slak://T0KEN-SECRET/B1/C2", "https//hooks.example.org/T0KEN-SECRET"])
    assert problems[0].startswith("toll_fraud_guard_alert_urls[2]: Apprise cannot send to this slak:// URL")
    assert problems[1].startswith("toll_fraud_guard_alert_urls[3] is not an Apprise URL")
    assert len(problems) == 2 and not any("T0KEN" in problem for problem in problems)


def test_the_action_plugin_judges_on_the_controller_with_the_modules_checks(tmp_path):
    """action_plugins/voipguard_validate runs check_all in the worker: a host whose Python does
    not exist still gets the module's verdict and message (the module itself could not run)."""
    proc = run_action_plugin_play(tmp_path, [
        {"name": "Judge", "voipguard_validate": {"checks": [
            {"variable": "voipguard_admin_networks", "kind": "networks", "value": ["10.0.0.0/8", "10.0.0.300/24"]},
            {"variable": "voipguard_management_address", "kind": "address", "value": "127.0.0.1"}]}}])
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert ("wrong variables, nothing was changed: voipguard_admin_networks[1]: '10.0.0.300/24' is not an IP network"
            in " ".join(proc.stdout.split())), proc.stdout[-2000:]
    assert "/nonexistent/python" not in proc.stdout


@pytest.mark.parametrize("value, problems", [
    (86400, []), ("3600", []), (0, []),
    ("1d", ["voipguard_converged_max_age: '1d' is not a number of seconds (0 or more)"]),
    (-5, ["voipguard_converged_max_age: -5 is not a number of seconds (0 or more)"]),
    (True, ["voipguard_converged_max_age: True is not a number of seconds (0 or more)"]),
])
def test_seconds_are_a_whole_number_of_zero_or_more(value, problems):
    assert check("voipguard_converged_max_age", "seconds", value) == problems
