"""The nftables_firewall role's table, rendered from its template with the role's defaults and
checked by nft itself (nft -c: the kernel's parser, nothing loaded), then loaded into a network
namespace of its own for the audit's reader. What the rules do to real packets is proven in the
lab (tests/lab/test_perimeter.py)."""
import json
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import to_bool

from audit.nftcheck import per_source_limits

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nftables_firewall"


def render(**overrides):
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update({
        "ansible_managed": "managed by voipguard (test)",
        "nftables_firewall_rtp_range": [10000, 20000],
        # What prepare.yml computes from voipguard_admin_networks, trunks and phones.
        "nftables_firewall_addresses": {
            "v4": {"admin": ["198.18.0.0/24"], "trunks": ["198.51.100.20"],
                   "phones": ["198.51.100.0/24"], "media": []},
            "v6": {"admin": [], "trunks": [], "phones": ["2001:db8:1::/64"], "media": []},
        },
    })
    variables.update(overrides)
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["bool"] = to_bool
    return environment.from_string((ROLE / "templates" / "voipguard.nft.j2").read_text()).render(variables)


def chain(ruleset, name):
    body = ruleset.split(f"\tchain {name} {{\n", 1)[1]
    return [line.strip() for line in body.split("\n\t}", 1)[0].splitlines() if line.strip()]


def nft_check(tmp_path, ruleset):
    if shutil.which("nft") is None:
        pytest.skip("nftables not installed")
    path = tmp_path / "voipguard.nft"
    path.write_text(ruleset)
    proc = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("flood_ban", [True, False])
def test_nft_accepts_the_table(tmp_path, flood_ban):
    nft_check(tmp_path, render(nftables_firewall_sip_flood_ban_enabled=flood_ban))


def test_without_ami_and_http_ports_the_table_has_no_empty_port_set(tmp_path):
    # "tcp dport {  }" is a syntax error for nft: a PBX that opens neither has no such rule.
    ruleset = render(nftables_firewall_ami_ports=[], nftables_firewall_http_ports=[])
    assert "jump admin_only" not in "".join(chain(ruleset, "input"))
    nft_check(tmp_path, ruleset)


def test_trunks_and_phones_leave_the_sip_rate_chain_before_the_flood_ban():
    rules = chain(render(), "sip_rate")
    first_flood_rule = next(i for i, rule in enumerate(rules) if "sip_flooders" in rule)
    exits = [i for i, rule in enumerate(rules)
             if rule in ("ip saddr @trunks_v4 return", "ip saddr @phones_v4 return",
                         "ip6 saddr @trunks_v6 return", "ip6 saddr @phones_v6 return")]
    assert len(exits) == 4 and max(exits) < first_flood_rule
    # The phones' own limit comes before they leave the chain, so they do have one.
    assert any(rule.startswith("ip saddr @phones_v4 update @phones_sip_rate_v4") and
               "limit rate over 200/second burst 400 packets" in rule for rule in rules[:max(exits)])


def test_the_packet_over_the_rate_bans_its_source():
    rules = chain(render(nftables_firewall_sip_rate_per_second=7, nftables_firewall_sip_rate_burst=3), "sip_rate")
    over_rate = [rule for rule in rules if "update @sip_rate_v4" in rule]
    assert over_rate == ['meta nfproto ipv4 update @sip_rate_v4 { ip saddr limit rate over 7/second burst 3 packets } '
                         'add @sip_flooders_v4 { ip saddr } counter drop comment "voipguard: SIP rate per source"']
    assert 'ip saddr @sip_flooders_v4 counter drop comment "voipguard: SIP flooder"' in rules


def test_without_the_flood_ban_the_rate_only_drops():
    ruleset = render(nftables_firewall_sip_flood_ban_enabled=False)
    assert "sip_flooders" not in ruleset
    assert any("update @sip_rate_v4" in rule and rule.endswith('drop comment "voipguard: SIP rate per source"')
               for rule in chain(ruleset, "sip_rate"))


