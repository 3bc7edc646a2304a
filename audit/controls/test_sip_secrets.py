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


CONF = "/etc/asterisk/pjsip.conf"
LIVE = "asterisk -rx 'pjsip show auth %s'"
FROM_FILES = " (from the files: Asterisk did not answer)"


def _users_of(endpoints_and_auths):
    """{auth name: {endpoints using it}} from (endpoint, [auth and outbound_auth values])."""
    users_of = {}
    for endpoint, values in endpoints_and_auths:
        for value in values:
            for name in value.split(","):
                if name.strip():
                    users_of.setdefault(name.strip(), set()).add(endpoint)
    return users_of


def _live_pjsip_auths(target, auths):
    endpoints = []
    for endpoint in target.live_endpoints() or ():
        shown = target.live_parameters("pjsip show endpoint %s" % endpoint) or {}
        endpoints.append((endpoint, [shown.get("auth") or "", shown.get("outbound_auth") or ""]))
    users_of = _users_of(endpoints)
    out = []
    for name, auth in sorted(auths.items()):
        if not auth["password"] and (auth["md5_cred"] or auth["password_digest"]):
            continue  # loaded as a digest: its strength cannot be measured here
        username = auth["username"] or name
        out.append((name, username, auth["password"], sorted({name, username} | users_of.get(name, set()))))
    return out


def _file_pjsip_auths(target):
    users_of = _users_of((endpoint, (opts.get("auth") or []) + (opts.get("outbound_auth") or []))
                         for endpoint, opts in target.endpoints().items())
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


def pjsip_auths(target):
    """([(auth name, username, password, names it must not contain)], where the secrets were read):
    the auths the running res_pjsip has loaded, the files' only when Asterisk does not answer."""
    live = target.live_auths()
    if live is not None:
        return _live_pjsip_auths(target, live), True
    return _file_pjsip_auths(target), False


@control(id="VOIP-SIP-001", severity="critical",
         title="Every SIP secret is strong (long, not guessable, not a dictionary word, not the username)",
         rationale="sipvicious guessed the factory secret 1001 of extension 1001 in 0.1 s; a registered "
                   "intruder can call anywhere the phone can.",
         impact="Anyone on the internet can guess a phone's password and place calls on your bill.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_sip_secrets_are_strong(target, evidence):
    auths, live = pjsip_auths(target)
    if not auths:
        not_applicable("no PJSIP auth with a password")
    policy = policy_for(target)
    weak = []
    for name, _username, password, names in auths:
        verdict = secret_policy.evaluate(password, names, policy)
        strength = "estimated %d bits; %s" % (verdict["entropy_bits"],
                                               secret_policy.describe(verdict["reasons"]) or "ok")
        if live:
            evidence.add(command=LIVE % name, output="strength: " + strength)
        else:
            evidence.add(file=CONF, key="[%s] strength%s" % (name, FROM_FILES), value=strength)
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
    auths, live = pjsip_auths(target)
    if len(auths) < 2:
        not_applicable("fewer than two PJSIP auths with a password")
    digester = secret_policy.SecretDigester()
    reused = secret_policy.find_reused(dict((name, digester.digest(password) if password else None)
                                            for name, _user, password, _names in auths))
    if live:
        evidence.add(command="asterisk -rx 'pjsip show auths'", output="%d loaded auths compared" % len(auths))
    else:
        evidence.add(file=CONF, key="auth sections compared" + FROM_FILES, value=len(auths))
    if reused:
        fail("secrets shared between accounts: %s" % "; ".join(
            "%s = %s" % (account, ", ".join(others)) for account, others in sorted(reused.items())))
