"""Audit logic and report: scoring, exposure, waivers, schema, HTML, JUnit, fleet, comparison,
secrets never leaking, fingerprints, integrity, the nftables reader."""
import copy
import datetime
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from audit import cli, core, report  # noqa: E402
from audit.hostctx import normalise_policy, prefix_blocked  # noqa: E402
from audit.nftcheck import port_open_from_outside  # noqa: E402
from audit.plugin import Evidence  # noqa: E402
from tests.role_defaults import compiled_policy_params  # noqa: E402

SECRET = "Tr0ub4dor&3xyzzy"
TODAY = datetime.date(2026, 6, 1)


def ctl(cid, severity, status, **extra):
    out = {"id": cid, "title": cid + " title", "rationale": "why", "severity": severity,
           "remediation": {"role": "r", "tag": "t", "variable": "v"}, "references": [], "impact": "plain " + cid,
           "status": status, "message": "", "evidence": [], "area": "core"}
    out.update(extra)
    return out


POLICY = {"currency": "EUR", "budgets": {"pbx_day": 20.0, "pbx_month": 200.0, "endpoint_day": 5.0,
                                         "endpoint_month": 50.0},
          "max_price_per_minute": 1.0, "concurrency": {"pbx": 4, "endpoint": 2},
          "calls_per_minute": {"pbx": 10}, "max_call_seconds": 3600}


def host(name, status="audited", controls=(), policy=None, endpoints=3, unguarded=(), bypasses=()):
    return {"name": name, "address": "198.18.0.%d" % (len(name) + 10), "status": status,
            "status_reason": "" if status == "audited" else "because", "groups": ["pbx"],
            "info": {"ssh_host_key": {"fingerprint": "SHA256:" + "A" * 43, "known_hosts": "match"},
                     "asterisk_version": "Asterisk 22.10.1", "os": "Debian", "journal": [
                         {"time": "2026-05-01T10:00:00Z", "user": "root@ctl", "toolkit_version": "0.1.0",
                          "tags": [], "changed": ["Write pjsip.conf"]}]},
            "exposure_inputs": None if status != "audited" else {
                "policy": policy, "endpoints": endpoints, "unguarded": list(unguarded), "bypasses": list(bypasses)},
            "controls": [copy.deepcopy(c) for c in controls]}


def results(*hosts):
    return {"format": "voipguard-audit-results", "format_version": 1, "toolkit_version": "0.1.0",
            "started": "2026-06-01T10:00:00+00:00", "finished": "2026-06-01T10:01:00+00:00",
            "run_by": "ci@controller", "inventory": "inventories/lab/hosts.yml", "inventory_error": None,
            "catalog": [], "hosts": list(hosts)}


FACTORY = [ctl("VOIP-AMI-001", "critical", "fail"), ctl("VOIP-CORE-001", "high", "fail"),
           ctl("VOIP-CORE-002", "high", "pass"), ctl("VOIP-PJSIP-003", "medium", "pass"),
           ctl("VOIP-TF-006", "low", "not_applicable"), ctl("VOIP-PJSIP-002", "medium", "waived")]
HARDENED = [dict(c, status="pass") for c in FACTORY]


# -- scoring -----------------------------------------------------------------------------------

def test_score_weights_by_severity_and_ignores_na_and_waived():
    score = core.score(FACTORY)
    # earned: high 5 + medium 3; possible adds critical 10 + high 5
    assert (score["earned"], score["possible"]) == (8, 23)
    assert score["percent"] == round(100 * 8 / 23)
    assert score["counts"]["not_applicable"] == 1 and score["counts"]["waived"] == 1


def test_score_counts_error_as_not_earned_and_none_when_nothing_assessed():
    assert core.score([ctl("A", "high", "error"), ctl("B", "low", "pass")])["percent"] == round(100 / 6)
    assert core.score([ctl("A", "high", "not_applicable")])["percent"] is None


# -- exposure ----------------------------------------------------------------------------------

def test_exposure_unlimited_without_policy():
    exposure = core.exposure_per_day({"policy": None, "endpoints": 3})
    assert exposure["unlimited"] and exposure["per_day"] is None and exposure["reasons"]


