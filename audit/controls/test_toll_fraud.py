"""Toll fraud: what stands between an intruder and a bill (150 calls to +263/+252, EUR 1,028)."""
from audit.hostctx import GUARD_PREFIX, POLICY_PATH, prefix_blocked
from audit.plugin import control, fail, not_applicable

try:
    from ansible.module_utils import dialplan_audit  # the same judgement as the module's
    DIALPLAN_AUDIT_ERROR = None
except ImportError as exc:  # pragma: no cover
    dialplan_audit = None
    DIALPLAN_AUDIT_ERROR = exc

REFS = ["Asterisk README-SERIOUSLY.bestpractices.md", "voipguard docs: the incident"]
HIGH_RISK_DEFAULT = ["263", "252"]  # Zimbabwe, Somalia: the incident's destinations


def policy_or_fail(target, evidence):
    try:
        policy = target.policy()
    except ValueError as exc:
        fail("%s is unreadable: %s" % (POLICY_PATH, exc))
    evidence.add(file=POLICY_PATH, key="present", value=policy is not None)
    if policy is None:
        fail("no toll-fraud policy (%s): no budget, no price cap, no country block" % POLICY_PATH)
    return policy


@control(id="VOIP-TF-001", severity="critical",
         title="Every phone's outgoing calls pass the toll-fraud guard",
         rationale="The guard context checks destination, price, budget and concurrency before the "
                   "operator's dialplan; an endpoint dialing straight into its context skips all of it.",
         impact="Calls from a hijacked phone are not checked against any limit.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard", "variable": "toll_fraud_guard_enabled"},
         references=REFS)
def test_phones_pass_the_guard(target, evidence):
    phones = target.phone_endpoints()
    if not phones and not target.endpoints_loaded_elsewhere():
        not_applicable("no phone endpoint")
    policy_or_fail(target, evidence)
    running = target.dialplan_contexts()
    if running is None:
        fail("the Asterisk CLI does not answer: the running dialplan cannot be checked")
    for name, opts in sorted(phones.items()):
        evidence.add(file="/etc/asterisk/pjsip.conf", key="[%s] context" % name,
                     value=(opts.get("context") or ["default"])[-1])
    for name, context in sorted(target.endpoints_loaded_elsewhere().items()):
        evidence.add(command="asterisk -rx 'pjsip show endpoint %s'" % name, key="context (in no pjsip.conf section)",
                     value=context)
    evidence.add(command="asterisk -rx 'dialplan show'", key="guard contexts loaded",
                 value=", ".join(sorted(c for c in running if c.startswith(GUARD_PREFIX))) or "(none)")
    exempt = target.exempt_endpoints()
    if exempt:
        evidence.add(file=POLICY_PATH, key="exempt_endpoints (toll_fraud_guard_exempt_endpoints)",
                     value=", ".join(exempt))
        evidence.add(command="asterisk -rx 'pjsip show endpoint <trunk>'",
                     key="trunk boundary checks the exempted phones' calls to the trunk",
                     value=target.trunk_leg_checked())
    reasons = target.unguarded()
    if reasons:
        fail("; ".join(reasons))


@control(id="VOIP-TF-002", severity="critical",
         title="Calls to high-risk countries (+263 Zimbabwe, +252 Somalia) are blocked",
         rationale="The incident's 150 calls went to Zimbabwe and Somalia, classic international "
                   "revenue share fraud destinations.",
         impact="Intruders can call the expensive destinations fraudsters earn money from.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard",
                      "variable": "toll_fraud_guard_blocked_countries"},
         references=REFS)
def test_high_risk_countries_blocked(target, evidence):
    policy = policy_or_fail(target, evidence)
    codes = [str(c).lstrip("+") for c in target.vars.get("voipguard_audit_high_risk_codes", HIGH_RISK_DEFAULT)]
    evidence.add(file=POLICY_PATH, key="mode", value=policy["mode"])
    evidence.add(file=POLICY_PATH, key="blocked_countries", value=", ".join(policy["blocked_countries"]))
    open_codes = [c for c in codes if not prefix_blocked(policy, c)]
    for code in codes:
        evidence.add(file=POLICY_PATH, key="+%s" % code, value="open" if code in open_codes else "blocked")
    if open_codes:
        fail("calls to %s are not blocked" % ", ".join("+" + c for c in open_codes))


