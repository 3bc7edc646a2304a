"""The audit's reading of FreePBX 17's firewall, which runs on iptables (audit/iptables_save.py
translating for audit/nftcheck.py, used by VOIP-FW-001/002/004): the rules the lab's FreePBX host
can load (lab/factory/freepbx/firewall.iptables and .ip6tables, as the module's iptables driver
builds them), loaded by the real iptables-restore (iptables-nft) into a throwaway network
namespace, then read back the way the audit reads a host. What the rules do to real packets is
proven in the lab (tests/lab/test_freepbx.py)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _pytest.outcomes import Failed

from audit.controls import test_firewall as firewall_controls
from audit.hostctx import HostContext
from audit.iptables_save import backend, combined_ruleset, to_nft_items
from audit.nftcheck import outsider_admission, port_open_from_outside
from audit.plugin import Evidence
from fake_results import FakeHost, FakeResult
from ansible.module_utils.pbx_distribution import freepbx_firewall

LAB = Path(__file__).resolve().parents[2] / "lab" / "factory" / "freepbx"
TEMPWHITELIST = "TEMPWHITELIST"
RESPONSIVE_OFF = ("--set-xmark 0x3/0xffffffff", "--set-xmark 0x1/0xffffffff")
SIP_EXTERNAL = ("-A zone-external -j MARK --set-xmark 0x10/0x10\n",
                "-A zone-external -j MARK --set-xmark 0x10/0x10\n-A zone-external -j fpbxsvc-pjsip\n")


def rules(name, *changes, drop_lines_with=None):
    """A lab rules file with (old, new) text changes, the operator's GUI changes."""
    text = (LAB / name).read_text().replace("@EXTERNAL_IF@", "eth2")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    if drop_lines_with:
        text = "".join(line for line in text.splitlines(True) if drop_lines_with not in line)
    return text


def loaded(tmp_path, *changes, drop_lines_with=None):
    """(nft -j list ruleset, iptables-save, ip6tables-save) after loading both files for real."""
    if not all(shutil.which(tool) for tool in ("iptables-restore", "ip6tables-restore", "ipset", "unshare", "nft")):
        pytest.skip("iptables, ipset, nftables or unshare not installed")
    for name in ("firewall.iptables", "firewall.ip6tables"):
        (tmp_path / name).write_text(rules(name, *changes, drop_lines_with=drop_lines_with))
    script = ("ipset create -exist lefilter bitmap:port range 80-65535 timeout 60 && "
              f"iptables-restore < {tmp_path}/firewall.iptables && ip6tables-restore < {tmp_path}/firewall.ip6tables && "
              "nft -j list ruleset && echo ==== && iptables-save -t filter && echo ==== && ip6tables-save -t filter")
    proc = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("a network namespace needs root")
    assert proc.returncode == 0, proc.stderr
    nft, v4, v6 = proc.stdout.split("====\n")
    return json.loads(nft), v4, v6


def ruleset(tmp_path, *changes, drop_lines_with=None):
    return combined_ruleset(*loaded(tmp_path, *changes, drop_lines_with=drop_lines_with))


def test_the_files_are_what_iptables_save_prints(tmp_path):
    _nft, v4, v6 = loaded(tmp_path)
    assert backend(v4) == backend(v6) == "nf_tables"
    for name, saved in (("firewall.iptables", v4), ("firewall.ip6tables", v6)):
        wanted = [line for line in rules(name).splitlines() if line.startswith("-A ")]
        assert [line for line in saved.splitlines() if line.startswith("-A ")] == wanted


def test_iptables_nft_tables_are_read_once_in_their_iptables_form(tmp_path):
    nft, v4, v6 = loaded(tmp_path)
    # nftables shows the same rules, with xt_recent as opaque "xt" expressions ...
    assert any(item.get("rule", {}).get("chain") == "fpbxrfw" for item in nft["nftables"])
    combined = combined_ruleset(nft, v4, v6)["nftables"]
    # ... which the translation replaces: one INPUT chain per family, and every rule is a
    # translated one (it carries its iptables text).
    inputs = [item["chain"] for item in combined if item.get("chain", {}).get("name") == "INPUT"]
    assert sorted(chain["family"] for chain in inputs) == ["ip", "ip6"]
    assert all(chain["hook"] == "input" and chain["policy"] == "accept" for chain in inputs)
    texts = [next((s["comment"] for s in item["rule"]["expr"] if "comment" in s), None)
             for item in combined if "rule" in item]
    assert len(texts) == sum(text.count("\n-A ") for text in (v4, v6)) and all(t.startswith("-A ") for t in texts)


