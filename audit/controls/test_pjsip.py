"""PJSIP: who may talk to the PBX without a password, and how fast."""
from ansible.module_utils import asterisk_conf
from ansible.module_utils.asterisk_conf import ast_true
from audit.plugin import control, fail, not_applicable

CONF = "/etc/asterisk/pjsip.conf"
REFS = ["Asterisk docs: Configuration/Channel-Drivers/SIP/Configuring-res_pjsip",
        "Asterisk README-SERIOUSLY.bestpractices.md"]


def endpoints_or_na(target):
    endpoints = target.endpoints()
    if not endpoints:
        not_applicable("no PJSIP endpoint configured")
    return endpoints


@control(id="VOIP-PJSIP-001", severity="critical",
         title="No anonymous endpoint, or one whose ACL refuses everyone (unauthenticated calls are refused)",
         rationale="An endpoint named 'anonymous' takes every call that matches no other endpoint, "
                   "without a password: the PJSIP form of allowguest=yes.",
         impact="Anyone on the internet can place calls without any password.",
         remediation={"role": "asterisk_hardening", "tag": "pjsip", "variable": "asterisk_hardening_keep_anonymous"},
         references=REFS)
def test_no_anonymous_endpoint(target, evidence):
    # What Asterisk runs decides; the files only when it does not answer (and the evidence says so).
    live = target.live_endpoints()
    if live is not None:
        evidence.add(command="asterisk -rx 'pjsip show endpoints'", output=", ".join(sorted(live)) or "(none)")
        loaded = [name for name in live if name.lower() == "anonymous"]
        if loaded and not _shut(target, evidence, loaded[0]):
            fail("the running Asterisk has an 'anonymous' endpoint loaded: unauthenticated callers "
                 "reach the dialplan")
        return
    endpoints = endpoints_or_na(target)
    anonymous = [name for name in endpoints if name.lower() == "anonymous"]
    evidence.add(file=CONF, key="endpoints (from the files: Asterisk did not answer)",
                 value=", ".join(sorted(endpoints)))
    if anonymous:
        context = (endpoints[anonymous[0]].get("context") or ["default"])[-1]
        fail("endpoint 'anonymous' exists (context %s): unauthenticated callers reach the dialplan" % context)


def _shut(target, evidence, name):
    """An anonymous endpoint only a GUI can remove (FreePBX's "Allow Anonymous Inbound SIP Calls")
    is shut when its loaded ACL refuses every source: res_pjsip checks the endpoint's ACL before
    anything else. The CLI shows only that an ACL is loaded ("deny/permit"), not its rules: those
    are read from the files, the role's own judgement (asterisk_conf.acl_open_families)."""
    loaded_acl = (target.live_parameters("pjsip show endpoint %s" % name) or {}).get("acl", "")
    sections = [s for s in target.sections("pjsip.conf", "endpoint") if s.name == name]
    if not loaded_acl or not sections:
        return False
    rules = asterisk_conf.acl_rules(target.config("pjsip.conf"), sections[0])
    open_families = asterisk_conf.acl_open_families(rules)
    evidence.add(command="asterisk -rx 'pjsip show endpoint %s'" % name, output="acl: %s" % loaded_acl)
    evidence.add(file=CONF, key="[%s] deny/permit, in Asterisk's order" % name,
                 value=", ".join("%s=%s" % rule for rule in rules) or "(none)")
    return not open_families


@control(id="VOIP-PJSIP-002", severity="medium",
         title="OPTIONS requests are authenticated on every endpoint",
         rationale="allow_unauthenticated_options=yes lets a scanner tell existing extensions from others.",
         impact="Attackers can list your extensions before guessing their passwords.",
         remediation={"role": "asterisk_hardening", "tag": "pjsip", "variable": "asterisk_hardening_pjsip_enabled"},
         references=REFS)
def test_options_are_authenticated(target, evidence):
    offending = []
    live = target.live_endpoints()
    if live is not None:
        for name in sorted(live):
            value = (target.live_parameters("pjsip show endpoint %s" % name) or {}).get(
                "allow_unauthenticated_options", "false")
            evidence.add(command="asterisk -rx 'pjsip show endpoint %s'" % name,
                         output="allow_unauthenticated_options: %s" % value)
            if ast_true(value):
                offending.append(name)
    else:
        for name, opts in sorted(endpoints_or_na(target).items()):
            value = (opts.get("allow_unauthenticated_options") or ["no"])[-1]
            if ast_true(value):
                offending.append(name)
                evidence.add(file=CONF, key="[%s] allow_unauthenticated_options (from the files: "
                             "Asterisk did not answer)" % name, value=value)
    if offending:
        fail("allow_unauthenticated_options=yes on %s" % ", ".join(offending))


