"""The audit's reading of FreePBX's own firewall (audit/nftcheck.outsider_admission, used by
VOIP-FW-004): the table the lab's FreePBX host loads (lab/factory/freepbx/firewall.nft, as FreePBX's
native nftables driver builds it), loaded by the real nft into a throwaway network namespace, then
changed the way an operator would in FreePBX's GUI. The same reader on voipguard's own table.
What the rules do to real packets is proven in the lab (tests/lab/test_freepbx.py)."""
import json
from pathlib import Path

import pytest
from _pytest.outcomes import Failed

from audit.controls import test_firewall as firewall_controls
from audit.hostctx import HostContext
from audit.nftcheck import outsider_admission, port_open_from_outside
from audit.plugin import Evidence
from fake_results import FakeHost, FakeResult
from test_nft_ruleset import loaded, render

LAB_TABLE = Path(__file__).resolve().parents[2] / "lab" / "factory" / "freepbx" / "firewall.nft"
EXTERNAL_ZONE = "\tchain zone-external {\n\t}\n"
WITH_SIP = "\tchain zone-external {\n\t\tjump svc-pjsip\n\t}\n"
SERVICE = "\tchain svc-pjsip {\n\t\tudp dport 5060 accept\n\t\ttcp dport 5060 accept\n"
RATE_LIMITED = "\tchain svc-pjsip {\n\t\tudp dport 5060 jump fpbxratelimit\n\t\ttcp dport 5060 jump fpbxratelimit\n"


def freepbx_table(*changes):
    """The lab's table, with (old, new) text changes: what the operator changes in FreePBX's GUI."""
    text = LAB_TABLE.read_text().replace("@EXTERNAL_IF@", "eth2")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    return text


def test_the_labs_freepbx_admits_sip_from_anywhere_only_behind_its_responsive_tiers(tmp_path):
    ruleset = loaded(tmp_path, freepbx_table())
    for family in ("ip", "ip6"):
        for proto in ("udp", "tcp"):
            seen = outsider_admission(ruleset, 5060, proto, family)
            assert seen["verdict"] == "accept" and seen["ended_in"] == "fpbxrfw"
            assert [(l["rate"], l["per"], l["burst"]) for l in seen["limits"]] == \
                [(5, "second", 50), (10, "minute", 10), (100, "day", 100)]
            assert all(l["per_source"] and l["family"] == family for l in seen["limits"])
            assert seen["limits"][1]["bans"] == ("rfw_clamped" if family == "ip" else "rfw_clamped6")
    # The tiers come after conntrack's accept: a flow's later packets pass them by.
    for family in ("ip", "ip6"):
        assert outsider_admission(ruleset, 5060, "udp", family, ct="established") == \
            {"verdict": "accept", "limits": [], "ended_in": "fpbxfirewall", "ended_by": None}
    # No AMI, no HTTP, no TLS SIP service outside the trusted zone.
    assert port_open_from_outside(ruleset, 5038)[0] is False
    assert port_open_from_outside(ruleset, 8088)[0] is False
    assert outsider_admission(ruleset, 5061, "tcp", "ip") == \
        {"verdict": "drop", "limits": [], "ended_in": "fpbxlogdrop", "ended_by": None}


def test_sip_put_in_the_external_zone_is_admitted_with_no_limit(tmp_path):
    ruleset = loaded(tmp_path, freepbx_table((EXTERNAL_ZONE, WITH_SIP)))
    for family in ("ip", "ip6"):
        assert outsider_admission(ruleset, 5060, "udp", family) == \
            {"verdict": "accept", "limits": [], "ended_in": "svc-pjsip", "ended_by": None}


def test_a_rate_limited_sip_service_admits_outsiders_only_behind_its_per_source_tiers(tmp_path):
    ruleset = loaded(tmp_path, freepbx_table((EXTERNAL_ZONE, WITH_SIP), (SERVICE, RATE_LIMITED)))
    for family in ("ip", "ip6"):
        seen = outsider_admission(ruleset, 5060, "tcp", family)
        assert seen["verdict"] == "accept" and seen["ended_in"] == "fpbxratelimit"
        assert [(l["rate"], l["per"], l["burst"]) for l in seen["limits"]] == \
            [(200, "day", 200), (20, "minute", 100), (50, "minute", 50)]
        assert seen["limits"][2]["bans"] == ("rfw_clamped" if family == "ip" else "rfw_clamped6")


