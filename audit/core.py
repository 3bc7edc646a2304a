"""Pure logic of the audit: secret scrubbing, waivers, scoring, exposure, fingerprints.

Nothing here touches a host or a file: the pytest plugin, the report renderer and the unit
tests all call these functions, so each rule lives in one place.
"""
import base64
import datetime
import hashlib
import json
import re

from ansible.module_utils.channel_drivers import hide_inline_secrets

SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 3, "low": 1}
SEVERITIES = ("critical", "high", "medium", "low")
STATUSES = ("pass", "fail", "error", "waived", "not_applicable")
# Statuses that count against the score: an error proves nothing, so it scores like a failure.
FAILING = ("fail", "error")
HOST_STATUSES = ("audited", "unreachable", "no asterisk", "untrusted host key")
MASK = "********"

# Keys whose values are credentials in Asterisk, fail2ban, webhooks and our own evidence.
SECRET_KEY = re.compile(r"(pass(word|wd|phrase)?|secret|token|md5_cred|password_digest|"
                        r"private|api_?key|credential|webhook_url|auth_?key)", re.I)
_SECRET_WORD = r"[\w.-]*(?:pass(?:word|wd)?|secret|token|md5_cred|api_?key)"
# "secret = x", "password=>x" inside free text (config excerpts, command output): a configuration's
# value is the rest of its line (commas, escaped semicolons and blanks included).
_SECRET_ASSIGNED = re.compile(r"(?im)\b(%s\s*=>?[ \t]*)(?!\*{8})(\S[^\r\n]*?)(?=[ \t]*$)" % _SECRET_WORD)
# "secret: x" in prose or command output: the word after it, quoted or not.
_SECRET_IN_TEXT = re.compile(r"(?im)\b(%s\s*:[ \t]*[\"']?)(?!\*{8})([^\s,;&\"']+)" % _SECRET_WORD)
# IAX2's "register => user:secret@host".
_REGISTER_SECRET = re.compile(r"(?im)\b(register\s*=>?\s*[^:@\s]*:)(?!\*{8})([^@\s]+)@")
# URLs with credentials or query tokens (alert webhooks).
_URL_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s:@]+:[^/\s@]+@")
_URL_QUERY = re.compile(r"(?i)(\bhttps?://[^\s?]+\?)\S+")


def mask_value(value):
    """What a secret looks like in evidence: whether it is set, never what it is."""
    if value is None:
        return None
    return "(empty)" if str(value) == "" else MASK


def scrub_text(text):
    """Mask secrets written inline in free text (config lines, command output, messages)."""
    if not isinstance(text, str):
        return text
    text = _SECRET_ASSIGNED.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    text = _REGISTER_SECRET.sub(lambda m: m.group(1) + MASK + "@", text)
    text = hide_inline_secrets(text)  # a dial string's user:secret@host, as the hardening hides it
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    return _URL_QUERY.sub(lambda m: m.group(1) + MASK, text)


