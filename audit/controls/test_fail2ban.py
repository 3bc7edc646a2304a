"""fail2ban: password guessers are banned, and the ban lands in nftables."""
import re
import shlex

from ansible.module_utils.fail2ban_jails import (bans_nothing, parse_actions, parse_jail_list, running_jails,
                                                 unprotected_jails)
from audit.plugin import control, fail, not_applicable

REFS = ["fail2ban config/filter.d/asterisk.conf", "Asterisk res_security_log"]
JAIL_NAME = re.compile(r"asterisk|voipguard|sip|ami", re.I)


def voip_jails(target, evidence):
    out = target.run("fail2ban-client status")
    evidence.add(command="fail2ban-client status", output=(out.stdout or out.stderr).strip())
    if out.rc != 0:
        fail("fail2ban is not running or not installed (%s)" % (out.stderr.strip() or "rc %d" % out.rc))
    return [j for j in parse_jail_list(out.stdout) if JAIL_NAME.search(j)]


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
            if bans_nothing(parse_actions(actions.stdout)):
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


@control(id="VOIP-F2B-003", severity="high",
         title="No fail2ban jail can ban the admin networks",
         rationale="fail2ban's ignoreip is set per jail; Debian enables [sshd] with no admin network in it.",
         impact="A few mistyped passwords from the admin network lock the operator out of SSH.",
         remediation={"role": "fail2ban_asterisk", "tag": "fail2ban_jails", "variable": "voipguard_admin_networks"},
         references=["fail2ban jail.conf: ignoreip", "Debian jail.d/defaults-debian.conf"])
def test_no_jail_bans_the_admin_networks(target, evidence):
    admin = target.vars.get("voipguard_admin_networks") or []
    if not admin:
        not_applicable("no admin networks given (voipguard_admin_networks)")

    def ask(words):
        command = "fail2ban-client " + " ".join(shlex.quote(word) for word in words)
        out = target.run(command)
        evidence.add(command=command, output=(out.stdout or out.stderr).strip())
        if out.rc != 0 and words == ["status"]:
            not_applicable("fail2ban is not running: it bans nobody")
        if out.rc != 0:
            fail("fail2ban does not answer: %s" % command)
        return out.stdout

    # The module's reading (library/fail2ban_jails_info.py): a jail that only alerts is left out.
    jails, _alert_only = running_jails(ask)
    problems = ["jail %s can ban %s" % (jail, ", ".join(missing))
                for jail, missing in sorted(unprotected_jails(jails, admin).items())]
    if problems:
        fail("; ".join(problems))