def test_flood_bantime_is_the_sets_timeout():
    ruleset = render(nftables_firewall_sip_flood_bantime="1h30m")
    assert ruleset.count("timeout 1h30m") == 2


def loaded(tmp_path, ruleset, listing="list ruleset"):
    """nft -j LISTING after loading ``ruleset`` in a throwaway network namespace (unshare -n)."""
    if shutil.which("nft") is None or shutil.which("unshare") is None:
        pytest.skip("nftables or unshare not installed")
    path = tmp_path / "table.nft"
    path.write_text(ruleset)
    proc = subprocess.run(["unshare", "-n", "sh", "-c", f"nft -f {path} && nft -j {listing}"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("a network namespace needs root")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def loaded_chain(tmp_path, ruleset, name):
    """nft -j list chain of voipguard's table, loaded in a throwaway network namespace."""
    return loaded(tmp_path, ruleset, f"list chain inet voipguard {name}")


def test_audit_reads_the_per_source_limits_and_the_flood_ban(tmp_path):
    limits = per_source_limits(loaded_chain(tmp_path, render(), "sip_rate"))
    # The phones' own limit applies to their networks only (an address match): not counted.
    assert limits == [
        {"family": "ip", "rate": 10, "per": "second", "burst": 8, "bans": "sip_flooders_v4"},
        {"family": "ip6", "rate": 10, "per": "second", "burst": 8, "bans": "sip_flooders_v6"}]


def test_audit_reads_the_limits_without_the_flood_ban(tmp_path):
    ruleset = render(nftables_firewall_sip_flood_ban_enabled=False)
    limits = per_source_limits(loaded_chain(tmp_path, ruleset, "sip_rate"))
    assert [(limit["family"], limit["bans"]) for limit in limits] == [("ip", None), ("ip6", None)]


def boundary_ruleset(**overrides):
    # nft resolves a user name when it loads the rule: this machine's root stands in for asterisk.
    variables = dict(voipguard_trunk_boundary_instance=True, voipguard_trunk_boundary_port=5070,
                     nftables_firewall_asterisk_user="root", nftables_firewall_boundary_output=True)
    variables.update(overrides)
    return render(**variables)


def test_nft_accepts_the_table_with_the_trunk_boundary_instance(tmp_path):
    nft_check(tmp_path, boundary_ruleset())


def test_only_the_main_asterisks_invites_to_a_trunk_are_dropped():
    rules = chain(boundary_ruleset(), "output")
    invite = [r for r in rules if "0x494e56495445" in r]  # "INVITE", the request line's start
    assert len(invite) == 2 and all('meta skuid "root"' in r and r.endswith('to a trunk"') for r in invite)
    assert any("ip daddr @trunks_v4" in r for r in invite) and any("ip6 daddr @trunks_v6" in r for r in invite)
    assert all("drop" in r for r in rules if "skuid" in r)
    assert any(r.startswith("type filter hook output") and r.endswith("policy accept;") for r in rules)


def test_the_boundary_port_is_open_to_the_trunks_only():
    ruleset = boundary_ruleset(voipguard_trunk_boundary_port=5099)
    assert "udp dport 5099 jump boundary_from" in chain(ruleset, "input")
    assert chain(ruleset, "boundary_from")[-1].startswith("counter drop")


def test_until_the_instance_holds_the_trunks_its_port_is_guarded_but_the_carriers_stay_open(tmp_path):
    # The run that first switches the instance on: the main Asterisk's copies still dial the
    # carriers until toll_fraud_guard has them forward to the instance; the chain comes after.
    ruleset = boundary_ruleset(nftables_firewall_boundary_output=False)
    nft_check(tmp_path, ruleset)
    assert "chain output" not in ruleset
    assert "udp dport 5070 jump boundary_from" in chain(ruleset, "input")


def test_without_the_instance_there_is_no_output_chain():
    ruleset = render()
    assert "chain output" not in ruleset and "boundary_from" not in ruleset