def test_exposure_is_the_smallest_limit():
    exposure = core.exposure_per_day({"policy": POLICY, "endpoints": 3})
    assert not exposure["unlimited"]
    # pbx_day 20 < 3 x 5 = 15? no: 15 is smaller -> endpoints x endpoint daily budget
    assert exposure["per_day"] == 15.0
    assert "endpoint daily budget" in exposure["bound_by"]
    values = dict((t["limit"], t["value"]) for t in exposure["terms"])
    assert values["PBX daily budget"] == 20.0
    assert values["PBX concurrent calls x max price/min x 1440"] == 4 * 1.0 * 1440


def test_national_calls_outside_the_budgets_add_their_call_limit_bound():
    policy = dict(POLICY, national_unbudgeted_price_per_minute=0.12)
    exposure = core.exposure_per_day({"policy": policy, "endpoints": 3})
    # 15 (international, endpoint budgets) + 4 concurrent x 0.12/min x 1440 (national)
    assert exposure["per_day"] == round(15.0 + 4 * 0.12 * 1440, 2)
    assert "plus national calls" in exposure["bound_by"]


def test_national_calls_with_their_own_daily_cap_add_that_cap():
    policy = dict(POLICY, budget_national_calls=False,
                  budgets=dict(POLICY["budgets"], national_day=15.0))
    exposure = core.exposure_per_day({"policy": policy, "endpoints": 30})
    # 20 (international: PBX daily budget) + 15 (national daily budget): the role's defaults
    assert exposure["per_day"] == 35.0
    assert exposure["bound_by"] == "PBX daily budget, plus national calls: national daily budget"
    # Budgeted with the rest, national calls add nothing of their own.
    policy["budget_national_calls"] = True
    assert core.exposure_per_day({"policy": policy, "endpoints": 30})["per_day"] == 20.0


def test_the_policy_file_with_a_national_cap_replaces_the_call_limit_bound():
    raw = {"money_unit": "millicent", "millicents_per_eur": 100000, "site_country": "DE",
           "budget_national_calls": False, "destinations": [{"prefix": "4915", "country": "DE", "price": 12000}],
           "budgets": {"pbx_day": 2000000, "pbx_month": 10000000, "endpoint_day": 500000,
                       "endpoint_month": 5000000, "national_day": 1500000}}
    policy = normalise_policy(raw)
    assert policy["budgets"]["national_day"] == 15.0
    assert policy["national_unbudgeted_price_per_minute"] is None
    del raw["budgets"]["national_day"]
    assert normalise_policy(raw)["national_unbudgeted_price_per_minute"] == 0.12


def test_exposure_unlimited_when_a_phone_or_the_ami_bypasses_the_guard():
    assert core.exposure_per_day({"policy": POLICY, "endpoints": 3, "unguarded": ["1001 in from-internal"]})["unlimited"]
    assert core.exposure_per_day({"policy": POLICY, "endpoints": 3, "bypasses": ["AMI originate"]})["unlimited"]


def test_fleet_exposure_sums_or_is_unlimited():
    bounded = core.exposure_per_day({"policy": POLICY, "endpoints": 3})
    assert core.fleet_exposure([bounded, bounded])["per_day"] == 30.0
    assert core.fleet_exposure([bounded, core.exposure_per_day({"policy": None})])["unlimited"]


# -- waivers -----------------------------------------------------------------------------------

def test_valid_waiver_turns_fail_into_waived():
    waivers = [{"control": "VOIP-AMI-003", "justification": "CRM originates calls", "expires": "2026-12-31"}]
    out = core.apply_waiver(ctl("VOIP-AMI-003", "high", "fail", message="crm: originate"), waivers, TODAY)
    assert out["status"] == "waived" and "CRM originates calls" in out["message"]


def test_expired_waiver_fails_and_says_so():
    waivers = [{"control": "VOIP-AMI-003", "justification": "CRM", "expires": "2026-05-31"}]
    out = core.apply_waiver(ctl("VOIP-AMI-003", "high", "fail"), waivers, TODAY)
    assert out["status"] == "fail"
    assert "waiver expired on 2026-05-31" in out["message"]
    assert out["waiver"]["valid"] is False


def test_waiver_without_justification_is_ignored():
    out = core.apply_waiver(ctl("VOIP-AMI-003", "high", "fail"),
                            [{"control": "VOIP-AMI-003", "expires": "2030-01-01"}], TODAY)
    assert out["status"] == "fail" and "waiver ignored" in out["message"]


