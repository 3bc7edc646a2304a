"""Perimeter: the toolkit's nftables table, and what an outsider can reach."""
import json
import re
import shlex

import testinfra

from audit.hostctx import is_loopback
from audit.nftcheck import outsider_admission, per_source_limits, port_open_from_outside
from audit.plugin import control, fail

REFS = ["nftables wiki: Simple ruleset for a server", "Asterisk docs: Important-Security-Considerations"]


@control(id="VOIP-FW-001", severity="high",
         title="The voipguard nftables table is loaded (table inet voipguard), or FreePBX's own firewall filters",
         rationale="The firewall closes VoIP ports by default and admits SIP only from trunks, phones "
                   "and chosen countries.",
         impact="The PBX has no firewall of its own.",
         remediation={"role": "nftables_firewall", "tag": "nftables_firewall", "variable": "nftables_firewall_enabled"},
         references=REFS)
def test_voipguard_table_present(target, evidence):
    freepbx = target.gui_firewall()
    if freepbx["active"]:
        # One firewall: voipguard adds none beside FreePBX's; FW-002/003 probe what it lets in.
        evidence.add(key="FreePBX's firewall", value="; ".join(freepbx["evidence"]))
        if not freepbx["loaded"]:
            fail("FreePBX's firewall is switched on but none of its rules are loaded (no fpbx table or chain in "
                 "nftables, no fpbx chain in iptables): nothing filters this host. Start it: fwconsole firewall start")
        return
    out = target.run("nft list table inet voipguard")
    evidence.add(command="nft list table inet voipguard", output=(out.stdout or out.stderr).strip()[:1500])
    if out.rc != 0 and "No such file" not in out.stderr:
        raise RuntimeError("nft cannot list the ruleset: %s" % out.stderr.strip())
    if out.rc != 0:
        fail("table inet voipguard is not loaded (%s)" % (out.stderr.strip() or "rc %d" % out.rc))


def _listeners(target, port):
    out = target.run("ss -Hltn 'sport = :%d'" % port)
    addresses = []
    for line in out.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            addresses.append(fields[3].rsplit(":", 1)[0].strip("[]"))
    return addresses, out


def _probe_host(target):
    probes = (target.vars.get("groups") or {}).get("probes") or []
    inventory = getattr(target.host.backend, "ansible_inventory", None)
    if not probes or not inventory:
        return None, None
    return probes[0], testinfra.get_host("ansible://" + probes[0], ansible_inventory=inventory)


def check_port_unreachable(target, evidence, port, service):
    listeners, out = _listeners(target, port)
    evidence.add(command="ss -Hltn 'sport = :%d'" % port, output=out.stdout.strip() or "(nothing listens)")
    exposed = [a for a in listeners if not is_loopback(a)]
    if not exposed:
        return  # nothing beyond loopback listens: unreachable whatever the firewall says
    name, probe = _probe_host(target)
    if probe is not None:
        addresses = target.vars.get("voipguard_audit_external_addresses") or [target.vars.get("ansible_host")]
        reached = []
        for address in [a for a in addresses if a]:
            command = "timeout 3 bash -c %s" % shlex.quote("exec 3<>/dev/tcp/%s/%d" % (address, port))
            try:
                result = probe.run(command)
            except Exception as exc:  # pylint: disable=broad-except
                evidence.add(command="on %s: %s" % (name, command), output="probe failed: %s" % exc)
                break
            evidence.add(command="on %s: %s" % (name, command),
                         output="connected" if result.rc == 0 else "no connection (rc %d)" % result.rc)
            if result.rc == 0:
                reached.append(address)
        else:
            if reached:
                fail("%s port %d is reachable from outside host %s at %s"
                     % (service, port, name, ", ".join(reached)))
            return
    ruleset = target.firewall_ruleset()
    if ruleset is None:
        fail("%s listens on %s and the nftables ruleset cannot be read" % (service, ", ".join(exposed)))
    is_open, why = port_open_from_outside(ruleset, port)
    evidence.add(command="%s (port %d, arbitrary source)" % (RULESET_READ, port), output=why)
    if is_open:
        fail("%s listens on %s and %s" % (service, ", ".join(exposed), why))


@control(id="VOIP-FW-002", severity="critical",
         title="The AMI port (5038) cannot be reached from outside",
         rationale="The AMI originates calls; only the admin networks may reach it.",
         impact="Anyone on the internet can reach the PBX's management interface.",
         remediation={"role": "nftables_firewall", "tag": "nftables_firewall", "variable": "voipguard_admin_networks"},
         references=REFS)
def test_ami_port_not_reachable(target, evidence):
    check_port_unreachable(target, evidence, 5038, "AMI")


@control(id="VOIP-FW-003", severity="high",
         title="Asterisk's HTTP port (8088) cannot be reached from outside",
         rationale="ARI and AMI-over-HTTP must not be offered to the internet.",
         impact="Another management interface is reachable from the internet.",
         remediation={"role": "nftables_firewall", "tag": "nftables_firewall", "variable": "voipguard_admin_networks"},
         references=REFS)
def test_http_port_not_reachable(target, evidence):
    check_port_unreachable(target, evidence, 8088, "Asterisk HTTP")


@control(id="VOIP-FW-004", severity="medium",
         title="SIP from outside the trunks and phones is refused or held to a rate per source, in the "
               "kernel (voipguard's table, or FreePBX's firewall)",
         rationale="fail2ban bans up to a second after a failure is logged; a per-source rate bounds "
                   "the guesses anyone gets meanwhile, and a ban made by the packet over the rate "
                   "stops a flood at once.",
         impact="A guesser sends as fast as the link allows until fail2ban reacts: hundreds of "
                "passwords a second.",
         remediation={"role": "nftables_firewall", "tag": "nftables_firewall",
                      "variable": "nftables_firewall_sip_rate_per_second"},
         references=REFS + ["nftables wiki: Meters"])
