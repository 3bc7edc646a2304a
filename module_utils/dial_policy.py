# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Toll-fraud dial policy: which destinations a PBX may call, at what price, how often.

Pure Python on the controller. The facts about numbers (calling codes, territories' ranges,
dialing forms, emergency numbers) come from module_utils/numbering.py; this file holds only the
operator's policy about them. It has no defaults of its own: every setting arrives from the
role, whose meta/argument_specs.yml is the one place defaults are written.

Money is kept as integers in millicents (1 EUR = 100 cents = 100000 millicents) because the
Asterisk dialplan and AstDB only do integer arithmetic reliably.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation, ROUND_CEILING

from ansible.module_utils.numbering import (
    HAS_PHONENUMBERS, PHONENUMBERS_IMPORT_ERROR, NumberingError, after_outside_line,
    all_country_prefixes, area_code_in_prefix, calling_code, dialing_rules, emergency_numbers,
    local_number_rules, longest_prefix, normalise, pattern_matches, premium_rate_prefixes,
    region_code_for_calling_code)

MILLICENTS_PER_EUR = 100000
GUARD_CONTEXT_PREFIX = "voipguard-guard-"

# A dialed string with at least this many digits that no dialing rule reads is not understood,
# so it is refused (reason unknown-form): shorter ones are extensions and service codes.
UNKNOWN_FORM_MIN_DIGITS = 5

_SAFE_CONTEXT = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
_SAFE_ENDPOINT = re.compile(r"^[A-Za-z0-9_.+-]{1,80}$")
_DIGITS = re.compile(r"^[0-9]+$")
_PATTERN = re.compile(r"^_[0-9XZN*#+\[\]\-.!]{1,40}$")
_HHMM_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """An invalid toll-fraud policy; the message says which setting and why."""


# ---------------------------------------------------------------------------------------------
# Policy validation and compilation
# ---------------------------------------------------------------------------------------------
def money_to_millicents(value, name):
    """EUR amount (number or string) -> integer millicents; negative or junk -> PolicyError."""
    if isinstance(value, bool):
        raise PolicyError("%s must be an amount in EUR, not a boolean" % name)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise PolicyError("%s must be an amount in EUR, got %r" % (name, value))
    if not amount.is_finite() or amount < 0:
        raise PolicyError("%s must be a non-negative amount in EUR, got %r" % (name, value))
    return int((amount * MILLICENTS_PER_EUR).to_integral_value(rounding=ROUND_CEILING))


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool):
        raise PolicyError("%s must be an integer" % name)
    try:
        number = int(str(value))
    except ValueError:
        raise PolicyError("%s must be an integer, got %r" % (name, value))
    if number < minimum:
        raise PolicyError("%s must be >= %d, got %r" % (name, minimum, value))
    return number


def _iso_list(values, name):
    result = []
    for value in values or ():
        try:
            calling_code(value)
        except NumberingError as exc:
            raise PolicyError("%s: %s" % (name, exc))
        code = str(value).strip().upper()
        if code not in result:
            result.append(code)
    return result


def _prefix_list(values, name):
    result = []
    for value in values or ():
        prefix = str(value).strip().lstrip("+")
        if not _DIGITS.match(prefix):
            raise PolicyError("%s: %r is not an E.164 digit prefix (e.g. '263' or '+881')"
                              % (name, value))
        if prefix not in result:
            result.append(prefix)
    return result


def parse_rates(rates, name="toll_fraud_guard_rates"):
    """[{prefix, price_per_minute}] -> {e164_prefix: millicents per minute}."""
    if rates is None:
        return {}
    if not isinstance(rates, (list, tuple)):
        raise PolicyError("%s must be a list of {prefix, price_per_minute}" % name)
    table = {}
    for index, entry in enumerate(rates):
        where = "%s[%d]" % (name, index)
        if not isinstance(entry, dict) or set(entry) != {"prefix", "price_per_minute"}:
            raise PolicyError("%s must be a dict with exactly the keys prefix and "
                              "price_per_minute, got %r" % (where, entry))
        prefix = _prefix_list([entry["prefix"]], where + ".prefix")[0]
        if prefix in table:
            raise PolicyError("%s: prefix %s is listed twice" % (where, prefix))
        table[prefix] = money_to_millicents(entry["price_per_minute"], where + ".price_per_minute")
    return table