def scrub(obj):
    """A deep copy of obj with every secret masked: values of secret-named keys, the ``value``
    of an evidence item whose ``key`` names a secret, and secrets inside strings."""
    if isinstance(obj, dict):
        out = {}
        names_secret = isinstance(obj.get("key"), str) and SECRET_KEY.search(obj["key"])
        for key, value in obj.items():
            if isinstance(key, str) and SECRET_KEY.search(key) and not isinstance(value, (dict, list)):
                out[key] = value if isinstance(value, bool) else mask_value(value)
            elif key == "value" and names_secret and not isinstance(value, (dict, list, bool)):
                out[key] = mask_value(value)
            else:
                out[key] = scrub(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [scrub(item) for item in obj]
    return scrub_text(obj)


# -- waivers -----------------------------------------------------------------------------------

def _parse_date(value):
    if isinstance(value, datetime.date):
        return value
    return datetime.datetime.strptime(str(value), "%Y-%m-%d").date()


def find_waiver(control_id, waivers):
    for waiver in waivers or ():
        if isinstance(waiver, dict) and str(waiver.get("control", "")).upper() == control_id.upper():
            return waiver
    return None


def apply_waiver(result, waivers, today=None):
    """Turn a failing control into ``waived`` when the inventory waives it with a justification
    and an expiry date still ahead; an expired or malformed waiver leaves it failing and says so.
    A passing or not-applicable control is left as it is (the waiver is noted, unused)."""
    waiver = find_waiver(result["id"], waivers)
    if waiver is None:
        return result
    result = dict(result)
    today = today or datetime.date.today()
    justification = str(waiver.get("justification") or "").strip()
    info = {"justification": justification, "expires": str(waiver.get("expires", ""))}
    try:
        expires = _parse_date(waiver.get("expires"))
    except (TypeError, ValueError):
        expires = None
    if not justification or expires is None:
        info["valid"] = False
        result["waiver"] = info
        if result["status"] in FAILING:
            result["message"] = ("waiver ignored: it needs a justification and an expiry date "
                                 "(YYYY-MM-DD); " + (result.get("message") or ""))
        return result
    info["valid"] = expires >= today
    result["waiver"] = info
    if result["status"] not in FAILING:
        return result
    if expires < today:
        result["message"] = "waiver expired on %s (%s); %s" % (
            expires.isoformat(), justification, result.get("message") or "")
        return result
    result["status"] = "waived"
    result["message"] = "waived until %s: %s (finding: %s)" % (
        expires.isoformat(), justification, result.get("message") or "")
    return result


# -- scoring -----------------------------------------------------------------------------------

def score(controls):
    """Hardening index, as Lynis: points earned / points possible, weighted by severity.

    A pass earns its weight; a fail or error earns nothing; waived and not-applicable controls
    are left out of both sums (a waiver is an accepted risk, not a proof). ``percent`` is None
    when nothing could be assessed."""
    earned = possible = 0
    counts = dict((status, 0) for status in STATUSES)
    for control in controls:
        status = control["status"]
        counts[status] = counts.get(status, 0) + 1
        weight = SEVERITY_WEIGHTS[control["severity"]]
        if status == "pass":
            earned += weight
            possible += weight
        elif status in FAILING:
            possible += weight
    percent = round(100.0 * earned / possible) if possible else None
    return {"earned": earned, "possible": possible, "percent": percent, "counts": counts}


def severity_at_least(severity, threshold):
    return SEVERITY_WEIGHTS[severity] >= SEVERITY_WEIGHTS[threshold]


# -- toll-fraud exposure -----------------------------------------------------------------------

MINUTES_PER_DAY = 1440

EXPOSURE_FORMULA = (
    "Worst-case toll-fraud cost per day = the smallest of the limits that stand between an "
    "intruder and the trunk: PBX daily budget; PBX monthly budget; endpoints x endpoint daily "
    "budget; endpoints x endpoint monthly budget; PBX concurrent calls x max price per minute x "
    "1440; endpoints x concurrent calls per endpoint x max price per minute x 1440; calls per "
    "minute x max call minutes x max price per minute x 1440. When budgets do not stop national "
    "calls, their own daily budget is added, or without one the call limits' bound on national "
    "calls at the dearest national price. "
    "It is 'unlimited' when no "
    "toll-fraud policy is in force, when a phone endpoint's calls do not pass the guard, or when "
    "a bypass (AMI originate open to the network) reaches the trunk without the dialplan.")


def exposure_per_day(inputs):
    """Worst-case toll-fraud cost per day the configuration allows (see EXPOSURE_FORMULA).

    inputs: {"policy": normalised policy or None (money in currency units: budgets
    {pbx_day, pbx_month, endpoint_day, endpoint_month}, max_price_per_minute, concurrency
    {pbx, endpoint}, calls_per_minute {pbx}, max_call_seconds, currency), "endpoints": number of
    endpoints whose calls pass the guard, "unguarded": [reasons calls avoid the guard],
    "bypasses": [reasons calls avoid the dialplan]}.
    Returns {"unlimited", "per_day", "currency", "bound_by", "terms", "reasons"}.
    """
    policy = inputs.get("policy")
    reasons = []
    if not policy:
        reasons.append("no toll-fraud policy in force (no budget, no price cap, no country block)")
    reasons.extend(inputs.get("unguarded") or [])
    reasons.extend(inputs.get("bypasses") or [])
    currency = (policy or {}).get("currency") or "EUR"
    if reasons:
        return {"unlimited": True, "per_day": None, "currency": currency, "bound_by": None,
                "terms": [], "reasons": reasons, "formula": EXPOSURE_FORMULA}
    budgets = policy.get("budgets") or {}
    concurrency = policy.get("concurrency") or {}
    rate = (policy.get("calls_per_minute") or {}).get("pbx")
    endpoints = int(inputs.get("endpoints") or 0)
    max_call_minutes = (policy.get("max_call_seconds") or 0) / 60.0

    def call_limit_terms(price, label=""):
        return [
            ("PBX concurrent calls x %smax price/min x 1440" % label,
             _times(concurrency.get("pbx"), price, MINUTES_PER_DAY)),
            ("%d endpoints x concurrent calls per endpoint x %smax price/min x 1440" % (endpoints, label),
             _times(endpoints, concurrency.get("endpoint"), price, MINUTES_PER_DAY)),
            ("calls per minute x max call minutes x %smax price/min x 1440" % label,
             _times(rate, max_call_minutes or None, price, MINUTES_PER_DAY)),
        ]

    candidates = [
        ("PBX daily budget", budgets.get("pbx_day")),
        ("PBX monthly budget", budgets.get("pbx_month")),
        ("%d endpoints x endpoint daily budget" % endpoints, _times(endpoints, budgets.get("endpoint_day"))),
        ("%d endpoints x endpoint monthly budget" % endpoints, _times(endpoints, budgets.get("endpoint_month"))),
    ] + call_limit_terms(policy.get("max_price_per_minute"))
    terms = [{"limit": name, "value": round(value, 2)} for name, value in candidates if value is not None]
    if not terms:
        return {"unlimited": True, "per_day": None, "currency": currency, "bound_by": None,
                "terms": [], "formula": EXPOSURE_FORMULA,
                "reasons": ["the policy sets no budget, price cap or concurrency limit"]}
    bound = min(terms, key=lambda term: term["value"])
    per_day, bound_by = bound["value"], bound["limit"]
    national_day = budgets.get("national_day")
    if national_day is not None and not policy.get("budget_national_calls", True):
        # National calls have a daily cap of their own, next to the budgets above.
        terms.append({"limit": "national daily budget", "value": round(national_day, 2)})
        per_day = round(per_day + national_day, 2)
        bound_by = "%s, plus national calls: national daily budget" % bound_by
    national_price = policy.get("national_unbudgeted_price_per_minute")
    if national_price is not None:
        national = [{"limit": name, "value": round(value, 2)}
                    for name, value in call_limit_terms(national_price, "national ") if value is not None]
        if not national:
            return {"unlimited": True, "per_day": None, "currency": currency, "bound_by": None,
                    "terms": terms, "formula": EXPOSURE_FORMULA,
                    "reasons": ["budgets do not stop national calls and no call limit bounds them"]}
        national_bound = min(national, key=lambda term: term["value"])
        terms += national
        per_day = round(per_day + national_bound["value"], 2)
        bound_by = "%s, plus national calls: %s" % (bound_by, national_bound["limit"])
    return {"unlimited": False, "per_day": per_day, "currency": currency,
            "bound_by": bound_by, "terms": terms, "reasons": [], "formula": EXPOSURE_FORMULA}


def _times(*factors):
    total = 1.0
    for factor in factors:
        if factor is None:
            return None
        total *= float(factor)
    return total


def fleet_exposure(exposures):
    """Sum over hosts; unlimited as soon as one host is."""
    exposures = [e for e in exposures if e]
    if not exposures:
        return None
    if any(e["unlimited"] for e in exposures):
        return {"unlimited": True, "per_day": None,
                "currency": exposures[0].get("currency", "EUR")}
    return {"unlimited": False, "per_day": round(sum(e["per_day"] for e in exposures), 2),
            "currency": exposures[0].get("currency", "EUR")}


# -- evidence integrity ------------------------------------------------------------------------

def openssh_fingerprint(public_key_line):
    """``SHA256:<base64>`` of an OpenSSH public key line, exactly as ``ssh-keygen -lf`` prints it."""
    parts = public_key_line.split()
    if len(parts) < 2:
        raise ValueError("not an OpenSSH public key line")
    blob = base64.b64decode(parts[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return "SHA256:" + digest


def fingerprint_of_blob(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_digest(document):
    """SHA-256 over the canonical JSON of a report without its ``integrity`` member."""
    body = dict((k, v) for k, v in document.items() if k != "integrity")
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