def test_a_new_source_gets_ninety_seconds_of_sip_before_the_responsive_tiers_count_it(tmp_path):
    seen_rules = ruleset(tmp_path)
    for family in ("ip", "ip6"):
        for proto in ("udp", "tcp"):
            seen = outsider_admission(seen_rules, 5060, proto, family)
            assert seen["verdict"] == "accept" and seen["limits"] == [] and seen["ended_in"] == "fpbxrfw"
            assert "--name TEMPWHITELIST" in seen["ended_by"] and seen["ended_by"].endswith("-j ACCEPT")
    # A list FreePBX's daemon fills (WHITELIST: registered phones) never holds the outsider: the
    # walk went past it to TEMPWHITELIST, which the ruleset fills with whoever sends.
    assert port_open_from_outside(seen_rules, 5038)[0] is False
    assert port_open_from_outside(seen_rules, 8088)[0] is False
    assert outsider_admission(seen_rules, 5061, "tcp", "ip")["ended_in"] == "fpbxlogdrop"


def test_without_the_temporary_whitelist_every_udp_packet_meets_the_tiers(tmp_path):
    # FreePBX's firewall before FREEPBX-22170 (2021): no TEMPWHITELIST rules.
    seen_rules = ruleset(tmp_path, drop_lines_with=TEMPWHITELIST)
    for family in ("ip", "ip6"):
        for ct in ("new", "established"):
            seen = outsider_admission(seen_rules, 5060, "udp", family, ct=ct)
            assert seen["verdict"] == "accept" and seen["ended_in"] == "fpbxrfw"
            assert [(l["rate"], l["per"], l["burst"], l["per_source"]) for l in seen["limits"]] == \
                [(50, "10 seconds", None, True), (10, "60 seconds", None, True), (100, "86400 seconds", None, True)]
        # UDP's established accept comes after the tiers; TCP's before them.
        later_tcp = outsider_admission(seen_rules, 5060, "tcp", family, ct="established")
        assert later_tcp["limits"] == [] and "RELATED,ESTABLISHED" in later_tcp["ended_by"]


def test_responsive_firewall_off_refuses_sip_from_unknown_addresses(tmp_path):
    seen_rules = ruleset(tmp_path, RESPONSIVE_OFF)
    for family in ("ip", "ip6"):
        seen = outsider_admission(seen_rules, 5060, "udp", family)
        assert (seen["verdict"], seen["ended_in"]) == ("drop", "fpbxlogdrop"), seen


def test_sip_in_the_external_zone_is_admitted_with_no_limit(tmp_path):
    seen_rules = ruleset(tmp_path, RESPONSIVE_OFF, SIP_EXTERNAL)
    seen = outsider_admission(seen_rules, 5060, "udp", "ip")
    assert (seen["verdict"], seen["ended_in"], seen["limits"]) == ("accept", "fpbxsvc-pjsip", [])


class Freepbx17Host(FakeHost):
    """A FreePBX 17 host stand-in: iptables-save answers with rules loaded for real."""

    def __init__(self, nft, v4, v6):
        super().__init__({"/etc/freepbx.conf": "<?php\n", "/etc/asterisk/pjsip.conf": "[0]\n",
                          "/etc/asterisk/firewall.enabled": ""})
        self.nft, self.v4, self.v6 = nft, v4, v6

    def run_one(self, command):
        if command.startswith("nft list chains"):
            return FakeResult("table ip filter {\n\tchain fpbxfirewall {\n\t}\n}\n" if self.nft["nftables"] else "")
        if command == "nft -j list ruleset":
            return FakeResult(json.dumps(self.nft))
        if "ip6tables-save" in command:
            return FakeResult(self.v6)
        if "iptables-save" in command:
            return FakeResult(self.v4)
        if command.startswith("asterisk -rx"):
            return FakeResult(" Transport:  0.0.0.0-udp  udp  0  0  0.0.0.0:5060\n")
        return FakeResult("", rc=1, stderr="Error: No such file or directory")


def host(nft, v4, v6):
    return HostContext(Freepbx17Host(nft, v4, v6), "pbx")


def test_fw004_fails_freepbx_17_as_loaded_and_names_the_temporary_whitelist(tmp_path):
    evidence = Evidence()
    with pytest.raises(Failed, match="no per-source limit on IPv4 tcp/5060, IPv4 udp/5060, IPv6 tcp/5060, "
                                     "IPv6 udp/5060 .*accepts a source it has never seen for 90 s"):
        firewall_controls.test_sip_rate_per_source(host(*loaded(tmp_path)), evidence)
    assert "--rcheck --seconds 90 --hitcount 1 --name TEMPWHITELIST" in repr(evidence.items)


def test_fw004_fails_tcp_only_without_the_temporary_whitelist(tmp_path):
    evidence = Evidence()
    with pytest.raises(Failed) as failed:
        firewall_controls.test_sip_rate_per_source(host(*loaded(tmp_path, drop_lines_with=TEMPWHITELIST)), evidence)
    message = str(failed.value)
    assert "only on the first packet of a flow on IPv4 tcp/5060, IPv6 tcp/5060" in message, message
    assert "udp/5060" not in message and "no per-source limit" not in message, message
    assert "per source over 50/10 seconds; over 10/60 seconds; over 100/86400 seconds" in repr(evidence.items)


def test_fw004_passes_sip_kept_to_known_networks(tmp_path):
    evidence = Evidence()
    firewall_controls.test_sip_rate_per_source(host(*loaded(tmp_path, RESPONSIVE_OFF)), evidence)
    assert "IPv4 udp/5060: refused (chain fpbxlogdrop)" in repr(evidence.items)