def test_sip_rate_per_source(target, evidence):
    freepbx = target.gui_firewall()
    if freepbx["active"]:
        check_freepbx_sip_admission(target, evidence, freepbx)
        return
    command = "nft -j list chain inet voipguard sip_rate"
    out = target.run(command)
    if out.rc != 0:
        evidence.add(command=command, output=(out.stderr or "rc %d" % out.rc).strip())
        fail("no per-source SIP rate: chain sip_rate of table inet voipguard is not loaded")
    limits = per_source_limits(json.loads(out.stdout or "{}"))
    evidence.add(command=command + " (rules that limit every remaining source)",
                 output="\n".join("%(family)s: over %(rate)s/%(per)s, burst %(burst)s, drop%(ban)s"
                                   % dict(limit, ban=" and ban (set %s)" % limit["bans"] if limit["bans"] else "")
                                   for limit in limits) or "(none)")
    families = {limit["family"] for limit in limits}
    missing = [name for name, family in (("IPv4", "ip"), ("IPv6", "ip6")) if family not in families]
    if missing:
        fail("SIP is not rate-limited per source for %s" % " and ".join(missing))


RULESET_READ = "nft -j list ruleset; iptables-save -t filter; ip6tables-save -t filter"

# The SIP ports an outsider is tried on: the usual ones, and every UDP/TCP/TLS transport the
# running Asterisk binds (pjsip show transports).
_USUAL_SIP_PORTS = (("udp", 5060), ("tcp", 5060), ("tcp", 5061))
_TRANSPORT = re.compile(r"^\s*Transport:\s+\S+\s+(udp|tcp|tls)\s+\d+\s+\d+\s+\S*:(\d+)\s*$", re.MULTILINE)


def sip_ports(target):
    listed = target.asterisk_cli("pjsip show transports") or ""
    found = [("udp" if proto == "udp" else "tcp", int(port)) for proto, port in _TRANSPORT.findall(listed)]
    return sorted(set(_USUAL_SIP_PORTS) | set(found))


def _describe_limit(limit):
    burst = " burst %s" % limit["burst"] if limit["burst"] is not None else ""
    return "over %s/%s%s%s" % (limit["rate"], limit["per"], burst,
                               " (bans into %s)" % limit["bans"] if limit["bans"] else "")


def _admitted(seen):
    limits = [limit for limit in seen["limits"] if limit["per_source"]]
    where = "admitted in chain %s" % (seen["ended_in"] or "policy")
    if seen.get("ended_by"):
        where += " (%s)" % seen["ended_by"]
    if not limits:
        return where + " with no per-source limit"
    return "%s, per source %s" % (where, "; ".join(_describe_limit(l) for l in limits))


def check_freepbx_sip_admission(target, evidence, freepbx):
    """FreePBX's firewall, against the goals of voipguard's own: SIP from an arbitrary internet
    address is refused (its zones), or every packet of it, the first of a flow and the ones after
    it, is admitted only behind a per-source rate (its Responsive Firewall, rate-limited
    services). A limit placed after conntrack's "established" accept sees only a flow's first
    packet: a guesser that keeps one socket is not limited by it. Its nftables table (FreePBX 18)
    and its iptables chains (FreePBX 17) are read alike (HostContext.firewall_ruleset)."""
    evidence.add(key="FreePBX's firewall", value="; ".join(freepbx["evidence"]))
    if not freepbx["loaded"]:
        fail("FreePBX's firewall is switched on but its rules are not loaded: SIP is not limited at all")
    ruleset = target.firewall_ruleset()
    if ruleset is None:
        raise RuntimeError("nft cannot list the ruleset")
    open_to_all, first_only, lines, newcomers_free = [], [], [], False
    ports = sip_ports(target)
    for family, name in (("ip", "IPv4"), ("ip6", "IPv6")):
        for proto, port in ports:
            where = "%s %s/%d" % (name, proto, port)
            first = outsider_admission(ruleset, port, proto, family, ct="new")
            if first["verdict"] == "drop":
                lines.append("%s: refused (chain %s)" % (where, first["ended_in"] or "policy"))
                continue
            later = outsider_admission(ruleset, port, proto, family, ct="established")
            lines.append("%s: first packet of a flow %s; later packets %s" % (where, _admitted(first), _admitted(later)))
            if not any(limit["per_source"] for limit in first["limits"]):
                open_to_all.append(where)
                newcomers_free = newcomers_free or "TEMPWHITELIST" in (first.get("ended_by") or "")
            elif not any(limit["per_source"] for limit in later["limits"]):
                first_only.append(where)
    evidence.add(command="%s (packets from an arbitrary internet address)" % RULESET_READ, output="\n".join(lines))
    problems = []
    if open_to_all:
        problems.append("admits SIP from any address with no per-source limit on %s%s: keep the SIP service "
                        "to the zones of known networks (Connectivity > Firewall > Services)"
                        % (", ".join(open_to_all),
                           " (its Responsive Firewall accepts a source it has never seen for 90 s, on "
                           "TEMPWHITELIST, before its tiers count it)" if newcomers_free else ""))
    if first_only:
        problems.append("limits SIP from unknown addresses only on the first packet of a flow on %s: its "
                        "accept of established flows comes before the per-source tiers, so a guesser "
                        "that keeps one socket sends at any rate after its first packet is admitted, and "
                        "fail2ban stays the only brake. Keep SIP to the zones of known networks, with the "
                        "Responsive Firewall off, where the phones allow it" % ", ".join(first_only))
    if problems:
        fail("FreePBX's firewall " + "; it ".join(problems))