@control(id="VOIP-PJSIP-003", severity="medium",
         title="Registrations per account are bounded (max_contacts set, small)",
         rationale="max_contacts defaults to unlimited for an aor that accepts registrations; a stolen "
                   "account can then register many devices unnoticed.",
         impact="A stolen phone account can be used from many places at once without you noticing.",
         remediation={"role": "asterisk_hardening", "tag": "pjsip", "variable": "asterisk_hardening_pjsip_max_contacts"},
         references=REFS)
def test_max_contacts_bounded(target, evidence):
    limit = int(target.vars.get("voipguard_audit_max_contacts", 5))
    live = target.live_aor_limits()
    if live is not None:
        if not live:
            not_applicable("no PJSIP aor loaded")
        offending = []
        for name, value in sorted(live.items()):
            evidence.add(command="asterisk -rx 'pjsip show aors'", output="%s max_contacts %d" % (name, value))
            if value == 0 and (target.live_parameters("pjsip show aor %s" % name) or {}).get("contact"):
                continue  # static contact (a trunk): nothing registers here
            if value == 0 or value > limit:
                offending.append("%s=%s" % (name, value or "unlimited"))
        if offending:
            fail("max_contacts unbounded or above %d: %s" % (limit, ", ".join(offending)))
        return
    aors = target.sections("pjsip.conf", "aor")
    if not aors:
        not_applicable("no PJSIP aor configured")
    offending = []
    for section in aors:
        opts = target.resolve("pjsip.conf", section.name, "aor")
        if opts.get("contact") and not opts.get("max_contacts"):
            continue  # static contact (a trunk): nothing registers here
        value = (opts.get("max_contacts") or ["0"])[-1]
        evidence.add(file=CONF, key="[%s] max_contacts (from the files: Asterisk did not answer)"
                     % section.name, value=value)
        if not value.isdigit() or int(value) == 0 or int(value) > limit:
            offending.append("%s=%s" % (section.name, value if value != "0" else "unlimited"))
    if offending:
        fail("max_contacts unbounded or above %d: %s" % (limit, ", ".join(offending)))


@control(id="VOIP-PJSIP-004", severity="medium",
         title="Unidentified requests are throttled (auth_username in the identifier order)",
         rationale="unidentified_request_count/period only act when auth_username is in "
                   "endpoint_identifier_order; then floods of requests from unknown sources are refused.",
         impact="Password-guessing floods are not slowed down by Asterisk itself.",
         remediation={"role": "asterisk_hardening", "tag": "pjsip", "variable": "asterisk_hardening_pjsip_unidentified_request_count"},
         references=REFS + ["res_pjsip global: unidentified_request_count, endpoint_identifier_order"])
def test_unidentified_requests_throttled(target, evidence):
    endpoints_or_na(target)
    live = target.live_parameters("pjsip show settings")
    if live and "endpoint_identifier_order" in live:
        # The global settings the running res_pjsip applies (defaults included).
        order = live.get("endpoint_identifier_order", "")
        count = live.get("unidentified_request_count", "")
        period = live.get("unidentified_request_period", "")
        evidence.add(command="asterisk -rx 'pjsip show settings'",
                     output="endpoint_identifier_order: %s; unidentified_request_count/period: %s/%s"
                     % (order or "(unset)", count or "(unset)", period or "(unset)"))
    else:
        globals_ = [s for s in target.sections("pjsip.conf", "global")]
        opts = target.resolve("pjsip.conf", globals_[0].name, "global") if globals_ else {}
        order = (opts.get("endpoint_identifier_order") or [""])[-1]
        count = (opts.get("unidentified_request_count") or [""])[-1]
        period = (opts.get("unidentified_request_period") or [""])[-1]
        evidence.add(file=CONF, key="global endpoint_identifier_order (from the files: Asterisk did not answer)",
                     value=order or "(unset)")
        evidence.add(file=CONF, key="global unidentified_request_count/period",
                     value="%s/%s" % (count or "(unset)", period or "(unset)"))
    problems = []
    if "auth_username" not in [part.strip() for part in order.split(",")]:
        problems.append("endpoint_identifier_order does not include auth_username")
    if not count.isdigit() or not period.isdigit():
        problems.append("unidentified_request_count/period not set")
    if problems:
        fail("; ".join(problems))