@control(id="VOIP-TF-003", severity="high",
         title="A daily spend cap is configured and bounded",
         rationale="Providers sell per-day spend limits (e.g. GBP 50/day) for this reason; the "
                   "incident's month cost 30 times the usual bill.",
         impact="There is no limit to what a break-in can cost you in a day.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard", "variable": "toll_fraud_guard_budgets"},
         references=REFS)
def test_daily_budget_bounded(target, evidence):
    policy = policy_or_fail(target, evidence)
    ceiling = float(target.vars.get("voipguard_audit_max_daily_budget", 100))
    budgets = policy["budgets"]
    for key, value in sorted(budgets.items()):
        evidence.add(file=POLICY_PATH, key="budgets.%s" % key,
                     value=None if value is None else "%.2f %s" % (value, policy["currency"]))
    day = budgets.get("pbx_day")
    if day is None or day <= 0:
        fail("no PBX daily budget")
    if day > ceiling:
        fail("PBX daily budget %.2f %s is above the audit ceiling %.2f (voipguard_audit_max_daily_budget)"
             % (day, policy["currency"], ceiling))


@control(id="VOIP-TF-004", severity="medium",
         title="Alerts reach a person (at least one alert destination configured)",
         rationale="The victim's complaint: no warning on an abnormal call pattern.",
         impact="Nobody is told when the PBX starts calling abroad at night.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard",
                      "variable": "toll_fraud_guard_alert_urls"},
         references=REFS)
def test_alerts_configured(target, evidence):
    policy = policy_or_fail(target, evidence)
    alerts = policy.get("alerts") or {}
    for key in ("destinations", "webhook", "email", "mail", "budget_percent", "burst_calls", "burst_window"):
        if key in alerts:
            evidence.add(file=POLICY_PATH, key="alerts.%s" % key, value=str(alerts[key]))
    if not any(alerts.get(key) for key in ("destinations", "webhook", "email", "mail")):
        fail("alerts are only logged: no alert destination (toll_fraud_guard_alert_urls, e-mail or webhook)")


def _dialplan_findings(target, evidence):
    if dialplan_audit is None:
        fail("module_utils/dialplan_audit.py cannot be imported: %s" % DIALPLAN_AUDIT_ERROR)
    configs = target.config("extensions.conf")
    if not configs:
        not_applicable("no extensions.conf")
    # The files, and what the running dialplan holds beyond them (extensions.ael's contexts...).
    running = target.running_dialplan()
    if running is None:
        evidence.add(command="asterisk -rx 'dialplan show'", key="running dialplan",
                     value="not read: the Asterisk CLI does not answer; the files alone are judged")
    configs = (running or []) + configs
    endpoints = target.endpoints()
    unauthenticated = sorted(set((opts.get("context") or ["default"])[-1]
                                 for opts in endpoints.values() if not opts.get("auth")))
    findings, _contexts, _reach = dialplan_audit.audit(
        configs, unauthenticated_contexts=unauthenticated, trunk_endpoints=sorted(target.trunk_endpoints()))
    return findings


@control(id="VOIP-TF-005", severity="critical",
         title="No dialplan passes the dialed number unfiltered to Dial() or reaches a trunk unauthenticated",
         rationale="'500&PJSIP/itsp/00263...' adds a second call leg when ${EXTEN} is not filtered; "
                   "a toll route in an unauthenticated context is free calls for everyone, and so may be "
                   "a switch there (Lua/, Realtime/), whose dialplan nobody can read. Read as the running "
                   "Asterisk has it: the files, and what 'dialplan show' adds (extensions.ael...).",
         impact="A caller can smuggle a call to any number through your PBX.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard", "variable": "toll_fraud_guard_enabled"},
         references=REFS + ["module_utils/dialplan_audit.py rules DP001, DP002, DP004, DP005"])
