#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate and compile the toll-fraud policy on the controller."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: toll_fraud_policy
short_description: Validate a toll-fraud policy and compile it for the Asterisk dialplan
description:
  - "Runs on the controller (C(delegate_to: localhost)); needs the C(phonenumbers) package there."
  - Turns ISO country codes into E.164 prefixes with libphonenumber metadata (shared codes such
    as +1 NANP and +7 RU/KZ resolve to area codes), builds the dialing forms of the site
    country, finds its emergency numbers, prices every destination and flags blocked ones.
  - Reads the text of C(pjsip.conf) and plans which endpoints get a guard context in front of
    their dialplan context (trunks and exempt endpoints are left alone).
  - Changes nothing; fails with a clear message on an invalid policy (unknown ISO code,
    negative budget, malformed rate table, ...).
version_added: "0.1.0"
author: voipguard contributors
options:
  policy_only:
    version_added: "0.3.0"
    description:
      - Compile and check the policy settings only, and return I(policy) alone - no endpoints,
        routes or trunk boundary, which need the PBX's files. The role runs it before the first
        change of a run, so that a wrong setting stops the run before the host changes.
    type: bool
    default: false
  site_country:
    description: ISO code of the site; decides dialing forms and emergency numbers.
    type: str
    required: true
  outside_line:
    description:
      - Digit(s) dialed for an outside line, e.g. C(9) or C(0); empty for none. A number that starts
        with it is read without it (the digits the routes send to the trunk), so 0 0531... at a
        German office is a national call, not one to +53.
    type: str
    required: true
  outside_line_routes:
    version_added: "0.3.0"
    description:
      - The phones' routes to the trunks the outside line was read from (asterisk_dialplan_audit's
        I(outside_line.routes)); empty when the operator set the digit. Without I(trunk_boundary),
        routes that strip the outside line beside routes that dial numbers as dialed make the
        check read a number that starts with it both ways, the worse reading counting - which
        route a number takes, and so which digits reach the trunk, is Asterisk's choice.
    type: list
    elements: dict
    default: []
  local_area_code:
    version_added: "0.3.0"
    description:
      - The PBX's area code without the national prefix (C(531) for 0531), where phones dial
        local numbers without it and the carrier reads them so. Local numbers of the lengths
        libphonenumber knows for fixed lines there are then national calls; one whose digits a
        carrier could read as an international number is judged as that number. Empty for none.
      - C(auto) reads it from I(phone_routes) - a route that dials 0531${EXTEN} puts Braunschweig's
        area code before local numbers. No such route, or routes with different area codes (a
        warning then), mean none.
    type: str
    required: true
  phone_routes:
    version_added: "0.3.0"
    description:
      - The phones' routes to the trunks (asterisk_dialplan_audit's I(outside_line.routes), with
        each route's C(prepend)), read for I(local_area_code=auto).
    type: list
    elements: dict
    default: []
  international_prefixes:
    description: Override of the site's international call prefixes (default from metadata).
    type: list
    elements: str
    required: true
  blocked_countries:
    description:
      - ISO codes whose destinations are refused. The role's default (its argument_specs) is the
        high-risk list. Mutually exclusive with a non-empty I(allowed_countries).
    type: list
    elements: str
  allowed_countries:
    description: Allow-list mode; only these countries (plus the site country) may be called.
    type: list
    elements: str
    required: true
  blocked_prefixes:
    description: E.164 prefixes refused outright (the role's default - its argument_specs - is every non-geographic calling code but international freephone and shared cost).
    type: list
    elements: str
  block_premium_rate:
    description: Refuse the site country's premium-rate ranges (from libphonenumber).
    type: bool
    required: true
  rates:
    description: Rate table, a list of dicts C(prefix) (E.164 digits) and C(price_per_minute) (EUR).
    type: list
    elements: raw
    required: true
  default_price_per_minute:
    description:
      - EUR per minute for national destinations not in I(rates); foreign ones not in I(rates)
        count at I(max_price_per_minute).
    type: raw
    required: true
  max_price_per_minute:
    description: Destinations priced above this (EUR per minute) are refused.
    type: raw
    required: true
  budgets:
    description: EUR budgets, keys C(pbx_day), C(pbx_month), C(endpoint_day), C(endpoint_month).
    type: dict
    required: true
  max_call_seconds:
    description: Longest external call; also bounds one call's budget reservation.
    type: int
    required: true
  min_call_seconds:
    description: A call that the remaining budget allows for less than this is refused.
    type: int
    required: true
  budget_national:
    description:
      - Refuse calls within the site country for budget too. When false (default), national
        calls are never refused for budget; their real cost is still added to the spend.
    type: bool
    required: true
  max_concurrent_calls:
    description: Concurrent external calls of the whole PBX.
    type: int
    required: true
  endpoint_max_concurrent_calls:
    description: Concurrent external calls per endpoint.
    type: int
    required: true
  trunks:
    description: Names of the trunks (C(voipguard_trunks[].name)).
    type: list
    elements: str
    required: true
  trunk_max_concurrent_calls:
    description:
      - Concurrent calls per trunk, counted with C(GROUP(voipguard-trunk)) set on the trunk
        endpoint's channels. One integer for every trunk in I(trunks), or a dict of
        trunk name to integer; 0 or an empty dict means no cap.
    type: raw
    required: true
  calls_per_minute:
    description: External call attempts per minute, whole PBX.
    type: int
    required: true
  endpoint_calls_per_minute:
    description: External call attempts per minute per endpoint.
    type: int
    required: true
  burst_calls:
    description: International calls within I(burst_window) seconds that raise an alert.
    type: int
    required: true
  burst_window:
    description: Window for I(burst_calls), in seconds.
    type: int
    required: true
  business_hours:
    description: 'C({time: "08:00-18:00", days: "mon-fri"}); international calls outside these hours alert.'
    type: dict
  block_on_alert:
    description: Refuse the call that raises a burst or off-hours alert instead of only alerting.
    type: bool
    required: true
  alert_destinations:
    description:
      - How many places the alerts are sent to (the role's Apprise URLs). Recorded in the policy
        as C(alerts.destinations), so the audit can tell whether anybody hears them.
    type: int
    required: true
    version_added: "0.2.0"
  alert_webhook_url:
    description: http(s) URL that receives alerts (as a JSON POST, through the role's notifier; may carry a token).
    type: str
    required: true
  emergency_numbers:
    description: Extra emergency numbers, on top of those libphonenumber knows for the site.
    type: list
    elements: str
    required: true
  internal_patterns:
    description: Fixed-length Asterisk patterns of internal extensions (no price, no limits).
    type: list
    elements: str
    required: true
  endpoint_contexts:
    description:
      - "{endpoint: context} of every concrete PJSIP endpoint, read through every C(#include)
        with templates resolved. When given, I(pjsip_conf) is not read; without it the contexts
        come from I(pjsip_sections) and I(pjsip_wizard) (what the role passes), and only without
        those from I(pjsip_conf)."
    type: dict
    version_added: "0.2.0"
  pjsip_conf:
    description: Text of pjsip.conf (e.g. from slurp); endpoints and their contexts are read from it.
    type: str
    default: ""
  trunk_endpoints:
    description: Endpoints of trunks; never guarded (their calls come from the carrier).
    type: list
    elements: str
    default: []
  exempt_endpoints:
    description: Endpoints deliberately left unguarded.
    type: list
    elements: str
    required: true
  trunk_boundary:
    version_added: "0.3.0"
    description:
      - Plan the loop that sends every trunk's INVITEs back through the guard (context
        voipguard-egress) before they reach the carrier; see RETURN I(trunk_boundary).
    type: bool
    required: true
  trunk_boundary_instance_port:
    version_added: "0.3.0"
    description:
      - With I(trunk_boundary), the UDP port of the boundary instance - a second Asterisk on the
        PBX that alone dials the carriers - or 0 without it. The plan then carries the instance's
        copy of each trunk (RETURN I(trunk_boundary.instance)), and the main Asterisk's copy
        forwards to it.
    type: int
    default: 0
  trunk_boundary_instance_sections:
    version_added: "0.3.0"
    description:
      - The C(sections) of asterisk_config_info on the boundary instance's pjsip.conf as an earlier
        run wrote it (without its includes), or [] when there is none. While the main Asterisk's
        copy of a trunk forwards to the instance, the trunk's own C(outbound_proxy) (an SBC, say)
        is kept there, and read back from there on the next run.
    type: list
    elements: dict
    default: []
  running_identifies:
    version_added: "0.3.0"
    description:
      - What the running Asterisk says to C(pjsip show identifies), or nothing when not read. With
        I(trunk_boundary), an identify there that matches the address the looped INVITEs come
        from is refused like one in the files - realtime's identifies, and host names as the PBX
        resolved them, are seen only there. So is an answer that is no such listing (no
        res_pjsip_endpoint_identifier_ip.so loaded, so no looped INVITE would reach the guard, or
        an answer this module cannot read).
    type: str
  pjsip_sections:
    version_added: "0.3.0"
    description:
      - The C(sections) of asterisk_config_info on pjsip.conf - the endpoints and their contexts
        (unless I(endpoint_contexts) is given), I(trunk_boundary), and where each endpoint of
        RETURN I(endpoint_changes) and I(trunk_changes) is defined.
    type: list
    elements: dict
    default: []
  pjsip_wizard:
    version_added: "0.3.0"
    description:
      - What asterisk_config_info returns for pjsip_wizard.conf (C(files), C(sections)), or
        nothing when the host has none. res_pjsip_config_wizard makes an endpoint of every
        C(type = wizard) section; those phones are guarded in their wizard section, and a trunk
        made there is looped and capped there (C(endpoint/outbound_proxy), C(endpoint/set_var)).
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Runs on the controller and changes nothing anywhere.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Compile the toll-fraud policy
  toll_fraud_policy:
    site_country: DE
    outside_line: "0"
    local_area_code: "531"
    blocked_countries: [SO, ZW, CU, LV, LT]
    rates:
      - {prefix: "49", price_per_minute: 0.02}
      - {prefix: "4915", price_per_minute: 0.10}
    default_price_per_minute: 0.50
    max_price_per_minute: 1.00
    budgets: {pbx_day: 20, pbx_month: 200, endpoint_day: 5, endpoint_month: 50}
    endpoint_contexts: {"1001": from-internal, "1002": from-internal, carrier: from-carrier}
    trunk_endpoints: [carrier]
  delegate_to: localhost
  register: toll_fraud
"""

RETURN = r"""
policy:
  description: Compiled policy (money in millicents, 1 EUR = 100000); also the JSON written for the audit.
  returned: success
  type: dict
endpoint_plan:
  description: Endpoints to guard and their original (operator) context.
  returned: success, unless I(policy_only)
  type: dict
  sample: {"1001": "from-internal"}
guard_contexts:
  description: Guard context per original context.
  returned: success, unless I(policy_only)
  type: dict
  sample: {"from-internal": "voipguard-guard-from-internal"}
endpoint_changes:
  description:
    - The M(asterisk_config) changes that put each endpoint of I(endpoint_plan) behind its guard,
      in the section that defines it - C(context) of a pjsip.conf endpoint, C(endpoint/context)
      of a pjsip_wizard.conf wizard (with C(hint_context) kept at the operator's context when
      the wizard makes hints and names no hint context, or its hints would move with it).
    - An endpoint an earlier run guarded that is now a trunk or exempt gets its own context back.
    - Only endpoints found in I(pjsip_sections) or I(pjsip_wizard).
  returned: success, unless I(policy_only)
  type: list
  elements: dict
  sample: [{path: /etc/asterisk/pjsip.conf, section: "1001", section_type: endpoint, option: context,
            value: voipguard-guard-from-internal, create_section: false}]
trunk_changes:
  description:
    - The M(asterisk_config) changes of the trunk endpoints, in the file that defines each - the
      C(set_var) C(GROUP(voipguard-trunk)=<trunk>) that counts a capped trunk's channels
      (appended; only when I(pjsip_sections) is given; taken out where no cap asks for it any
      more), and C(outbound_proxy) - the loop of I(trunk_boundary), or where this run does not
      loop an endpoint an earlier run looped, the operator's own proxy back (absent when there
      was none).
    - The loop's own lines, appended after the operator's (C(values_mode=append)), which stay, and
      taken out again where the loop goes - C(aors) naming the loop's aor
      (C(voipguard-loop-<endpoint>), not for a wizard's trunk), so that the operator's aor is
      qualified by the copy; for a trunk on a TCP or TLS transport, an empty C(transport).
  returned: success, unless I(policy_only)
  type: list
  elements: dict
  version_added: "0.3.0"
  sample: [{path: /etc/asterisk/pjsip.conf, section: carrier, section_type: endpoint, option: outbound_proxy,
            value: "sip:carrier@127.0.0.1:5060;lr", create_section: false, gui_read_first: true}]
unguarded_endpoints:
  description:
    - Endpoints left alone (trunks, exempt). voipguard's own are not listed, nor those set to no
      context (C(context =)), which dial nothing.
  returned: success, unless I(policy_only)
  type: list
trunk_boundary:
  description:
    - The loop that makes every trunk leg pass the guard (module_utils/trunk_boundary.py), or null
      when I(trunk_boundary) is off or there are no trunks.
  returned: success, unless I(policy_only)
  type: dict
  sample: {egress: {endpoint: voipguard-egress, context: voipguard-egress, matches: ["127.0.0.1:5060"]},
           trunks: [{name: carrier, endpoint: carrier, proxy: "sip:carrier@127.0.0.1:5060;lr",
                     copy_endpoint: voipguard-trunk-carrier, copy_options: [[type, endpoint]]}],
           instance: null}
trunk_boundary_undo:
  description:
    - The endpoints a previous run looped that this run does not loop (every one with
      I(trunk_boundary) off; with it on, an endpoint no longer in I(trunk_endpoints)), each with
      the operator's own outbound_proxy to put back ("" for none) and the loop's own lines to take
      out (C(loop_lines)).
  returned: success, unless I(policy_only)
  type: list
  sample: [{name: carrier, endpoint: carrier, file: /etc/asterisk/pjsip.conf, proxy: "",
            loop_lines: [[aors, absent, [voipguard-loop-carrier]]]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible.module_utils.dial_policy import (
    GUARD_CONTEXT_PREFIX, POLICY_KEYS, PolicyError, compile_policy, guard_context,
    local_area_code_from_routes, original_context, plan_endpoints)
from ansible.module_utils.dialplan_audit import local_area_code_prefixes, outside_line_read_as_dialed_too
from ansible.module_utils.pjsip_sections import (
    OWN_ENDPOINT_PREFIX, duplicate_objects, endpoint_contexts as endpoint_contexts_of, endpoint_definitions,
    lines_to_take_out, trunk_definitions)
from ansible.module_utils.trunk_boundary import (
    BoundaryError, is_trunk_group_set_var, loops_to_undo, plan as plan_trunk_boundary,
    proxy_written_back, trunk_group_set_var)

try:
    from ansible.module_utils.asterisk_conf import AsteriskConfigError, iter_sections, parse, resolve
    HAS_ASTERISK_CONF = True
except ImportError:  # pragma: no cover
    HAS_ASTERISK_CONF = False

def endpoint_contexts(pjsip_text):
    """{endpoint: effective context} of every concrete endpoint in pjsip.conf text."""
    if not pjsip_text:
        return {}, []
    config = parse(pjsip_text, "pjsip.conf")
    configs = [config]
    contexts = {}
    for section in iter_sections(configs, type="endpoint"):
        values = resolve(configs, section.name, "endpoint").get("context") or ["default"]
        contexts[section.name] = values[-1]
    includes = [pattern for _directive, pattern, _lineno in config.includes]
    return contexts, includes


def guard_changes(plan, pjsip_sections, pjsip_wizard=None, released=None):
    """The asterisk_config changes that point each endpoint of ``plan`` ({endpoint: operator
    context}) at its guard, where the endpoint is defined: its own context= line in pjsip.conf
    or an included file (it overrides a template's), or endpoint/context= of its wizard.
    ``released`` ({endpoint: operator context}): endpoints an earlier run guarded that are now
    trunks or exempt, given their own context back."""
    defined = endpoint_definitions(pjsip_sections, pjsip_wizard)
    changes = []
    wanted = dict((name, guard_context(context)) for name, context in plan.items())
    wanted.update(released or {})
    for endpoint, value in sorted(wanted.items()):
        section = defined.get(endpoint)
        if section is None:
            continue
        change = _endpoint_change(section, endpoint, "context")
        if endpoint not in plan:
            changes.append(_released_context_change(change, section, value))
            continue
        changes.append(dict(change, value=value))
        context = plan[endpoint]
        effective = section.get("effective") or {}
        if section["section_type"] == "wizard" and effective.get("hint_exten") and not effective.get("hint_context"):
            # res_pjsip_config_wizard puts a wizard's hints in its endpoint's context unless
            # hint_context names one: the phones' BLF hints stay where the operator had them.
            changes.append(dict(change, option="hint_context", value=context))
    return changes


def _released_context_change(change, section, context):
    """The change that gives a released endpoint its own context back: the guard's line goes
    where the operator's other lines (a template's, say) already give that context, else the
    context is written back in place of the guard's (pjsip_sections.lines_to_take_out)."""
    guards = lines_to_take_out((section.get("effective") or {}).get(change["option"]) or [],
                               lambda value: value.startswith(GUARD_CONTEXT_PREFIX), context)
    if guards:
        return dict(change, values=guards, state="absent", values_mode="append")
    return dict(change, value=context)


def trunk_changes(trunks, capped, definitions, boundary, undo):
    """The asterisk_config changes of the trunk endpoints: the set_var that counts a capped
    trunk's channels (GROUP(voipguard-trunk), appended beside the operator's own set_var lines:
    res_pjsip applies it to every channel of the endpoint, both directions; taken out where no
    cap of voipguard_trunks asks for it any more), and the loop of
    every trunk's INVITEs through the guard (outbound_proxy), or, with the boundary switched off,
    the operator's own outbound_proxy back. ``definitions``: trunk_definitions, or None when
    the module was given no sections (no file is known then: no set_var change). Each change is
    written where the trunk is defined: its pjsip.conf section, or its wizard in pjsip_wizard.conf.
    Raises PolicyError for a capped trunk neither file defines."""
    changes = []
    counted = {}
    for trunk in trunks:
        if trunk["name"] not in capped or definitions is None:
            continue
        section = definitions.get(trunk["endpoint"])
        if section is None:
            raise PolicyError("toll_fraud_guard_trunk_max_concurrent_calls: trunk %s caps endpoint %s, which "
                              "neither pjsip.conf nor pjsip_wizard.conf defines" % (trunk["name"], trunk["endpoint"]))
        counted[trunk["endpoint"]] = trunk_group_set_var(trunk["name"])
        changes.append(dict(_endpoint_change(section, trunk["endpoint"], "set_var"),
                            values=[counted[trunk["endpoint"]]], values_mode="append"))
    # A cap dropped since, or a trunk renamed or no longer a trunk: its count line goes.
    for endpoint, section in sorted((definitions or {}).items()):
        stale = [value for value in section["endpoint_options"].get("set_var") or ()
                 if is_trunk_group_set_var(value) and value != counted.get(endpoint)]
        if stale:
            changes.append(dict(_endpoint_change(section, endpoint, "set_var"), values=stale, state="absent",
                                values_mode="append"))
    for trunk in (boundary or {}).get("trunks") or ():
        changes.append(dict(_endpoint_change(trunk, trunk["endpoint"], "outbound_proxy"),
                            value=trunk["proxy"]))
        changes.extend(_loop_line_changes(trunk))
    for trunk in undo or ():
        if proxy_written_back(trunk):
            changes.append(dict(_endpoint_change(trunk, trunk["endpoint"], "outbound_proxy"),
                                value=trunk["proxy"] or None, state="present" if trunk["proxy"] else "absent"))
        changes.extend(_loop_line_changes(trunk))
    # On a GUI's files, a trunk's addition file is read before the phones': phones deleted in the
    # GUI can then never hide the trunk's loop (asterisk_config's gui_read_first).
    return [dict(change, gui_read_first=True) for change in changes]


def _loop_line_changes(trunk):
    """The loop's own lines of a trunk (its aor, a TCP or TLS trunk's empty transport), appended
    after the operator's lines, which stay; or taken out (trunk_boundary.loop_line_changes)."""
    return [dict(_endpoint_change(trunk, trunk["endpoint"], option), values=list(values), state=state,
                 values_mode="append")
            for option, state, values in trunk.get("loop_lines") or ()]


def _endpoint_change(where, endpoint, option):
    """An asterisk_config change of one option of an endpoint where it is defined (an
    endpoint_definitions or trunk_definitions entry, or a trunk of the boundary's plan): its
    pjsip.conf section, or its wizard in pjsip_wizard.conf (endpoint/<option>, read through the
    wizard's include root: its template may sit in another file of that include set)."""
    change = dict(path=where["file"], section=endpoint, section_type=where["section_type"],
                  option=where["option_prefix"] + option, create_section=False)
    if where.get("include_root"):
        change["include_root"] = where["include_root"]
    return change


def released_endpoints(contexts, plan):
    """{endpoint: operator context} of the endpoints still pointed at a guard that the plan no
    longer guards: a trunk declared after a run that took it for a phone (its inbound calls would
    pass the guard), or an endpoint exempted since."""
    return dict((name, original_context(context)) for name, context in contexts.items()
                if name not in plan and context.startswith(GUARD_CONTEXT_PREFIX))


def check_routes(option, routes):
    """A route as asterisk_dialplan_audit reads it (outside_line.routes): a hand-made one without
    its context or pattern is refused naming the option, not met later as a KeyError."""
    for number, route in enumerate(routes or (), 1):
        missing = [key for key in ("context", "pattern") if not route.get(key)]
        if missing or not isinstance(route.get("strip"), (int, type(None))):
            raise PolicyError("%s: route %d needs a context, a pattern and strip as a number or null "
                              "(asterisk_dialplan_audit's outside_line.routes)" % (option, number))


def build(params):
    """Everything the module returns, from its parameters; raises PolicyError."""
    check_routes("outside_line_routes", params.get("outside_line_routes"))
    check_routes("phone_routes", params.get("phone_routes"))
    policy_params = dict((key, params.get(key)) for key in POLICY_KEYS)
    policy_params["outside_line_as_dialed_too"] = outside_line_read_as_dialed_too(
        params.get("outside_line_routes"), params.get("trunk_boundary"))
    warnings = []
    if policy_params["local_area_code"] == "auto":
        # Before the PBX is read (policy_only) no route is known: no local numbers yet.
        area, why = local_area_code_from_routes(
            local_area_code_prefixes(params.get("phone_routes")), policy_params["site_country"])
        policy_params["local_area_code"] = area
        if why:
            warnings.append(why)
    policy = compile_policy(policy_params)
    if params.get("policy_only"):
        # The run's check before its first change: the settings alone, the PBX not read yet.
        return {"policy": policy, "warnings": warnings}
    includes = []
    if params.get("endpoint_contexts") is not None:
        contexts = dict((str(k), "default" if v is None else str(v)) for k, v in params["endpoint_contexts"].items())
    elif params.get("pjsip_sections") or params.get("pjsip_wizard"):
        duplicates = duplicate_objects(params.get("pjsip_sections"), params.get("pjsip_wizard"))
        if duplicates:
            raise PolicyError("the PJSIP files define an object twice, so they do not say what Asterisk runs "
                              "(it refuses every object of that type in pjsip.conf, and makes a wizard's of "
                              "the last one read); keep one of each: %s" % "; ".join(duplicates))
        # Read on the host through every #include (asterisk_config_info), templates resolved.
        contexts = endpoint_contexts_of(params.get("pjsip_sections"), params.get("pjsip_wizard"))
    else:
        try:
            contexts, includes = endpoint_contexts(params.get("pjsip_conf") or "")
        except AsteriskConfigError as exc:
            raise PolicyError("pjsip.conf: %s" % exc)
    # The trunk boundary's own endpoints (voipguard-egress, voipguard-trunk-*) are not phones.
    contexts = dict((name, context) for name, context in contexts.items()
                    if not name.startswith(OWN_ENDPOINT_PREFIX))
    plan = plan_endpoints(contexts, params.get("trunk_endpoints"), params.get("exempt_endpoints"))
    # The operator's word, for the audit (VOIP-TF-001): exempted, not forgotten.
    policy["exempt_endpoints"] = sorted(set(params.get("exempt_endpoints") or ()))
    result = {
        "policy": policy,
        "endpoint_plan": plan,
        "endpoint_changes": guard_changes(plan, params.get("pjsip_sections"), params.get("pjsip_wizard"),
                                          released_endpoints(contexts, plan)),
        "guard_contexts": dict((ctx, guard_context(ctx)) for ctx in sorted(set(plan.values()))),
        # One set to no context ("context =") dials nothing: nothing to stand in front of.
        "unguarded_endpoints": sorted(name for name, context in contexts.items() if context and name not in plan),
        "trunk_boundary": None,
        "warnings": warnings,
    }
    trunks = [{"name": name, "endpoint": endpoint} for name, endpoint
              in zip(params.get("trunks") or [], params.get("trunk_endpoints") or [])]
    definitions = (trunk_definitions(params.get("pjsip_sections"), params.get("pjsip_wizard"))
                   if params.get("pjsip_sections") else None)
    # A loop this run does not keep (the boundary switched off, or the endpoint no longer a trunk)
    # goes, and the endpoint gets the operator's own outbound_proxy back.
    result["trunk_boundary_undo"] = loops_to_undo(
        params.get("pjsip_sections") or [], trunks,
        [trunk["endpoint"] for trunk in trunks] if params.get("trunk_boundary") else (),
        params.get("trunk_boundary_instance_sections"), definitions)
    if params.get("trunk_boundary") and trunks:
        try:
            result["trunk_boundary"] = plan_trunk_boundary(
                params.get("pjsip_sections") or [], trunks, params.get("trunk_boundary_instance_port") or None,
                params.get("trunk_boundary_instance_sections"), definitions, params.get("running_identifies"))
        except BoundaryError as exc:
            raise PolicyError("toll_fraud_guard_trunk_boundary_enabled: %s" % exc)
    result["trunk_changes"] = trunk_changes(
        trunks, (policy.get("concurrency") or {}).get("trunks") or {}, definitions,
        result["trunk_boundary"], result["trunk_boundary_undo"])
    if includes:
        result["warnings"].append(
            "pjsip.conf includes %s; endpoints defined there are not guarded"
            % ", ".join(includes))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy_only=dict(type="bool", default=False),
            site_country=dict(type="str", required=True),
            outside_line=dict(type="str", required=True),
            outside_line_routes=dict(type="list", elements="dict", default=[]),
            local_area_code=dict(type="str", required=True),
            phone_routes=dict(type="list", elements="dict", default=[]),
            international_prefixes=dict(type="list", elements="str", required=True),
            blocked_countries=dict(type="list", elements="str", required=True),
            allowed_countries=dict(type="list", elements="str", required=True),
            blocked_prefixes=dict(type="list", elements="str", required=True),
            block_premium_rate=dict(type="bool", required=True),
            rates=dict(type="list", elements="raw", required=True),
            default_price_per_minute=dict(type="raw", required=True),
            max_price_per_minute=dict(type="raw", required=True),
            budgets=dict(type="dict", required=True),
            max_call_seconds=dict(type="int", required=True),
            min_call_seconds=dict(type="int", required=True),
            max_concurrent_calls=dict(type="int", required=True),
            endpoint_max_concurrent_calls=dict(type="int", required=True),
            budget_national=dict(type="bool", required=True),
            trunks=dict(type="list", elements="str", required=True),
            trunk_max_concurrent_calls=dict(type="raw", required=True),
            calls_per_minute=dict(type="int", required=True),
            endpoint_calls_per_minute=dict(type="int", required=True),
            burst_calls=dict(type="int", required=True),
            burst_window=dict(type="int", required=True),
            business_hours=dict(type="dict"),
            block_on_alert=dict(type="bool", required=True),
            alert_webhook_url=dict(type="str", required=True, no_log=True),
            alert_destinations=dict(type="int", required=True),
            emergency_numbers=dict(type="list", elements="str", required=True),
            internal_patterns=dict(type="list", elements="str", required=True),
            pjsip_conf=dict(type="str", default=""),
            endpoint_contexts=dict(type="dict"),
            trunk_endpoints=dict(type="list", elements="str", default=[]),
            exempt_endpoints=dict(type="list", elements="str", required=True),
            trunk_boundary=dict(type="bool", required=True),
            trunk_boundary_instance_port=dict(type="int", default=0),
            trunk_boundary_instance_sections=dict(type="list", elements="dict", default=[]),
            pjsip_sections=dict(type="list", elements="dict", default=[]),
            pjsip_wizard=dict(type="dict"),
            running_identifies=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_ASTERISK_CONF:
        module.fail_json(msg="module_utils/asterisk_conf.py is missing from this checkout")
    try:
        result = build(module.params)
    except PolicyError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