def trunk_caps(trunks, caps, name="toll_fraud_guard_trunk_max_concurrent_calls"):
    """Concurrent-call cap per trunk name: one int for every trunk, or {trunk name: int}.

    0, None or {} means no cap. Names must be those of voipguard_trunks; they become the
    value of GROUP(voipguard-trunk) on the trunk's channels, hence the strict characters.
    """
    names = [str(trunk) for trunk in trunks or ()]
    if caps in (None, "", 0, "0") or caps == {}:
        return {}
    if not isinstance(caps, dict):
        caps = dict((trunk, caps) for trunk in names)
    unknown = sorted(set(str(k) for k in caps) - set(names))
    if unknown:
        raise PolicyError("%s names %s, not in voipguard_trunks (%s)"
                          % (name, ", ".join(unknown), ", ".join(names) or "none"))
    result = {}
    for trunk, value in caps.items():
        cap = _positive_int(value, "%s.%s" % (name, trunk), minimum=0)
        if not cap:
            continue
        if not _SAFE_ENDPOINT.match(str(trunk)):
            raise PolicyError("voipguard_trunks: trunk name %r has characters the guard does "
                              "not accept (letters, digits, _ . + -)" % trunk)
        result[str(trunk)] = cap
    return result


def parse_business_hours(spec):
    """{'time': '08:00-18:00', 'days': 'mon-fri'} -> (time, days) for IFTIME, validated."""
    if not spec:
        return None
    if not isinstance(spec, dict):
        raise PolicyError("toll_fraud_guard_business_hours must be a dict {time, days}")
    time_range = str(spec.get("time", "")).strip()
    days = str(spec.get("days", "mon-fri")).strip().lower()
    if not _HHMM_RANGE.match(time_range):
        raise PolicyError("toll_fraud_guard_business_hours.time must look like 08:00-18:00, "
                          "got %r" % time_range)
    for part in days.split("&"):
        for day in part.split("-"):
            if day not in _DAYS:
                raise PolicyError("toll_fraud_guard_business_hours.days: %r is not one of %s "
                                  "(ranges like mon-fri, lists like mon&wed)"
                                  % (day, ",".join(_DAYS)))
    return {"time": time_range, "days": days}


# Every setting compile_policy reads. Each arrives from the role: the defaults live in the role's
# meta/argument_specs.yml only, so a missing key is a wiring error, never a silent default.
POLICY_KEYS = (
    "site_country", "outside_line", "outside_line_as_dialed_too", "local_area_code", "international_prefixes",
    "blocked_countries", "allowed_countries", "blocked_prefixes", "block_premium_rate", "rates",
    "default_price_per_minute", "max_price_per_minute", "budgets", "max_call_seconds",
    "min_call_seconds", "max_concurrent_calls", "endpoint_max_concurrent_calls",
    "calls_per_minute", "endpoint_calls_per_minute", "burst_calls", "burst_window",
    "business_hours", "block_on_alert", "alert_webhook_url", "alert_destinations", "emergency_numbers",
    "internal_patterns", "budget_national", "trunks", "trunk_max_concurrent_calls",
)
# May be absent or None: no business hours means no after-hours alert.
OPTIONAL_POLICY_KEYS = ("business_hours",)