def test_dialplan_filters_dialed_numbers(target, evidence):
    findings = [f for f in _dialplan_findings(target, evidence) if f["rule"] in ("DP001", "DP002", "DP004", "DP005")]
    direct = set((opts.get("context") or ["default"])[-1] for opts in target.endpoints().values())
    guarded = target.policy() is not None
    open_findings = []
    for finding in findings:
        # Behind the guard, the number was already refused unless it is plain digits.
        mitigated = (finding["rule"] == "DP001" and guarded and finding["context"] not in direct
                     and GUARD_PREFIX + finding["context"] in (target.dialplan_contexts() or set()))
        evidence.add(file=finding["file"], key="line %s [%s] %s" % (finding["line"], finding["context"],
                                                                   finding["rule"]),
                     value=("mitigated by the guard: " if mitigated else "") + finding["text"])
        if not mitigated:
            open_findings.append("%s [%s] line %s" % (finding["rule"], finding["context"], finding["line"]))
    if open_findings:
        fail("dangerous dialplan lines: %s" % "; ".join(open_findings))


@control(id="VOIP-TF-006", severity="low",
         title="The [demo] context is removed",
         rationale="Forgotten demo and test extensions are a classic way in.",
         impact="Leftover demo features remain callable.",
         # Reported, not removed: voipguard keeps the operator's dialplan as it is.
         remediation={"manual": "delete the [demo] context (and any include of it) from the dialplan, "
                                "then 'dialplan reload'; no role of voipguard removes it"},
         references=REFS)
def test_no_demo_context(target, evidence):
    findings = [f for f in _dialplan_findings(target, evidence) if f["rule"] == "DP003"]
    for finding in findings:
        evidence.add(file=finding["file"], key="line %s" % finding["line"], value=finding["text"])
    if findings:
        fail("the [demo] context is present")


@control(id="VOIP-TF-007", severity="medium",
         title="Behind the trunk boundary, each trunk's copy says what the trunk says",
         rationale="The looped INVITE is sent to the carrier by the trunk's copy voipguard-trunk-<name>, "
                   "or with the trunk boundary instance by the instance's copy of the trunk; a trunk "
                   "changed afterwards (by hand, or by a GUI's Apply Config) leaves the copy with the "
                   "old options until the role runs again. And the looped INVITE must reach the guard: "
                   "the running Asterisk must identify it as the egress by its address (with "
                   "res_pjsip_endpoint_identifier_ip.so), and an identify of the operator's that "
                   "matches the address it comes from takes some.",
         impact="Calls to the carrier go out with the trunk's old options (codecs, caller ID, "
                "from user), or fail when the copy is gone, or loop until the PBX runs out of resources.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_guard",
                      "variable": "toll_fraud_guard_trunk_boundary_enabled"},
         references=REFS + ["module_utils/trunk_boundary.py"])
def test_trunk_copies_are_current(target, evidence):
    if not target.trunk_endpoints():
        not_applicable("no trunk in voipguard_trunks")
    drift = target.trunk_copy_drift()
    for endpoint in sorted(target.trunk_endpoints()):
        evidence.add(file="/etc/asterisk/pjsip_voipguard.conf", key="trunk %s" % endpoint,
                     value=drift.get(endpoint, "copy current, or no loop"))
    if drift:
        fail("; ".join("trunk %s %s: run the toll_fraud_guard role again" % item for item in sorted(drift.items())))


@control(id="VOIP-TF-008", severity="high",
         title="A call addressed to a carrier past the trunk leg's loop is judged or dropped",
         rationale="Whoever may originate arbitrary channels (AMI originate, ARI, the CLI, call files) "
                   "can dial the trunk's copy by name, or give any endpoint a request URI at the "
                   "carrier's address; the loop does not see either. So can a phone, with its "
                   "credentials alone: Asterisk forwards a call the phone answers with a SIP redirect "
                   "to the user part of its Contact, and Dial creates the channel a \"/\" there names. "
                   "The trunk boundary instance (a second Asterisk that alone dials the carriers, the "
                   "firewall dropping the main Asterisk's INVITEs to them) judges or drops them all.",
         impact="A carrier that trusts the PBX by its address takes such a call to any destination.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_boundary_instance",
                      "variable": "voipguard_trunk_boundary_instance"},
         references=REFS + ["module_utils/trunk_boundary.py"])
