"""fail2ban: password guessers are banned, and the ban lands in nftables."""
import re

from audit.plugin import control, fail

REFS = ["fail2ban config/filter.d/asterisk.conf", "Asterisk res_security_log"]
JAIL_NAME = re.compile(r"asterisk|voipguard|sip|ami", re.I)


def voip_jails(target, evidence):
    out = target.run("fail2ban-client status")
    evidence.add(command="fail2ban-client status", output=(out.stdout or out.stderr).strip())
    if out.rc != 0:
        fail("fail2ban is not running or not installed (%s)" % (out.stderr.strip() or "rc %d" % out.rc))
    match = re.search(r"Jail list:\s*(.*)", out.stdout)
    jails = [j.strip() for j in (match.group(1) if match else "").split(",") if j.strip()]
    return [j for j in jails if JAIL_NAME.search(j)]


@control(id="VOIP-F2B-001", severity="high",
         title="A fail2ban jail watches Asterisk and is active",
         rationale="Stock Asterisk never blocks a guesser; the lab measured 200 guesses/s with no ban.",
         impact="Password guessers can try as long as they like.",
         remediation={"role": "fail2ban_asterisk", "tag": "fail2ban_asterisk", "variable": "fail2ban_asterisk_enabled"},
         references=REFS)
def test_jail_active(target, evidence):
    jails = voip_jails(target, evidence)
    if not jails:
        fail("no active fail2ban jail for Asterisk")
    for jail in jails:
        out = target.run("fail2ban-client status %s" % jail)
        evidence.add(command="fail2ban-client status %s" % jail, output=out.stdout.strip())
        if out.rc != 0:
            fail("jail %s does not answer" % jail)


@control(id="VOIP-F2B-002", severity="high",
         title="fail2ban bans into nftables",
         rationale="A ban that never reaches the packet filter stops nothing.",
         impact="Detected attackers are not actually blocked.",
         remediation={"role": "fail2ban_asterisk", "tag": "fail2ban_jails", "variable": ""},
         references=REFS + ["fail2ban action.d/nftables.conf: set addr-set-<jail>"])
def test_bans_reach_nftables(target, evidence):
    jails = voip_jails(target, evidence)
    if not jails:
        fail("no active fail2ban jail for Asterisk")
    problems = []
    for jail in jails:
        actions = target.run("fail2ban-client get %s actions" % jail)
        evidence.add(command="fail2ban-client get %s actions" % jail, output=actions.stdout.strip())
        if "nftables" not in actions.stdout:
            # The phones' watch jail bans nothing on purpose: it alerts (an office behind NAT).
            if "voipguard-phone-alert" in actions.stdout:
                continue
            problems.append("jail %s bans with no nftables action" % jail)
            continue
        # fail2ban's nftables action makes its set on the first ban: check the bans there are.
        banned = target.run("fail2ban-client get %s banned" % jail).stdout
        addresses = re.findall(r"\d+\.\d+\.\d+\.\d+", banned)
        if not addresses:
            continue
        ruleset = target.run("nft list ruleset").stdout
        evidence.add(command="fail2ban-client get %s banned" % jail, output=", ".join(addresses))
        problems.extend("%s is banned by %s but not in nftables" % (address, jail)
                        for address in addresses if address not in ruleset)
    if problems:
        fail("; ".join(problems))
