"""SIP credentials: the door intruders walked through (extension 1001, password 1001)."""
from ansible.module_utils import secret_policy

from audit.plugin import control, fail, not_applicable

REFS = ["Asterisk README-SERIOUSLY.bestpractices.md: Reducing Pattern Match Typos / Secure Passwords",
        "docs: Deployment/Important-Security-Considerations"]


def policy_for(target):
    return secret_policy.SecretPolicy(
        min_length=target.vars.get("voipguard_audit_secret_min_length", secret_policy.DEFAULT_MIN_LENGTH),
        min_entropy_bits=target.vars.get("voipguard_audit_secret_min_entropy_bits",
                                         secret_policy.DEFAULT_MIN_ENTROPY_BITS))


def pjsip_auths(target):
    """[(auth name, username, password or None, names it must not contain)] of PJSIP auths."""
    users_of = {}
    for endpoint, opts in target.endpoints().items():
        for key in ("auth", "outbound_auth"):
            for value in opts.get(key) or []:
                for name in value.split(","):
                    users_of.setdefault(name.strip(), set()).add(endpoint)
    out = []
    for section in target.sections("pjsip.conf", "auth"):
        opts = target.resolve("pjsip.conf", section.name, "auth")
        username = (opts.get("username") or [section.name])[-1]
        password = (opts.get("password") or [None])[-1]
        if password is None and (opts.get("md5_cred") or opts.get("password_digest")):
            continue  # stored as a digest: its strength cannot be measured here
        names = {section.name, username} | users_of.get(section.name, set())
        out.append((section.name, username, password or "", sorted(names)))
    return out


@control(id="VOIP-SIP-001", severity="critical",
         title="Every SIP secret is strong (long, not guessable, not a dictionary word, not the username)",
         rationale="sipvicious guessed the factory secret 1001 of extension 1001 in 0.1 s; a registered "
                   "intruder can call anywhere the phone can.",
         impact="Anyone on the internet can guess a phone's password and place calls on your bill.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_sip_secrets_are_strong(target, evidence):
    auths = pjsip_auths(target)
    if not auths:
        not_applicable("no PJSIP auth section with a password")
    policy = policy_for(target)
    weak = []
    for name, username, password, names in auths:
        verdict = secret_policy.evaluate(password, names, policy)
        evidence.add(file="/etc/asterisk/pjsip.conf", key="[%s] strength" % name,
                     value="estimated %d bits; %s" % (verdict["entropy_bits"],
                                                      secret_policy.describe(verdict["reasons"]) or "ok"))
        if not verdict["passed"]:
            weak.append("%s (%s)" % (name, secret_policy.describe(verdict["reasons"])))
    if weak:
        fail("%d of %d SIP secrets are weak: %s" % (len(weak), len(auths), "; ".join(weak)))


@control(id="VOIP-SIP-002", severity="high",
         title="No two SIP accounts share a secret",
         rationale="One leaked or cracked secret must not open a second account.",
         impact="One stolen password would unlock several phones.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_sip_secrets_are_not_reused(target, evidence):
    auths = pjsip_auths(target)
    if len(auths) < 2:
        not_applicable("fewer than two PJSIP auth sections with a password")
    digester = secret_policy.SecretDigester()
    reused = secret_policy.find_reused(dict((name, digester.digest(password) if password else None)
                                            for name, _user, password, _names in auths))
    evidence.add(file="/etc/asterisk/pjsip.conf", key="auth sections compared", value=len(auths))
    if reused:
        fail("secrets shared between accounts: %s" % "; ".join(
            "%s = %s" % (account, ", ".join(others)) for account, others in sorted(reused.items())))
