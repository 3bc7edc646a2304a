# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Toll-fraud dial policy: calling codes, dialing forms and prices, compiled for a dialplan.

Pure Python on the controller. Country data comes from libphonenumber's metadata (the
``phonenumbers`` package), never from a hand-made table, so shared codes (+1 NANP, +7 RU/KZ,
+44 GB/GG/IM/JE) resolve to the right area codes.

Money is kept as integers in millicents (1 EUR = 100 cents = 100000 millicents) because the
Asterisk dialplan and AstDB only do integer arithmetic reliably.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import re

try:  # Python's own regex parser, to read libphonenumber's leading-digit patterns
    import re._constants as _sre
    import re._parser as _sre_parse
except ImportError:  # Python < 3.11
    import sre_constants as _sre  # pylint: disable=deprecated-module
    import sre_parse as _sre_parse  # pylint: disable=deprecated-module
from decimal import Decimal, InvalidOperation, ROUND_CEILING

try:
    import phonenumbers
    from phonenumbers import PhoneMetadata, shortnumberinfo
    HAS_PHONENUMBERS = True
    PHONENUMBERS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_PHONENUMBERS = False
    PHONENUMBERS_IMPORT_ERROR = exc

MILLICENTS_PER_EUR = 100000
GUARD_CONTEXT_PREFIX = "voipguard-guard-"
NON_GEO_REGION = "001"

# Often-named IRSF targets (see docs: no authoritative free list exists). Countries by ISO code;
# international networks and the international premium-rate service by calling code.
DEFAULT_BLOCKED_COUNTRIES = ["CU", "LT", "LV", "SO", "ZW"]
DEFAULT_BLOCKED_PREFIXES = ["870", "878", "881", "882", "883", "888", "979"]

# How deep a territory's leading digits are expanded into prefixes (VA's 06698 needs 5).
_LEADING_DIGITS_DEPTH = 6

# A dialed string with at least this many digits that no dialing rule reads is not understood,
# so it is refused (reason unknown-form): shorter ones are extensions and service codes.
UNKNOWN_FORM_MIN_DIGITS = 5

# An extension/feature code is never longer than this; longer digit strings are numbers.
_ASTERISK_PATTERN_CLASSES = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
_SAFE_CONTEXT = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
_SAFE_ENDPOINT = re.compile(r"^[A-Za-z0-9_.+-]{1,80}$")
_DIGITS = re.compile(r"^[0-9]+$")
_PATTERN = re.compile(r"^_[0-9XZN*#+\[\]\-.!]{1,40}$")
_HHMM_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """An invalid toll-fraud policy; the message says which setting and why."""


def _require_phonenumbers():
    if not HAS_PHONENUMBERS:
        raise PolicyError("the phonenumbers Python package is required on the controller: %s"
                          % PHONENUMBERS_IMPORT_ERROR)


