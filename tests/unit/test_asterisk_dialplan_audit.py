"""library/asterisk_dialplan_audit.py on a dialplan with each mistake and its safe twin."""
from pathlib import Path

import pytest

from ansible.module_utils.asterisk_conf import load, parse
from asterisk_dialplan_audit import audit, split_args, unfiltered_exten

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