def test_waiver_leaves_pass_alone():
    out = core.apply_waiver(ctl("X", "low", "pass"), [{"control": "X", "justification": "j", "expires": "2030-01-01"}],
                            TODAY)
    assert out["status"] == "pass"


# -- report ------------------------------------------------------------------------------------

def fleet():
    return results(host("good", controls=HARDENED, policy=POLICY),
                   host("factory", controls=FACTORY),
                   host("ghost", status="unreachable", controls=[]),
                   host("mail", status="no asterisk", controls=[ctl("VOIP-AMI-001", "critical", "fail")]))


def test_report_is_valid_against_the_schema():
    doc = report.build_report(fleet(), fail_on="high")
    report.validate(doc)
    report.validate(report.build_report(cli._empty_results("x.yml", "broken inventory")))  # pylint: disable=protected-access


def test_fleet_is_worst_first():
    doc = report.build_report(fleet())
    assert [h["name"] for h in doc["hosts"]] == ["ghost", "factory", "good", "mail"]
    # A host that could not be audited proves nothing: its controls are not applicable.
    mail = doc["hosts"][-1]
    assert all(c["status"] == "not_applicable" for c in mail["controls"])
    assert doc["summary"]["exposure"]["unlimited"]


def test_html_starts_with_a_summary_for_people():
    text = report.render_html(report.build_report(fleet()))
    assert text.index('id="summary"') < text.index('id="host-')
    assert "Hardening score" in text and "unlimited" in text and "What to fix first" in text
    assert "plain VOIP-AMI-001" in text  # the impact in plain words
    assert "@media print" in text
    assert "<script" not in text and "http://" not in text and "https://" not in text.replace(
        'https://json-schema', '')


def test_junit_parses_with_one_case_per_control():
    doc = report.build_report(fleet())
    root = ET.fromstring(report.render_junit(doc))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["factory"].get("failures") == "2"
    assert suites["ghost"].find("testcase/error") is not None
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites.values())


def test_digest_verifies_and_detects_tampering(tmp_path):
    doc = report.build_report(fleet())
    report.write_outputs(doc, str(tmp_path))
    loaded = json.loads((tmp_path / "report.json").read_text())
    assert report.verify(loaded)
    loaded["hosts"][0]["status"] = "audited"
    assert not report.verify(loaded)
    assert "report.json" in (tmp_path / "SHA256SUMS").read_text()


def test_compare_before_after():
    before = report.build_report(results(host("pbx", controls=FACTORY)))
    after_controls = [dict(c, status="pass") if c["id"] == "VOIP-AMI-001" else c for c in FACTORY]
    after_controls = [dict(c, status="fail") if c["id"] == "VOIP-CORE-002" else c for c in after_controls]
    after = report.build_report(results(host("pbx", controls=after_controls, policy=POLICY)))
    comparison = report.compare(before, after)
    assert [r["id"] for r in comparison["controls"]["fixed"]] == ["VOIP-AMI-001"]
    assert [r["id"] for r in comparison["controls"]["regressed"]] == ["VOIP-CORE-002"]
    assert comparison["counts"]["unchanged"] == 4
    assert comparison["hosts"][0]["exposure_before"] == "unlimited"
    assert "fixed" in report.render_comparison_html(comparison)


def test_no_secret_in_any_output(tmp_path):
    leaky = ctl("VOIP-AMI-004", "critical", "fail", message="secret=%s found" % SECRET, evidence=[
        {"file": "/etc/asterisk/manager.conf", "key": "[admin] secret", "value": SECRET},
        {"file": "/etc/asterisk/pjsip.conf", "key": "password", "value": SECRET},
        {"command": "grep -r secret /etc/asterisk", "output": "manager.conf:secret = %s\npjsip.conf:password=%s"
         % (SECRET, SECRET)},
        {"file": "policy.json", "key": "alert_webhook_url", "value": "https://hooks.example/x?token=%s" % SECRET}])
    raw = results(host("pbx", controls=[leaky]))
    raw["hosts"][0]["info"]["journal"][0]["changed"].append("password: %s" % SECRET)
    doc = report.build_report(raw, fail_on="high")
    outputs = [report.render_json(doc), report.render_html(doc), report.render_junit(doc)]
    for text in outputs:
        assert SECRET not in text
    assert core.MASK in outputs[0]
    report.write_outputs(doc, str(tmp_path))
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text()