def compile_policy(params):
    """Validate the role's policy variables and compile the data the dialplan needs.

    params: POLICY_KEYS, named as the role's variables without the 'toll_fraud_guard_' prefix
    (site_country is voipguard_site_country; the *_enabled switches drop '_enabled').
    budgets: {pbx_day, pbx_month, endpoint_day, endpoint_month, optional national_day};
    trunk_max_concurrent_calls: an int or {trunk: int}. outside_line_as_dialed_too is no role
    variable: toll_fraud_policy decides it from the trunk boundary and the phones' routes.
    """
    missing = [key for key in POLICY_KEYS if key not in params and key not in OPTIONAL_POLICY_KEYS]
    if missing:
        raise PolicyError("the toll-fraud policy lacks %s" % ", ".join(missing))
    if not HAS_PHONENUMBERS:
        raise PolicyError("the phonenumbers Python package is required on the controller: %s"
                          % PHONENUMBERS_IMPORT_ERROR)
    try:
        return _compile(params)
    except NumberingError as exc:
        raise PolicyError(str(exc))


def _compile(params):
    site = str(params["site_country"] or "").strip().upper()
    try:
        site_code = calling_code(site)
    except NumberingError as exc:
        raise PolicyError("voipguard_site_country: %s" % exc)

    outside_line = str(params["outside_line"] or "")
    if outside_line and not _DIGITS.match(outside_line):
        raise PolicyError("toll_fraud_guard_outside_line must be digits, got %r" % outside_line)

    blocked_countries = _iso_list(params["blocked_countries"],
                                  "toll_fraud_guard_blocked_countries")
    allowed_countries = _iso_list(params["allowed_countries"],
                                  "toll_fraud_guard_allowed_countries")
    if blocked_countries and allowed_countries:
        raise PolicyError("set either toll_fraud_guard_blocked_countries (block list) or "
                          "toll_fraud_guard_allowed_countries (allow list), not both")
    mode = "allow" if allowed_countries else "block"
    if mode == "allow" and site not in allowed_countries:
        # National calls stay possible in allow-list mode; documented in argument_specs.
        allowed_countries.append(site)
    if site in blocked_countries:
        raise PolicyError("toll_fraud_guard_blocked_countries contains the site country %s; "
                          "that would block national calls" % site)
    blocked_prefixes = _prefix_list(params["blocked_prefixes"],
                                    "toll_fraud_guard_blocked_prefixes")

    rates = parse_rates(params["rates"])
    default_price = money_to_millicents(params["default_price_per_minute"],
                                        "toll_fraud_guard_default_price_per_minute")
    max_price = money_to_millicents(params["max_price_per_minute"],
                                    "toll_fraud_guard_max_price_per_minute")
    if default_price > max_price:
        raise PolicyError("toll_fraud_guard_default_price_per_minute (%s) is above "
                          "toll_fraud_guard_max_price_per_minute (%s): every unpriced call "
                          "would be refused" % (params["default_price_per_minute"],
                                                params["max_price_per_minute"]))

    budgets_in = params["budgets"] or {}
    budgets = {}
    for key in ("pbx_day", "pbx_month", "endpoint_day", "endpoint_month"):
        if key not in budgets_in:
            raise PolicyError("toll_fraud_guard_budgets.%s is required" % key)
        budgets[key] = money_to_millicents(budgets_in[key], "toll_fraud_guard_budgets." + key)
    # Optional: the daily cap of national calls, which the budgets above do not refuse unless
    # budget_national; absent, national calls are bounded only by the call limits.
    if budgets_in.get("national_day") is not None:
        budgets["national_day"] = money_to_millicents(budgets_in["national_day"], "toll_fraud_guard_budgets.national_day")
    unknown = set(budgets_in) - set(budgets) - {"national_day"}
    if unknown:
        raise PolicyError("toll_fraud_guard_budgets: unknown keys %s" % ", ".join(sorted(unknown)))

    emergency = emergency_numbers(site, params["emergency_numbers"])
    internal_patterns = []
    for pattern in params["internal_patterns"] or ():
        pattern = str(pattern)
        if not (_PATTERN.match(pattern) or _DIGITS.match(pattern)) or pattern in ("_.", "_!"):
            raise PolicyError("toll_fraud_guard_internal_patterns: %r is not an Asterisk "
                              "extension pattern like _1XXX" % pattern)
        if pattern.startswith("_") and ("." in pattern or "!" in pattern):
            raise PolicyError("toll_fraud_guard_internal_patterns: %r has no fixed length; "
                              "internal patterns must not match arbitrary numbers" % pattern)
        internal_patterns.append(pattern)

    intl = params["international_prefixes"] or None
    local_area_code = str(params["local_area_code"] or "")
    rules = dialing_rules(site, intl)
    if local_area_code:
        try:
            rules.extend(local_number_rules(site, local_area_code, UNKNOWN_FORM_MIN_DIGITS))
        except NumberingError as exc:
            raise PolicyError("toll_fraud_guard_local_area_code: %s" % exc)

    # Destination table: every country prefix, blocked prefix, premium prefix and rate prefix
    # becomes one row with its effective country, block reason and price (longest prefix wins).
    countries = all_country_prefixes()
    # A territory whose numbers libphonenumber gives to another country (EH to MA, CX to CC)
    # has no range to block: refusing it silently would block nothing.
    without_range = [c for c in blocked_countries if c not in set(countries.values())]
    if without_range:
        raise PolicyError("toll_fraud_guard_blocked_countries: %s" % "; ".join(
            "%s has no number range of its own (libphonenumber counts its numbers as %s's); block %s"
            % (c, region_code_for_calling_code(calling_code(c)),
               region_code_for_calling_code(calling_code(c)))
            for c in without_range))
    premium = []
    if params["block_premium_rate"]:
        premium = premium_rate_prefixes(site)
    blocked_prefix_reason = {}
    for prefix in premium:
        blocked_prefix_reason[prefix] = "premium-rate"
    for prefix in blocked_prefixes:
        blocked_prefix_reason[prefix] = "prefix"
    keys = set(countries) | set(blocked_prefix_reason) | set(rates)
    destinations = []
    for prefix in sorted(keys, key=lambda p: (len(p), p)):
        country = longest_prefix(countries, prefix) or "ZZ"
        price = longest_prefix(rates, prefix)
        if price is None:
            # An unpriced foreign destination may be a satellite or premium range: budgets count
            # it at the dearest price the policy allows, never at the cheap default.
            price = default_price if country == site else max_price
        reason = longest_prefix(blocked_prefix_reason, prefix) or ""
        if not reason:
            if mode == "allow" and country not in allowed_countries:
                reason = "country"
            elif mode == "block" and country in blocked_countries:
                reason = "country"
            elif price > max_price:
                reason = "price"
        destinations.append({"prefix": prefix, "country": country, "blocked": reason,
                             "price": price})

    burst_calls = _positive_int(params["burst_calls"], "toll_fraud_guard_burst_calls")
    burst_window = _positive_int(params["burst_window"], "toll_fraud_guard_burst_window")
    max_call_seconds = _positive_int(params["max_call_seconds"],
                                     "toll_fraud_guard_max_call_seconds")
    min_call_seconds = _positive_int(params["min_call_seconds"],
                                     "toll_fraud_guard_min_call_seconds")
    if min_call_seconds > max_call_seconds:
        raise PolicyError("toll_fraud_guard_min_call_seconds is above "
                          "toll_fraud_guard_max_call_seconds")

    trunks = sorted(set(str(t) for t in params["trunks"] or ()))
    caps = trunk_caps(trunks, params["trunk_max_concurrent_calls"])

    webhook = params["alert_webhook_url"] or ""
    if webhook and not re.match(r"^https?://[^\s,()\"'${}\\]+$", webhook):
        raise PolicyError("toll_fraud_guard_alert_webhook_url must be an http(s) URL without "
                          "spaces, commas, quotes, parentheses, braces or $")

    return {
        "version": 1,
        "currency": "EUR",
        "money_unit": "millicent",
        "millicents_per_eur": MILLICENTS_PER_EUR,
        "site_country": site,
        "site_calling_code": site_code,
        "outside_line": outside_line,
        "outside_line_as_dialed_too": bool(params["outside_line_as_dialed_too"]),
        "local_area_code": local_area_code,
        "mode": mode,
        "blocked_countries": sorted(blocked_countries),
        "allowed_countries": sorted(allowed_countries),
        "blocked_prefixes": blocked_prefixes,
        "premium_rate_prefixes": premium,
        "default_price_per_minute": default_price,
        "max_price_per_minute": max_price,
        "rates": [{"prefix": p, "price_per_minute": rates[p]} for p in sorted(rates)],
        "budgets": budgets,
        # False: calls within the site country are never refused for budget (still charged).
        "budget_national_calls": bool(params["budget_national"]),
        "max_call_seconds": max_call_seconds,
        "min_call_seconds": min_call_seconds,
        "concurrency": {
            "pbx": _positive_int(params["max_concurrent_calls"],
                                 "toll_fraud_guard_max_concurrent_calls"),
            "endpoint": _positive_int(params["endpoint_max_concurrent_calls"],
                                      "toll_fraud_guard_endpoint_max_concurrent_calls"),
            "trunks": caps,
        },
        "trunks": trunks,
        "calls_per_minute": {
            "pbx": _positive_int(params["calls_per_minute"],
                                 "toll_fraud_guard_calls_per_minute"),
            "endpoint": _positive_int(params["endpoint_calls_per_minute"],
                                      "toll_fraud_guard_endpoint_calls_per_minute"),
        },
        "alerts": {
            "budget_percent": [80, 100],
            "burst_calls": burst_calls,
            "burst_window": burst_window,
            "business_hours": parse_business_hours(params.get("business_hours")),
            "block_on_alert": bool(params["block_on_alert"]),
            "webhook": bool(webhook),
            # Every place the alerts go (Apprise URLs, the role's toll_fraud_guard_alert_destinations).
            "destinations": _positive_int(params["alert_destinations"] or 0, "alert_destinations", minimum=0),
        },
        "emergency_numbers": emergency,
        "internal_patterns": internal_patterns,
        "unknown_form_min_digits": UNKNOWN_FORM_MIN_DIGITS,
        "dialing_rules": rules,
        "destinations": destinations,
    }