def test_iptables_legacy_rules_are_seen_where_nft_shows_nothing(tmp_path):
    _nft, v4, v6 = loaded(tmp_path, RESPONSIVE_OFF)
    legacy = v4.replace("(nf_tables)", "(legacy)"), v6.replace("(nf_tables)", "(legacy)")
    target = host({"nftables": []}, *legacy)
    assert target.gui_firewall()["loaded"] and target.gui_firewall()["backend"] == "iptables"
    firewall_controls.test_voipguard_table_present(target, Evidence())  # FW-001: loaded, passes
    tables = {item["chain"]["table"] for item in target.firewall_ruleset()["nftables"] if "chain" in item}
    assert tables == {"filter (iptables-legacy)"}
    firewall_controls.test_sip_rate_per_source(target, Evidence())


def test_detection_reads_fpbx_chains_from_iptables_save():
    found = freepbx_firewall(lambda path: None, "", ":INPUT ACCEPT [0:0]\n:fpbxfirewall - [0:0]\n:fpbxrfw - [0:0]\n")
    assert (found["active"], found["loaded"], found["backend"]) == (True, True, "iptables")
    assert found["evidence"] == ["FreePBX's firewall is loaded in iptables: chain fpbxfirewall, chain fpbxrfw"]
    assert freepbx_firewall(lambda path: None, "", ":INPUT ACCEPT [0:0]\n")["loaded"] is False


@pytest.mark.parametrize("line, packet_mark", [
    ("-A t -j MARK --set-xmark 0x3/0xffffffff", 0x3),
    ("-A t -j MARK --set-xmark 0x4/0x4", 0x5),  # ORs bit 2 into the mark the packet had (0x1)
    ("-A t -j MARK --set-xmark 0x0/0x1", 0x0),  # clears bit 0
    ("-A t -j MARK --or-mark 0x10", 0x11),
])
def test_marks_follow_the_xmark_arithmetic(line, packet_mark):
    text = ("*filter\n:INPUT ACCEPT [0:0]\n:t - [0:0]\n-A INPUT -j MARK --set-xmark 0x1/0xffffffff\n"
            "-A INPUT -j t\n%s\n-A INPUT -m mark --mark %s -j DROP\nCOMMIT\n" % (line, hex(packet_mark)))
    seen = outsider_admission({"nftables": to_nft_items(text, "ip")}, 5060, "udp", "ip")
    assert seen["verdict"] == "drop", seen


def test_per_source_hashlimit_and_multiport_are_read():
    text = ("*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp -m multiport --dports 5060,5080:5090 -m hashlimit "
            "--hashlimit-above 10/sec --hashlimit-burst 20 --hashlimit-mode srcip --hashlimit-name sip -j DROP\n"
            "-A INPUT -p udp -m multiport --dports 5060,5080:5090 -j ACCEPT\nCOMMIT\n")
    items = to_nft_items(text, "ip")
    for port in (5060, 5085):
        seen = outsider_admission({"nftables": items}, port, "udp", "ip")
        assert seen["verdict"] == "accept"
        assert [(l["rate"], l["per"], l["burst"], l["per_source"]) for l in seen["limits"]] == [(10, "second", 20, True)]
    assert outsider_admission({"nftables": items}, 5070, "udp", "ip")["verdict"] == "drop"  # the policy


UFW = """*filter
:INPUT DROP [0:0]
:ufw-before-input - [0:0]
:ufw-not-local - [0:0]
:ufw-user-input - [0:0]
-A INPUT -j ufw-before-input
-A INPUT -j ufw-user-input
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-input -j ufw-not-local
-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN
-A ufw-not-local -m addrtype --dst-type MULTICAST -j RETURN
-A ufw-not-local -m limit --limit 3/min --limit-burst 10 -j LOG
-A ufw-not-local -j DROP
-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT
-A ufw-user-input -p udp -m udp --dport 5060 -j ACCEPT
COMMIT
"""


def test_ufws_rules_admit_what_they_allow_and_nothing_else():
    # ufw (iptables) on a plain Asterisk host: a packet to the host's own address returns from
    # ufw-not-local before its DROP, then meets the user's rules and the DROP policy.
    items = {"nftables": to_nft_items(UFW, "ip")}
    seen = outsider_admission(items, 5060, "udp", "ip")
    assert (seen["verdict"], seen["ended_in"]) == ("accept", "ufw-user-input")
    assert port_open_from_outside(items, 5038) == (False, "ip filter chain INPUT drops new tcp/5038 from other addresses")


def test_a_drop_after_a_return_the_reader_cannot_decide_is_not_taken_as_sure():
    text = UFW.replace("-m addrtype --dst-type LOCAL -j RETURN", '-m string --string "x" --algo bm -j RETURN')
    seen = outsider_admission({"nftables": to_nft_items(text, "ip")}, 5060, "udp", "ip")
    assert seen["verdict"] == "accept", "the packet may have returned before ufw-not-local's DROP"