# ---------------------------------------------------------------------------------------------
# Calling codes and country prefixes
# ---------------------------------------------------------------------------------------------
def region_metadata(iso):
    """Metadata of a region, or PolicyError for an unknown ISO code."""
    _require_phonenumbers()
    code = str(iso or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PolicyError("unknown ISO country code %r (libphonenumber knows %d regions)"
                          % (iso, len(phonenumbers.SUPPORTED_REGIONS)))
    return PhoneMetadata.metadata_for_region(code)


def calling_code(iso):
    """The country calling code of an ISO region as a string, e.g. 'ZW' -> '263'."""
    return str(region_metadata(iso).country_code)


def _digit_strings(pattern, limit):
    """Every digit string a leading-digits pattern matches as a whole, cut to `limit` digits.

    libphonenumber's leading digits are small regular expressions of digits, classes,
    alternations and bounded repeats; they are read with Python's own regex parser, so that a
    territory's range is found however long it is (VA: 06698) without trying every prefix."""
    digits = set("0123456789")

    def sequence(items):
        results = {""}
        for op, av in items:
            choices = element(op, av)
            results = set((r + c)[:limit] if len(r) < limit else r for r in results for c in choices)
        return results

    def element(op, av):
        if op is _sre.LITERAL:
            return {chr(av)}
        if op is _sre.IN:
            chars = set()
            for kind, value in av:
                if kind is _sre.LITERAL:
                    chars.add(chr(value))
                elif kind is _sre.RANGE:
                    chars.update(chr(c) for c in range(value[0], value[1] + 1))
                elif kind is _sre.CATEGORY:
                    chars.update(digits)
                else:
                    raise PolicyError("unsupported leading digits %r" % pattern)
            return chars & digits
        if op is _sre.BRANCH:
            return set().union(*(sequence(branch) for branch in av[1]))
        if op is _sre.SUBPATTERN:
            return sequence(av[-1])
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, sub = av
            return set().union(*(sequence(list(sub) * n) for n in range(low, min(high, limit) + 1)))
        if op in (_sre.ANY, _sre.CATEGORY):
            return set(digits)
        raise PolicyError("unsupported leading digits %r" % pattern)

    found = sequence(list(_sre_parse.parse(pattern)))
    # A shorter string already covers its longer extensions.
    return sorted(p for p in found if p and not any(p != q and p.startswith(q) for q in found))


def _sample_completions(length):
    """A few digit strings of the given length, enough to probe libphonenumber's patterns."""
    if length <= 0:
        return [""]
    samples = set()
    for start in range(10):
        samples.add(str(start) * length)
        samples.add("".join(str((start + i) % 10) for i in range(length)))
        samples.add(str(start) + "2345678901234567"[:length - 1])
        samples.add(str(start) + "0" * (length - 1))
    return sorted(samples)


def _pattern_prefixes(pattern, possible_lengths, depth):
    """Digit prefixes of length `depth` that some number matching `pattern` starts with."""
    regex = re.compile(r"(?:%s)\Z" % pattern)
    lengths = [n for n in possible_lengths if n > depth]
    prefixes = []
    for digits in itertools.product("0123456789", repeat=depth):
        prefix = "".join(digits)
        if any(regex.match(prefix + tail) for n in lengths
               for tail in _sample_completions(n - depth)):
            prefixes.append(prefix)
    return _compress_prefixes(prefixes)


def _compress_prefixes(prefixes):
    """Replace ten sibling prefixes by their parent, repeatedly."""
    current = set(prefixes)
    changed = True
    while changed:
        changed = False
        parents = {}
        for prefix in current:
            if len(prefix) > 1:
                parents.setdefault(prefix[:-1], set()).add(prefix)
        for parent, children in parents.items():
            if len(children) == 10:
                current -= children
                current.add(parent)
                changed = True
    return sorted(current)


def national_prefixes(iso):
    """National-number prefixes (without the calling code) that identify a region.

    The main country of a shared calling code gets '' (the whole code); the others get their
    leading digits from libphonenumber (JM -> 658, 876; KZ -> 7). Regions without leading
    digits (CA, GG, ...) are probed with their fixed-line and mobile patterns.
    """
    meta = region_metadata(iso)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ())
    if len(regions) <= 1 or meta.main_country_for_code:
        return [""]
    if meta.leading_digits:
        # Leading digits name the territory's own range, however long (VA: 06698).
        return _compress_prefixes(_digit_strings(meta.leading_digits, _LEADING_DIGITS_DEPTH))
    depth = 3 if meta.country_code == 1 else 4
    found = set()
    for desc in (meta.fixed_line, meta.mobile):
        if desc is not None and desc.national_number_pattern:
            lengths = desc.possible_length or meta.general_desc.possible_length
            candidates = _pattern_prefixes(desc.national_number_pattern, lengths, depth)
            # A range the territory shares with the main country (Moroccan mobiles in Western
            # Sahara's pattern, Australian mobiles in the Cocos Islands') belongs to whichever
            # region libphonenumber itself assigns its numbers to.
            found.update(p for p in candidates
                         if _owned_by(iso, meta.country_code, p, desc.national_number_pattern, lengths))
    return sorted(found)


_NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
                 "personal_number", "pager", "uan", "voicemail")
_CLAIM_CACHE = {}


def _claims(region):
    """What makes libphonenumber give a number of a shared code to `region`: its leading digits
    if it has some, else any number type's pattern (region_code_for_number's own order)."""
    if region not in _CLAIM_CACHE:
        meta = PhoneMetadata.metadata_for_region(region)
        if meta.leading_digits:
            leading = re.compile(meta.leading_digits)
            _CLAIM_CACHE[region] = lambda national: leading.match(national) is not None
        else:
            types = [re.compile(r"(?:%s)\Z" % desc.national_number_pattern)
                     for desc in (getattr(meta, name, None) for name in _NUMBER_TYPES)
                     if desc is not None and desc.national_number_pattern]
            _CLAIM_CACHE[region] = lambda national: any(t.match(national) for t in types)
    return _CLAIM_CACHE[region]


def _owned_by(iso, code, prefix, pattern, lengths):
    """True when libphonenumber gives some number of `pattern` starting with `prefix` to `iso`:
    no region before it in the calling code's list claims that number."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
    earlier = [_claims(region) for region in regions[:regions.index(iso)]]
    regex = re.compile(r"(?:%s)\Z" % pattern)
    for length in lengths:
        for tail in _sample_completions(length - len(prefix)):
            national = prefix + tail
            if len(national) == length and regex.match(national) and not any(c(national) for c in earlier):
                return True
    return False


def country_prefixes(iso):
    """E.164 digit prefixes of a country: 'ZW' -> ['263'], 'JM' -> ['1658', '1876']."""
    code = calling_code(iso)
    return [code + rest for rest in national_prefixes(iso)]


_COUNTRY_TABLE_CACHE = {}


def all_country_prefixes():
    """{e164_prefix: ISO} for every region libphonenumber knows (non-geographic codes as '001')."""
    _require_phonenumbers()
    if "table" in _COUNTRY_TABLE_CACHE:
        return dict(_COUNTRY_TABLE_CACHE["table"])
    table = {}
    for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        for region in regions:
            if region == NON_GEO_REGION:
                table[str(code)] = NON_GEO_REGION
                continue
            for prefix in country_prefixes(region):
                table.setdefault(prefix, region)
    _COUNTRY_TABLE_CACHE["table"] = table
    return dict(table)


def premium_rate_prefixes(iso):
    """E.164 prefixes of the premium-rate ranges of a country (from its metadata)."""
    meta = region_metadata(iso)
    desc = meta.premium_rate
    if desc is None or not desc.national_number_pattern:
        return []
    lengths = desc.possible_length or meta.general_desc.possible_length
    code = str(meta.country_code)
    return [code + p for p in _pattern_prefixes(desc.national_number_pattern, lengths, 4)]


# ---------------------------------------------------------------------------------------------
# Dialing forms and normalisation
# ---------------------------------------------------------------------------------------------
def international_prefixes(iso):
    """International call prefixes of a site: '00' for DE, '011' for US, several for AU."""
    meta = region_metadata(iso)
    raw = meta.international_prefix or ""
    if _DIGITS.match(raw):
        return [raw]
    found = set()
    if meta.preferred_international_prefix:
        found.add(meta.preferred_international_prefix.replace("~", ""))
    if raw:
        regex = re.compile(r"(?:%s)\Z" % raw)
        for length in range(2, 6):
            for digits in itertools.product("0123456789", repeat=length):
                candidate = "".join(digits)
                if regex.match(candidate):
                    found.add(candidate)
    if not found:
        raise PolicyError("no international prefix known for %s; set "
                          "toll_fraud_guard_international_prefixes" % iso)
    return sorted(found)


def dialing_rules(site_country, international=None):
    """Rules that turn what a phone dials into E.164 digits.

    Each rule: {'pattern': Asterisk extension pattern, 'strip': n, 'prepend': digits,
    'form': name}. The dialplan applies them with Asterisk's own pattern matching, where the
    most specific pattern wins; normalise() below does the same in Python.
    An outside-line digit is not a rule: the check tries the number with and without it.
    """
    meta = region_metadata(site_country)
    code = str(meta.country_code)
    rules = [{"form": "plus", "pattern": "_+Z.", "strip": 1, "prepend": ""}]
    for prefix in international or international_prefixes(site_country):
        if not _DIGITS.match(str(prefix)):
            raise PolicyError("international prefix %r must be digits" % (prefix,))
        rules.append({"form": "international", "pattern": "_%sZ." % prefix,
                      "strip": len(prefix), "prepend": ""})
    national = meta.national_prefix or ""
    if code == "1":
        # NANP: 1 + 10 digits, or the 10 digits alone.
        rules.append({"form": "national", "pattern": "_1NXXNXXXXXX", "strip": 0, "prepend": ""})
        rules.append({"form": "national", "pattern": "_NXXNXXXXXX", "strip": 0, "prepend": "1"})
    elif national:
        rules.append({"form": "national", "pattern": "_%sZ." % national,
                      "strip": len(national), "prepend": code})
    return rules


def pattern_matches(pattern, number):
    """True if an Asterisk extension pattern ('_00Z.', '_NXXNXXXXXX', '1001') matches."""
    if not pattern.startswith("_"):
        return pattern == number
    body, pos = pattern[1:], 0
    i = 0
    while i < len(body):
        char = body[i]
        if char == ".":
            return pos < len(number)
        if char == "!":
            return True
        if pos >= len(number):
            return False
        if char in _ASTERISK_PATTERN_CLASSES:
            allowed = _ASTERISK_PATTERN_CLASSES[char]
        elif char == "[":
            end = body.index("]", i)
            allowed = _expand_class(body[i + 1:end])
            i = end
        else:
            allowed = char
        if number[pos] not in allowed:
            return False
        pos += 1
        i += 1
    return pos == len(number)


def _expand_class(spec):
    chars, i = "", 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            chars += "".join(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            chars += spec[i]
            i += 1
    return chars


def _specificity(pattern):
    """Sort key: Asterisk prefers literal characters early in the pattern."""
    key = []
    for char in pattern[1:]:
        key.append(0 if char.isdigit() or char in "+*#" else 1)
    return key


def apply_rules(number, rules):
    """E.164 digits of a number by the most specific matching rule, or None."""
    matching = [r for r in rules if pattern_matches(r["pattern"], number)]
    if not matching:
        return None
    rule = sorted(matching, key=lambda r: _specificity(r["pattern"]))[0]
    return rule["prepend"] + number[rule["strip"]:]


def normalise(number, rules, outside_line=""):
    """All E.164 readings of a dialed number (with and without the outside-line digit).

    Both readings are kept because the PBX's routes decide which one applies; the guard
    judges by the worst one.
    """
    readings = []
    variants = [number]
    if outside_line and number.startswith(outside_line):
        variants.append(number[len(outside_line):])
    for variant in variants:
        e164 = apply_rules(variant, rules)
        if e164 and e164 not in readings:
            readings.append(e164)
    return readings


# ---------------------------------------------------------------------------------------------
# Emergency numbers
# ---------------------------------------------------------------------------------------------
def emergency_numbers(site_country, extra=()):
    """Short numbers (up to 4 digits) libphonenumber calls emergency for the site, plus extra."""
    region_metadata(site_country)
    found = set()
    for length in range(2, 5):
        for digits in itertools.product("0123456789", repeat=length):
            candidate = "".join(digits)
            if shortnumberinfo.is_emergency_number(candidate, site_country.upper()):
                found.add(candidate)
    for number in extra or ():
        number = str(number)
        if not _DIGITS.match(number):
            raise PolicyError("emergency number %r must be digits only" % (number,))
        found.add(number)
    return sorted(found, key=lambda n: (len(n), n))


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
            region_metadata(value)
        except PolicyError as exc:
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


def longest_prefix(table, number):
    """Value of the longest key of table that number starts with, or None."""
    for length in range(len(number), 0, -1):
        if number[:length] in table:
            return table[number[:length]]
    return None


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


def compile_policy(params):
    """Validate the role's policy variables and compile the data the dialplan needs.

    params keys (role variable names without the 'toll_fraud_guard_' prefix):
    site_country, outside_line, international_prefixes, blocked_countries,
    allowed_countries, blocked_prefixes, block_premium_rate, rates, default_price_per_minute,
    max_price_per_minute, budgets {pbx_day, pbx_month, endpoint_day, endpoint_month, optional
    national_day},
    max_call_seconds, min_call_seconds, max_concurrent_calls, endpoint_max_concurrent_calls,
    calls_per_minute, endpoint_calls_per_minute, emergency_numbers, internal_patterns,
    burst_calls, burst_window, business_hours, block_on_alert, alert_webhook_url, alert_destinations,
    budget_national (refuse national calls for budget too), trunks (trunk names),
    trunk_max_concurrent_calls (int or {trunk: int}).
    """
    _require_phonenumbers()
    site = str(params.get("site_country") or "").strip().upper()
    try:
        site_code = calling_code(site)
    except PolicyError as exc:
        raise PolicyError("voipguard_site_country: %s" % exc)

    outside_line = str(params.get("outside_line") or "")
    if outside_line and not _DIGITS.match(outside_line):
        raise PolicyError("toll_fraud_guard_outside_line must be digits, got %r" % outside_line)

    blocked_countries = _iso_list(params.get("blocked_countries"),
                                  "toll_fraud_guard_blocked_countries")
    allowed_countries = _iso_list(params.get("allowed_countries"),
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
    blocked_prefixes = _prefix_list(params.get("blocked_prefixes"),
                                    "toll_fraud_guard_blocked_prefixes")

    rates = parse_rates(params.get("rates"))
    default_price = money_to_millicents(params.get("default_price_per_minute", 0),
                                        "toll_fraud_guard_default_price_per_minute")
    max_price = money_to_millicents(params.get("max_price_per_minute", 0),
                                    "toll_fraud_guard_max_price_per_minute")
    if default_price > max_price:
        raise PolicyError("toll_fraud_guard_default_price_per_minute (%s) is above "
                          "toll_fraud_guard_max_price_per_minute (%s): every unpriced call "
                          "would be refused" % (params.get("default_price_per_minute"),
                                                params.get("max_price_per_minute")))

    budgets_in = params.get("budgets") or {}
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

    emergency = emergency_numbers(site, params.get("emergency_numbers"))
    internal_patterns = []
    for pattern in params.get("internal_patterns") or ():
        pattern = str(pattern)
        if not (_PATTERN.match(pattern) or _DIGITS.match(pattern)) or pattern in ("_.", "_!"):
            raise PolicyError("toll_fraud_guard_internal_patterns: %r is not an Asterisk "
                              "extension pattern like _1XXX" % pattern)
        if pattern.startswith("_") and ("." in pattern or "!" in pattern):
            raise PolicyError("toll_fraud_guard_internal_patterns: %r has no fixed length; "
                              "internal patterns must not match arbitrary numbers" % pattern)
        internal_patterns.append(pattern)

    intl = params.get("international_prefixes") or None
    rules = dialing_rules(site, intl)

    # Destination table: every country prefix, blocked prefix, premium prefix and rate prefix
    # becomes one row with its effective country, block reason and price (longest prefix wins).
    countries = all_country_prefixes()
    # A territory whose numbers libphonenumber gives to another country (EH to MA, CX to CC)
    # has no range to block: refusing it silently would block nothing.
    without_range = [c for c in blocked_countries if c not in set(countries.values())]
    if without_range:
        raise PolicyError("toll_fraud_guard_blocked_countries: %s" % "; ".join(
            "%s has no number range of its own (libphonenumber counts its numbers as %s's); block %s"
            % (c, phonenumbers.region_code_for_country_code(int(calling_code(c))),
               phonenumbers.region_code_for_country_code(int(calling_code(c))))
            for c in without_range))
    premium = []
    if params.get("block_premium_rate", True):
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

    burst_calls = _positive_int(params.get("burst_calls", 5), "toll_fraud_guard_burst_calls")
    burst_window = _positive_int(params.get("burst_window", 600), "toll_fraud_guard_burst_window")
    max_call_seconds = _positive_int(params.get("max_call_seconds", 3600),
                                     "toll_fraud_guard_max_call_seconds")
    min_call_seconds = _positive_int(params.get("min_call_seconds", 30),
                                     "toll_fraud_guard_min_call_seconds")
    if min_call_seconds > max_call_seconds:
        raise PolicyError("toll_fraud_guard_min_call_seconds is above "
                          "toll_fraud_guard_max_call_seconds")

    trunks = sorted(set(str(t) for t in params.get("trunks") or ()))
    caps = trunk_caps(trunks, params.get("trunk_max_concurrent_calls"))

    webhook = params.get("alert_webhook_url") or ""
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
        "budget_national_calls": bool(params.get("budget_national", False)),
        "max_call_seconds": max_call_seconds,
        "min_call_seconds": min_call_seconds,
        "concurrency": {
            "pbx": _positive_int(params.get("max_concurrent_calls", 4),
                                 "toll_fraud_guard_max_concurrent_calls"),
            "endpoint": _positive_int(params.get("endpoint_max_concurrent_calls", 2),
                                      "toll_fraud_guard_endpoint_max_concurrent_calls"),
            "trunks": caps,
        },
        "trunks": trunks,
        "calls_per_minute": {
            "pbx": _positive_int(params.get("calls_per_minute", 10),
                                 "toll_fraud_guard_calls_per_minute"),
            "endpoint": _positive_int(params.get("endpoint_calls_per_minute", 4),
                                      "toll_fraud_guard_endpoint_calls_per_minute"),
        },
        "alerts": {
            "budget_percent": [80, 100],
            "burst_calls": burst_calls,
            "burst_window": burst_window,
            "business_hours": parse_business_hours(params.get("business_hours")),
            "block_on_alert": bool(params.get("block_on_alert", False)),
            "webhook": bool(webhook),
            # Every place the alerts go (Apprise URLs, the role's toll_fraud_guard_alert_destinations).
            "destinations": _positive_int(params.get("alert_destinations") or 0, "alert_destinations", minimum=0),
        },
        "emergency_numbers": emergency,
        "internal_patterns": internal_patterns,
        "unknown_form_min_digits": UNKNOWN_FORM_MIN_DIGITS,
        "dialing_rules": rules,
        "destinations": destinations,
    }


def classify(policy, number):
    """Python reference of the dialplan's decision, for tests and the audit.

    Returns {'verdict': 'emergency'|'internal'|'blocked'|'allowed', 'reason', 'readings',
    'country', 'price'}.
    """
    if number in policy["emergency_numbers"]:
        return {"verdict": "emergency", "reason": "", "readings": [], "country": "", "price": 0}
    if not re.match(r"^[0-9A-Za-z+*#.]+$", number):
        return {"verdict": "blocked", "reason": "characters", "readings": [], "country": "",
                "price": 0}
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
    table = {d["prefix"]: d for d in policy["destinations"]}
    readings = normalise(number, policy["dialing_rules"], policy["outside_line"])
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