@pytest.mark.parametrize("text", [
    'password = "LEAK1"', "inbound_auth/password = test LEAK1", "secret=ab\\;LEAK1", "password=abc,LEAK1",
    "register => 1234:LEAK1@iax.example.com", "exten => _9X.,1,Dial(IAX2/user:LEAK1@host)",
    "exten => _9X.,1,Dial(${OUTTECH}/trunk:LEAK1@iax.example.com/${EXTEN:1})", "oauth_secret: LEAK1 (set)",
])
def test_a_secret_written_inline_in_evidence_text_is_masked(text):
    scrubbed = core.scrub_text(text)
    assert "LEAK" not in scrubbed and core.MASK in scrubbed, scrubbed


def test_masking_stays_on_the_secrets_line_and_after_a_colon_on_its_word():
    scrubbed = core.scrub_text("secret=admin ; old\nread=all\nno password: the PJSIP form of allowguest=yes.")
    assert scrubbed.splitlines() == [
        "secret=" + core.MASK, "read=all", "no password: %s PJSIP form of allowguest=yes." % core.MASK]


def test_evidence_masks_on_the_way_in():
    evidence = Evidence()
    evidence.add(file="manager.conf", key="secret", value="admin")
    evidence.add(file="manager.conf", key="secret", value="")
    evidence.add(command="cat x", output="secret=admin\nread=all")
    assert evidence.items[0]["value"] == core.MASK
    assert evidence.items[1]["value"] == "(empty)"
    assert "admin" not in evidence.items[2]["output"] and "read=all" in evidence.items[2]["output"]


def test_exit_code_follows_fail_on():
    doc = report.build_report(results(host("pbx", controls=FACTORY)), fail_on="high")
    assert report.exit_code(doc, "high") == 1
    assert report.exit_code(doc, None) == 0
    only_medium = [c for c in FACTORY if c["severity"] in ("medium", "low")] + [ctl("X", "medium", "fail")]
    doc = report.build_report(results(host("pbx", controls=only_medium)), fail_on="high")
    assert report.exit_code(doc, "high") == 0
    assert report.exit_code(report.build_report(cli._empty_results("x", "bad")), "high") == 2  # pylint: disable=protected-access


@pytest.mark.parametrize("status", ["unreachable", "untrusted host key"])
def test_a_host_that_could_not_be_audited_never_exits_clean(status):
    clean = host("pbx", controls=[ctl("X", "low", "pass")])
    doc = report.build_report(results(clean, host("pbx2", status=status)))
    assert report.exit_code(doc, None) == 3
    assert report.exit_code(doc, "critical") == 3
    assert report.exit_code(report.build_report(results(clean)), None) == 0


