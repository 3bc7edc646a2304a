"""SIP credentials: the door intruders walked through (extension 1001, password 1001)."""
import posixpath

from ansible.module_utils import secret_accounts, secret_policy

from audit.hostctx import ASTERISK_DIR
from audit.plugin import control, fail, not_applicable

REFS = ["Asterisk README-SERIOUSLY.bestpractices.md: Reducing Pattern Match Typos / Secure Passwords",
        "docs: Deployment/Important-Security-Considerations"]


LIVE = "asterisk -rx 'pjsip show auth %s'"
FROM_FILES = " (from the files: Asterisk did not answer)"
SIP_FILES = ("pjsip.conf", "pjsip_wizard.conf")


def _users_of(endpoints_and_auths):
    """{auth name: {endpoints using it}} from (endpoint, [auth and outbound_auth values])."""
    users_of = {}
    for endpoint, values in endpoints_and_auths:
        for value in values:
            for name in value.split(","):
                if name.strip():
                    users_of.setdefault(name.strip(), set()).add(endpoint)
    return users_of


def sip_accounts(target):
    """([Account] of every SIP credential with a measurable secret, whether the secrets are the
    running Asterisk's): module_utils/secret_accounts reads pjsip.conf and pjsip_wizard.conf as
    the module asterisk_secret_audit does; the secrets res_pjsip has loaded replace the files'
    when Asterisk answers."""
    groups = [(posixpath.join(ASTERISK_DIR, name), target.config(name)) for name in SIP_FILES]
    accounts = secret_accounts.collect_accounts([(path, configs) for path, configs in groups if configs])
    live = target.live_auths()
    if live is not None:
        endpoints = []
        for endpoint in target.live_endpoints() or ():
            shown = target.live_parameters("pjsip show endpoint %s" % endpoint) or {}
            endpoints.append((endpoint, [shown.get("auth") or "", shown.get("outbound_auth") or ""]))
        accounts = secret_accounts.with_live_pjsip_auths(accounts, live, _users_of(endpoints))
    # A secret stored as a digest cannot be measured here.
    return [a for a in accounts if not a.hashed], live is not None


def _evidence(evidence, finding, live, value):
    if live:
        evidence.add(command=LIVE % finding["id"], output=value)
    else:
        evidence.add(file=finding["file"], key="[%s] strength%s" % (finding["id"], FROM_FILES), value=value)


@control(id="VOIP-SIP-001", severity="critical",
         title="Every SIP secret is strong (long, not guessable, not a dictionary word, not the username)",
         rationale="sipvicious guessed the factory secret 1001 of extension 1001 in 0.1 s; a registered "
                   "intruder can call anywhere the phone can.",
         impact="Anyone on the internet can guess a phone's password and place calls on your bill.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_sip_secrets_are_strong(target, evidence):
    accounts, live = sip_accounts(target)
    if not accounts:
        not_applicable("no SIP account with a password")
    # Reuse is VOIP-SIP-002's finding: judged here for strength alone.
    policy = target.secret_policy(forbid_reuse=False)
    weak = []
    for finding in secret_accounts.audit_accounts(accounts, policy):
        reasons = secret_policy.describe(finding["reasons"])
        # The finding names its account and file: no second lookup of the account.
        _evidence(evidence, finding, live, "strength: estimated %d bits; %s" % (finding["entropy_bits"], reasons or "ok"))
        if not finding["passed"]:
            weak.append("%s (%s)" % (finding["id"], reasons))
    if weak:
        fail("%d of %d SIP secrets are weak: %s" % (len(weak), len(accounts), "; ".join(weak)))


@control(id="VOIP-SIP-002", severity="high",
         title="No two SIP accounts share a secret",
         rationale="One leaked or cracked secret must not open a second account.",
         impact="One stolen password would unlock several phones.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_sip_secrets_are_not_reused(target, evidence):
    accounts, live = sip_accounts(target)
    if len(accounts) < 2:
        not_applicable("fewer than two SIP accounts with a password")
    findings = secret_accounts.audit_accounts(accounts, target.secret_policy())
    if live:
        evidence.add(command="asterisk -rx 'pjsip show auths'", output="%d loaded auths compared" % len(accounts))
    else:
        evidence.add(file=posixpath.join(ASTERISK_DIR, SIP_FILES[0]),
                     key="SIP accounts compared" + FROM_FILES, value=len(accounts))
    reused = [f for f in findings if f["reused_with"]]
    if reused:
        fail("secrets shared between accounts: %s" % "; ".join(
            "%s = %s" % (f["id"], ", ".join(f["reused_with"])) for f in sorted(reused, key=lambda f: f["id"])))