def local_area_code_from_routes(prefixes, site_country):
    """(area code, why not) for toll_fraud_guard_local_area_code auto, from the digits the phones'
    routes put before the number ({digits: [where]}, dialplan_audit.local_area_code_prefixes):
    a route that dials 0531${EXTEN} sends local numbers on with Braunschweig's area code, so the
    phone's check reads them as the carrier will. ("", None) when no route shows an area code;
    ("", why) when routes show different ones (a PBX of two towns): the variable decides."""
    areas = {}
    for prefix, where in sorted((prefixes or {}).items()):
        area = area_code_in_prefix(site_country, prefix, UNKNOWN_FORM_MIN_DIGITS)
        if area:
            areas.setdefault(area, []).extend(where)
    if len(areas) > 1:
        return "", ("the phones' routes put different area codes before local numbers (%s); local "
                    "numbers are refused as unknown-form until toll_fraud_guard_local_area_code names one"
                    % "; ".join("%s in %s" % (area, ", ".join(where)) for area, where in sorted(areas.items())))
    return (next(iter(areas)) if areas else ""), None


def classify(policy, number, trunk_leg=False):
    """Python reference of the dialplan's decision, for tests and the audit.

    trunk_leg: judge the digits as the trunk boundary does (voipguard-egress): nothing there is
    internal, and anything but digits and + is not understood.
    Returns {'verdict': 'emergency'|'internal'|'blocked'|'allowed', 'reason', 'readings',
    'country', 'price'}.
    """
    after_line = None if trunk_leg else after_outside_line(number, policy["outside_line"])
    if number in policy["emergency_numbers"] or after_line in policy["emergency_numbers"]:
        # After the outside line too (9 911, 0 112): at the phone, never refused by any rule,
        # limit or budget. On the trunk leg the digits are what the carrier gets.
        return {"verdict": "emergency", "reason": "", "readings": [], "country": "", "price": 0}
    if not re.match(r"^[0-9A-Za-z+*#.]+$", number) or (trunk_leg and not re.match(r"^[0-9+]+$", number)):
        return {"verdict": "blocked", "reason": "characters", "readings": [], "country": "",
                "price": 0}
    if trunk_leg:
        return _judge_readings(policy, number, trunk_leg=True)
    if re.search(r"[A-Za-z.]", number):
        # What reaches a trunk once the operator's FILTER() strips letters and dots is the digits.
        digits = re.sub(r"[^0-9]", "", number)
        if len(digits) < policy["unknown_form_min_digits"]:
            return {"verdict": "internal", "reason": "", "readings": [], "country": "", "price": 0}
        number = digits
    if any(pattern_matches(p, number) for p in policy["internal_patterns"]):
        return {"verdict": "internal", "reason": "", "readings": [], "country": "", "price": 0}
    if re.search(r"[*#]", number):
        return {"verdict": "blocked", "reason": "feature-code", "readings": [], "country": "",
                "price": 0}
    return _judge_readings(policy, number)