def test_cli_render_and_compare(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(fleet()))
    # The fleet holds an unreachable host ("ghost"): that outranks the failed critical control.
    assert cli.main(["render", str(path), "--out", str(tmp_path / "r"), "--fail-on", "critical"]) == 3
    assert cli.main(["verify", str(tmp_path / "r" / "report.json")]) == 0
    assert cli.main(["compare", str(tmp_path / "r" / "report.json"), str(tmp_path / "r" / "report.json"),
                     "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "compare.html").exists()
    assert "score" in capsys.readouterr().out


def test_cli_reports_a_bad_inventory(tmp_path):
    bad = tmp_path / "hosts.yml"
    bad.write_text("all:\n  hosts: [\n")
    assert cli.main(["run", "--inventory", str(bad), "--out", str(tmp_path / "o")]) == 2
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert doc["inventory_error"] and doc["hosts"] == []


def test_cli_run_shares_a_fleet_among_workers_and_makes_one_report(tmp_path, monkeypatch):
    # The control suites themselves need hosts (tests/lab); here each "suite" reports its share.
    hosts = ["pbx", "pbx-02", "pbx-03", "pbx-04", "pbx-05"]
    shares = []

    def fake_suite(share, results_path, _args):
        shares.append((list(share), os.path.basename(results_path)))
        return {"format": "voipguard-results", "toolkit_version": "t", "inventory": "i",
                "hosts": [{"name": h, "status": "unreachable", "reason": "lab down", "controls": []} for h in share]}

    monkeypatch.setattr(cli, "_inventory_hosts", lambda inventory, pattern: hosts)
    monkeypatch.setattr(cli, "_run_suite", fake_suite)
    assert cli.main(["run", "--inventory", "x", "--out", str(tmp_path / "o"), "--workers", "2"]) == 3
    assert sorted(shares) == [(["pbx", "pbx-03", "pbx-05"], "results-0.json"), (["pbx-02", "pbx-04"], "results-1.json")]
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    assert sorted(h["name"] for h in doc["hosts"]) == hosts and doc["summary"]["hosts"] == 5


# -- evidence helpers --------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_fingerprint_matches_ssh_keygen(tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    expected = subprocess.run(["ssh-keygen", "-lf", str(key) + ".pub"], capture_output=True, text=True,
                              check=True).stdout.split()[1]
    assert core.openssh_fingerprint((tmp_path / "k.pub").read_text()) == expected


def _ruleset(rules, policy="drop"):
    items = [{"table": {"family": "inet", "name": "voipguard"}},
             {"chain": {"family": "inet", "table": "voipguard", "name": "input", "type": "filter",
                        "hook": "input", "prio": 0, "policy": policy}}]
    for expr in rules:
        items.append({"rule": {"family": "inet", "table": "voipguard", "chain": "input", "expr": expr}})
    return {"nftables": items}


def _dport(port):
    return {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": port}}


def test_nft_reader_port_closed_when_only_admin_sources_are_accepted():
    saddr = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "198.18.0.0", "len": 24}}}}
    established = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}
    ruleset = _ruleset([[established, {"accept": None}], [saddr, _dport(5038), {"accept": None}]])
    assert port_open_from_outside(ruleset, 5038)[0] is False


def test_nft_reader_takes_an_interface_rule_as_a_lans_for_ports_and_as_maybe_the_outsiders_for_sip():
    from audit.nftcheck import outsider_admission
    lan = {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth1"}}
    loopback = {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}
    ruleset = _ruleset([[loopback, {"accept": None}], [lan, {"accept": None}]])
    assert port_open_from_outside(ruleset, 5038)[0] is False
    assert outsider_admission(ruleset, 5038, "tcp", "ip")["verdict"] == "accept"
    assert outsider_admission(_ruleset([[loopback, {"accept": None}]]), 5038, "tcp", "ip")["verdict"] == "drop"


def test_nft_reader_port_open_when_accepted_from_anywhere_or_no_filter():
    assert port_open_from_outside(_ruleset([[_dport({"set": [5038, 8088]}), {"accept": None}]]), 8088)[0]
    assert port_open_from_outside({"nftables": []}, 5038)[0]
    assert port_open_from_outside(_ruleset([], policy="accept"), 5038)[0]


def test_policy_from_the_toll_fraud_module_blocks_the_incident_countries():
    dial_policy = pytest.importorskip("ansible.module_utils.dial_policy")
    params = compiled_policy_params(
        default_price_per_minute=0.5, max_price_per_minute=1,
        budgets={"pbx_day": 20, "pbx_month": 200, "endpoint_day": 5, "endpoint_month": 50})
    raw = dial_policy.compile_policy(params)
    policy = normalise_policy(json.loads(json.dumps(raw)))
    assert policy["budgets"]["pbx_day"] == 20.0 and policy["max_price_per_minute"] == 1.0
    assert prefix_blocked(policy, "263") and prefix_blocked(policy, "252")
    assert not prefix_blocked(policy, "49")


def test_a_finding_no_role_fixes_says_what_to_do_by_hand_not_which_role_to_run():
    demo = ctl("VOIP-TF-006", "low", "fail", remediation={"manual": "delete the [demo] context"})
    text = report.render_html(report.build_report(results(host("pbx", controls=[demo], policy=POLICY))))
    assert "Fix: by hand: delete the [demo] context" in text
    assert "fix: by hand: delete the [demo] context" in text  # in "What to fix first" too
    assert "role -" not in text
    assert report.fix_text({"role": "r", "tag": "t", "variable": "v"}) == "role r, tag t, variable v"