def test_without_the_responsive_firewall_sip_from_anywhere_is_refused(tmp_path):
    ruleset = loaded(tmp_path, freepbx_table(("udp dport 5060 meta mark set 0x3", "udp dport 5060 meta mark set 0x1")))
    assert outsider_admission(ruleset, 5060, "udp", "ip") == \
        {"verdict": "drop", "limits": [], "ended_in": "fpbxlogdrop", "ended_by": None}
    assert outsider_admission(ruleset, 5060, "tcp", "ip")["verdict"] == "accept", "tcp/5060 keeps its mark 0x3"


def test_voipguards_own_table_refuses_sip_from_an_unlisted_source_after_its_brake(tmp_path):
    ruleset = loaded(tmp_path, render())
    for family in ("ip", "ip6"):
        seen = outsider_admission(ruleset, 5060, "udp", family)
        assert seen["verdict"] == "drop" and seen["ended_in"] == "sip_from"
        assert any(l["per_source"] and l["family"] == family and l["bans"] for l in seen["limits"])
        # Its brake comes before conntrack's accept: a guesser that keeps one socket meets it too.
        later = outsider_admission(ruleset, 5060, "udp", family, ct="established")
        assert later["verdict"] == "accept" and any(l["per_source"] and l["family"] == family for l in later["limits"])


class FirewallHost(FakeHost):
    """A FreePBX host stand-in whose nft answers with the listings of a table loaded for real."""

    def __init__(self, ruleset_json, chains):
        super().__init__({"/etc/freepbx.conf": "<?php\n", "/etc/asterisk/pjsip.conf": "[0]\n",
                          "/etc/asterisk/firewall.enabled": ""})
        self.ruleset_json, self.chains = ruleset_json, chains

    def run_one(self, command):
        if command.startswith("nft list chains"):
            return FakeResult(self.chains)
        if command == "nft -j list ruleset":
            return FakeResult(json.dumps(self.ruleset_json))
        if command.startswith("asterisk -rx"):
            return FakeResult(" Transport:  0.0.0.0-udp  udp  0  0  0.0.0.0:5060\n")
        return FakeResult("", rc=1, stderr="Error: No such file or directory")


def freepbx_host(tmp_path, table):
    chains = "table inet fpbx {\n\tchain input {\n\t}\n\tchain fpbxfirewall {\n\t}\n}\n"
    return HostContext(FirewallHost(loaded(tmp_path, table), chains), "pbx")


RESPONSIVE_OFF = (("udp dport 5060 meta mark set 0x3", "udp dport 5060 meta mark set 0x1"),
                  ("tcp dport 5060 meta mark set 0x3", "tcp dport 5060 meta mark set 0x1"))


def test_the_control_fails_tiers_that_see_only_a_flows_first_packet_and_names_them(tmp_path):
    evidence = Evidence()
    with pytest.raises(Failed, match="only on the first packet of a flow on IPv4 tcp/5060, IPv4 udp/5060, "
                                     "IPv6 tcp/5060, IPv6 udp/5060"):
        firewall_controls.test_sip_rate_per_source(freepbx_host(tmp_path, freepbx_table()), evidence)
    read = repr(evidence.items)
    assert ("IPv4 udp/5060: first packet of a flow admitted in chain fpbxrfw, per source over 5/second "
            "burst 50 (bans into rfw_attacker); over 10/minute burst 10 (bans into rfw_clamped)") in read, read
    assert "later packets admitted in chain fpbxfirewall with no per-source limit" in read
    assert "IPv6 tcp/5061: refused (chain fpbxlogdrop)" in read


def test_the_control_passes_sip_refused_to_unknown_addresses(tmp_path):
    evidence = Evidence()
    firewall_controls.test_sip_rate_per_source(freepbx_host(tmp_path, freepbx_table(*RESPONSIVE_OFF)), evidence)
    read = repr(evidence.items)
    assert "IPv4 udp/5060: refused (chain fpbxlogdrop)" in read and "IPv6 tcp/5060: refused" in read


def test_the_control_fails_sip_open_to_anyone(tmp_path):
    with pytest.raises(Failed, match="no per-source limit on IPv4 tcp/5060, IPv4 udp/5060, IPv6 tcp/5060, "
                                     "IPv6 udp/5060:"):
        firewall_controls.test_sip_rate_per_source(
            freepbx_host(tmp_path, freepbx_table(*RESPONSIVE_OFF, (EXTERNAL_ZONE, WITH_SIP))), Evidence())