def _judge_readings(policy, number, trunk_leg=False):
    """The verdict on a number's E.164 readings: its destination's block and price. On the trunk
    leg the digits are read as the carrier gets them: no outside line is left to strip."""
    table = {d["prefix"]: d for d in policy["destinations"]}
    readings = normalise(number, policy["dialing_rules"], "" if trunk_leg else policy["outside_line"],
                         policy["outside_line_as_dialed_too"])
    verdict = {"verdict": "allowed", "reason": "", "readings": readings,
               "country": policy["site_country"], "price": policy["default_price_per_minute"]}
    if not readings:
        if len(re.sub(r"[^0-9]", "", number)) >= policy["unknown_form_min_digits"]:
            verdict.update(verdict="blocked", reason="unknown-form", country="")
            return verdict
        site_blocked = policy["mode"] == "allow" and \
            policy["site_country"] not in policy["allowed_countries"]
        if site_blocked:
            verdict.update(verdict="blocked", reason="country")
        return verdict
    worst_price = 0
    for reading in readings:
        row = longest_prefix(table, reading)
        if row is None:
            row = {"country": "ZZ", "price": policy["default_price_per_minute"],
                   "blocked": "country" if policy["mode"] == "allow" else ""}
        if row["price"] >= worst_price:
            worst_price = row["price"]
            verdict["country"] = row["country"]
        if row["blocked"] and verdict["verdict"] != "blocked":
            verdict.update(verdict="blocked", reason=row["blocked"], country=row["country"])
    verdict["price"] = worst_price
    return verdict


def guard_context(context):
    """Name of the guard context placed in front of an operator context."""
    if not _SAFE_CONTEXT.match(context or ""):
        raise PolicyError("dialplan context %r has characters the guard does not accept" % context)
    return GUARD_CONTEXT_PREFIX + context


def original_context(context):
    """Operator context behind a (possibly already guarded) endpoint context."""
    if context.startswith(GUARD_CONTEXT_PREFIX):
        return context[len(GUARD_CONTEXT_PREFIX):]
    return context


def plan_endpoints(endpoint_contexts, trunk_endpoints=(), exempt_endpoints=()):
    """Which endpoints to guard: {endpoint: original context}; trunks and exempt ones skipped.

    endpoint_contexts: {endpoint: current context} as read from pjsip.conf (templates resolved).
    """
    plan = {}
    skip = set(trunk_endpoints or ()) | set(exempt_endpoints or ())
    for endpoint, context in sorted(endpoint_contexts.items()):
        if endpoint in skip or not context:
            continue
        if not _SAFE_ENDPOINT.match(endpoint):
            raise PolicyError("endpoint name %r has characters the guard does not accept"
                              % endpoint)
        original = original_context(context)
        guard_context(original)
        plan[endpoint] = original
    return plan