def test_calls_past_the_loop_are_gated(target, evidence):
    if not target.trunk_endpoints():
        not_applicable("no trunk in voipguard_trunks")
    reasons, seen = target.past_the_loop()
    for key, value in sorted(seen.items()):
        evidence.add(command="live PBX", key=key, value=value if value is not None else "(no answer)")
    if reasons:
        fail("; ".join(reasons))


@control(id="VOIP-TF-009", severity="medium",
         title="With the trunk boundary instance, a carrier's inbound calls get no INVITE from the main Asterisk",
         rationale="The firewall drops every INVITE the main Asterisk sends to a carrier, in-dialog ones "
                   "too. Direct media, hold passed through, connected-line updates and T.38 on a trunk "
                   "each make the main Asterisk re-INVITE the carrier in its inbound calls.",
         impact="What the re-INVITE asks for fails: a caller put on hold hears silence, an inbound "
                "T.38 fax fails.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_endpoints",
                      "variable": "voipguard_trunk_boundary_instance"},
         references=REFS + ["module_utils/trunk_boundary.py"])
def test_inbound_calls_get_no_dropped_invite(target, evidence):
    if not target.trunk_endpoints():
        not_applicable("no trunk in voipguard_trunks")
    found = target.trunk_in_dialog_invites()
    if found is None:
        not_applicable("the firewall drops no INVITE of the main Asterisk (no boundary instance)")
    for endpoint, reasons in sorted(found.items()):
        evidence.add(command="pjsip show endpoint %s" % endpoint, key="trunk %s" % endpoint,
                     value="; ".join(reasons) or "sends the carrier no in-dialog INVITE")
    failing = ["trunk %s: %s" % (endpoint, ", ".join(reasons)) for endpoint, reasons in sorted(found.items()) if reasons]
    if failing:
        fail("; ".join(failing))


@control(id="VOIP-TF-010", severity="high",
         title="No channel driver places calls to other hosts past the trunk boundary",
         rationale="The trunk boundary loops PJSIP trunks only. IAX2, DAHDI, OOH323, MGCP and Motif "
                   "reach other hosts by themselves: Dial(IAX2/<host>/<number>), a provider's IAX2 "
                   "peer or a DAHDI line, or an AMI Originate of any of them, pass no check, limit or "
                   "alert. Debian's Asterisk loads chan_iax2 and chan_motif whether used or not.",
         impact="A call through such a driver costs whatever the far end charges, unchecked.",
         remediation={"role": "toll_fraud_guard", "tag": "toll_fraud_drivers",
                      "variable": "toll_fraud_guard_channel_drivers_kept"},
         references=REFS + ["module_utils/channel_drivers.py"])
def test_no_driver_calls_past_the_boundary(target, evidence):
    drivers = target.channel_drivers()
    if drivers is None:
        not_applicable("the running Asterisk does not answer")
    evidence.add(command="core show channeltypes", key="loaded past the trunk boundary",
                 value=", ".join(drivers["loaded"]) or "none")
    for driver, reasons in sorted(drivers["in_use"].items()):
        evidence.add(command="live PBX", key=driver, value="; ".join(reasons) or "loaded, used by nothing")
    for module, lines in sorted(drivers["dialed"].items()):
        evidence.add(command="dialplan show", key="dials %s" % module, value="; ".join(lines))
    problems = sorted(drivers["refused"].values()) + ["%s is loaded and used by nothing: switch it off (noload)" % module
                                     for module in drivers["switch_off"]]
    problems += ["%s is kept loaded (toll_fraud_guard_channel_drivers_kept)" % module for module in drivers["kept"]]
    if problems:
        fail("; ".join(problems))
