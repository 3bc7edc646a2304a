# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Numbering: calling codes, territories' number ranges, dialing forms and emergency numbers.

Facts about telephone numbers, apart from any policy about them (module_utils/dial_policy.py).
Every fact comes from libphonenumber's metadata (the ``phonenumbers`` package), never from a
hand-made table, so shared codes (+1 NANP, +7 RU/KZ, +44 GB/GG/IM/JE, +212 MA/EH) resolve to the
ranges libphonenumber itself gives each territory.
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

try:
    import phonenumbers
    from phonenumbers import PhoneMetadata, shortnumberinfo
    HAS_PHONENUMBERS = True
    PHONENUMBERS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_PHONENUMBERS = False
    PHONENUMBERS_IMPORT_ERROR = exc

NON_GEO_REGION = "001"

# How deep a territory's leading digits are expanded into prefixes (VA's 06698 needs 5).
_LEADING_DIGITS_DEPTH = 6

_ASTERISK_PATTERN_CLASSES = {"X": "0123456789", "Z": "123456789", "N": "23456789"}
_DIGITS = re.compile(r"^[0-9]+$")


class NumberingError(ValueError):
    """A question about numbers that libphonenumber cannot answer (unknown region, bad digits)."""


def _require_phonenumbers():
    if not HAS_PHONENUMBERS:
        raise NumberingError("the phonenumbers Python package is required on the controller: %s"
                          % PHONENUMBERS_IMPORT_ERROR)


# ---------------------------------------------------------------------------------------------
# Calling codes and country prefixes
# ---------------------------------------------------------------------------------------------
def region_metadata(iso):
    """Metadata of a region, or NumberingError for an unknown ISO code."""
    _require_phonenumbers()
    code = str(iso or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise NumberingError("unknown ISO country code %r (libphonenumber knows %d regions)"
                          % (iso, len(phonenumbers.SUPPORTED_REGIONS)))
    return PhoneMetadata.metadata_for_region(code)


def calling_code(iso):
    """The country calling code of an ISO region as a string, e.g. 'ZW' -> '263'."""
    return str(region_metadata(iso).country_code)


def _digit_strings(pattern, limit):
    """Every digit string a pattern of libphonenumber matches as a whole, cut to `limit` digits.

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
                    raise NumberingError("unsupported digits pattern %r" % pattern)
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
        raise NumberingError("unsupported digits pattern %r" % pattern)

    return sequence(list(_sre_parse.parse(pattern)))


def _leading_digit_strings(pattern, limit):
    """The digit strings a leading-digits pattern matches, a shorter one covering its extensions."""
    found = _digit_strings(pattern, limit)
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
    # The same tails for every prefix: made once, not once per prefix (10,000 of them).
    tails = sorted(set(tail for n in possible_lengths if n > depth for tail in _sample_completions(n - depth)))
    prefixes = []
    for digits in itertools.product("0123456789", repeat=depth):
        prefix = "".join(digits)
        if any(regex.match(prefix + tail) for tail in tails):
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
        return _compress_prefixes(_leading_digit_strings(meta.leading_digits, _LEADING_DIGITS_DEPTH))
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


try:  # computed ahead of time (scripts/country-prefix-table.py): the probing takes seconds
    from ansible.module_utils.country_prefix_table import COUNTRY_PREFIXES as _PRECOMPUTED
    from ansible.module_utils.country_prefix_table import PHONENUMBERS_VERSION as _PRECOMPUTED_FOR
except ImportError:  # pragma: no cover
    _PRECOMPUTED, _PRECOMPUTED_FOR = None, None

_COUNTRY_TABLE_CACHE = {}


def all_country_prefixes():
    """{e164_prefix: ISO} for every region libphonenumber knows (non-geographic codes as '001'):
    the precomputed table when it was made from this phonenumbers version, else computed."""
    _require_phonenumbers()
    if "table" not in _COUNTRY_TABLE_CACHE:
        if _PRECOMPUTED is not None and _PRECOMPUTED_FOR == getattr(phonenumbers, "__version__", None):
            _COUNTRY_TABLE_CACHE["table"] = dict(_PRECOMPUTED)
        else:
            _COUNTRY_TABLE_CACHE["table"] = compute_country_prefixes()
    return dict(_COUNTRY_TABLE_CACHE["table"])


def compute_country_prefixes():
    """all_country_prefixes() from libphonenumber's metadata itself."""
    _require_phonenumbers()
    table = {}
    for code, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        for region in regions:
            if region == NON_GEO_REGION:
                table[str(code)] = NON_GEO_REGION
                continue
            for prefix in country_prefixes(region):
                table.setdefault(prefix, region)
    return table


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
        raise NumberingError("no international prefix known for %s; set "
                          "toll_fraud_guard_international_prefixes" % iso)
    return sorted(found)


def dialing_rules(site_country, international=None):
    """Rules that turn what a phone dials into E.164 digits.

    Each rule: {'pattern': Asterisk extension pattern, 'strip': n, 'prepend': digits,
    'form': name}. The dialplan applies them with Asterisk's own pattern matching, where the
    most specific pattern wins; normalise() below does the same in Python.
    An outside-line digit is not a rule: normalise() reads a number without it (see there).
    Local numbers dialed without the area code are rules only where the operator says so
    (local_number_rules()).
    """
    meta = region_metadata(site_country)
    code = str(meta.country_code)
    rules = [{"form": "plus", "pattern": "_+Z.", "strip": 1, "prepend": ""}]
    for prefix in international or international_prefixes(site_country):
        if not _DIGITS.match(str(prefix)):
            raise NumberingError("international prefix %r must be digits" % (prefix,))
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
    for pattern in toll_free_short_number_patterns(site_country):
        rules.append({"form": "toll-free short", "pattern": pattern, "strip": 0, "prepend": code})
    return rules


def local_number_rules(site_country, area_code, min_digits):
    """Rules for local numbers dialed without the area code (0531 1234567 dialed as 1234567 at
    a Braunschweig office), of the lengths libphonenumber knows for fixed lines in that area,
    from min_digits on (shorter strings stay extensions and service codes).

    A local number whose digits a carrier taking E.164 numbers without "+" could read as an
    international number (2901234: St Helena, 263771234567: Zimbabwe) is read as that number
    instead, so a blocked destination is refused; it is priced as that number too, which is
    the dearer reading unless a rate makes that destination cheaper than a national call.
    Raises NumberingError for an area code the site's numbering does not have.
    """
    code = calling_code(site_country)
    area = str(area_code)
    lengths = local_number_lengths(site_country, area, min_digits)
    rules = [{"form": "local", "pattern": "_Z" + "X" * (length - 1), "strip": 0, "prepend": code + area}
             for length in lengths]
    rules.extend({"form": "local, readable as international", "pattern": pattern, "strip": 0,
                  "prepend": ""} for pattern in international_reading_patterns(lengths))
    return rules


def area_code_in_prefix(site_country, prefix, min_digits):
    """The area code in digits a route puts before local numbers - the national prefix and the
    area code (0531 in Germany, 1212 in New York), or the country code with "+" or an
    international prefix before it (+49531, 0049531) - or None when they are no area code
    libphonenumber knows for fixed lines of min_digits or more."""
    meta = region_metadata(site_country)
    code, national = str(meta.country_code), meta.national_prefix or ""
    heads = ["+" + code] + [prefix_ + code for prefix_ in international_prefixes(site_country)]
    heads += [national] if national else []
    for head in heads:
        if prefix.startswith(head) and len(prefix) > len(head):
            try:
                local_number_lengths(site_country, prefix[len(head):], min_digits)
            except NumberingError:
                continue
            return prefix[len(head):]
    return None


def local_number_lengths(site_country, area_code, min_digits):
    """Lengths of the subscriber numbers libphonenumber accepts as fixed lines in the area, from
    min_digits on: a few sample numbers of each length, as its patterns are ranges, not lists.
    Raises NumberingError for an area code the site's numbering does not have."""
    meta = region_metadata(site_country)
    region, code, national = site_country.upper(), str(meta.country_code), meta.national_prefix or ""
    area = str(area_code)
    if not _DIGITS.match(area):
        raise NumberingError("area code %r must be digits" % (area_code,))
    if national and area.startswith(national):
        raise NumberingError("area code %s: give it without the national prefix %s (%s)"
                             % (area, national, area[len(national):] or "?"))
    fixed = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    lengths = []
    for length in range(min_digits, 16 - len(area)):
        for sample in (first + rest * (length - 1) for first in "23456789" for rest in "05291"):
            number = phonenumbers.parse("+" + code + area + sample)
            if phonenumbers.is_valid_number_for_region(number, region) and \
                    phonenumbers.number_type(number) in fixed:
                lengths.append(length)
                break
    if not lengths:
        raise NumberingError("%s has no fixed-line numbers of %d or more digits in area code %s "
                             "(libphonenumber)" % (region, min_digits, area))
    return lengths


def toll_free_short_number_patterns(site_country):
    """Asterisk patterns of the site's toll-free short numbers, from libphonenumber's short-number
    metadata: the EU's 116xxx helplines (116117, 116123) are _116XXX at a German site. They read
    as national numbers; before, those of 5 or more digits matched no rule and were refused as a
    form nobody understood."""
    meta = PhoneMetadata.short_metadata_for_region(site_country.upper())
    desc = meta.toll_free if meta is not None else None
    if desc is None or not desc.national_number_pattern:
        return []
    whole = re.compile(desc.national_number_pattern)
    longest = max(desc.possible_length or meta.general_desc.possible_length or (6,))
    # Left out, and so refused as a form nobody understands: one whose digits a carrier that takes
    # E.164 numbers without "+" would read as an international number (none is, today).
    numbers = sorted(n for n in _digit_strings(desc.national_number_pattern, longest)
                     if whole.fullmatch(n) and not readable_as_international(n))
    return ["_" + pattern for pattern in asterisk_patterns(numbers)]


def readable_as_international(digits):
    """True when the digits, read as an E.164 number without "+", could be a phone number."""
    length = len(digits)
    if length not in _READABLE_PATTERNS_BY_LENGTH:
        _READABLE_PATTERNS_BY_LENGTH[length] = international_reading_patterns([length])
    return any(pattern_matches(pattern, digits) for pattern in _READABLE_PATTERNS_BY_LENGTH[length])


_INTERNATIONAL_READING_CACHE = {}
_READABLE_PATTERNS_BY_LENGTH = {}


def international_reading_patterns(lengths):
    """Asterisk patterns of the digit strings of these lengths that a carrier taking E.164
    numbers without "+" could read as an international number: a calling code, perhaps that
    country's national prefix (+33 0601..., which carriers tolerate), then as many digits as
    its numbers have. Local-only lengths are left out: such numbers cannot be reached from abroad."""
    _require_phonenumbers()
    if not _INTERNATIONAL_READING_CACHE:
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
            lengths_of_code, prefixes = set(), {""}
            for region in regions:
                meta = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
                if meta is None:
                    continue
                lengths_of_code.update(meta.general_desc.possible_length or ())
                prefixes.add(meta.national_prefix or "")
            if lengths_of_code:
                _INTERNATIONAL_READING_CACHE[str(code)] = (sorted(prefixes), lengths_of_code)
    patterns = set()
    for code, (prefixes, national_lengths) in _INTERNATIONAL_READING_CACHE.items():
        for prefix in prefixes:
            for length in lengths:
                rest = length - len(code) - len(prefix)
                if rest in national_lengths:
                    patterns.add("_" + code + prefix + "X" * rest)
    return sorted(patterns, key=lambda p: (len(p), p))


def asterisk_patterns(numbers):
    """Asterisk pattern bodies (digits and X) that match exactly these digit strings:
    a position where every digit follows the same prefix and completions becomes X."""
    patterns = []
    for length in sorted(set(len(n) for n in numbers)):
        patterns.extend(_patterns_of(sorted(set(n for n in numbers if len(n) == length))))
    return patterns


def _patterns_of(numbers):
    """Patterns for equal-length digit strings."""
    if not numbers or not numbers[0]:
        return [""] if numbers else []
    by_first = {}
    for number in numbers:
        by_first.setdefault(number[0], []).append(number[1:])
    tails = dict((digit, tuple(_patterns_of(rest))) for digit, rest in by_first.items())
    if len(tails) == 10 and len(set(tails.values())) == 1:
        return ["X" + tail for tail in tails["0"]]
    return [digit + tail for digit in sorted(tails) for tail in tails[digit]]


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


def after_outside_line(number, outside_line):
    """The number without the outside line it starts with, or None (no outside line, or the
    number does not start with it)."""
    return number[len(outside_line):] if outside_line and number.startswith(outside_line) else None


def normalise(number, rules, outside_line="", as_dialed_too=False):
    """The E.164 readings of a dialed number.

    A number that starts with the outside line is read without it: the phones' routes strip it
    before the trunk. as_dialed_too reads it as dialed as well (the guard then judges by the
    worse reading), for a PBX whose routes strip the outside line from some numbers and dial
    others as they are, where only Asterisk's choice of route says which reading reaches the
    trunk. Read as dialed, the outside line 0 of a German office makes every national number
    international: 0 0531... (Braunschweig) would be +53 (Cuba).
    """
    readings = []
    stripped = after_outside_line(number, outside_line)
    variants = [number]
    if stripped is not None:
        variants = [number, stripped] if as_dialed_too else [stripped]
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
            raise NumberingError("emergency number %r must be digits only" % (number,))
        found.add(number)
    return sorted(found, key=lambda n: (len(n), n))


# ---------------------------------------------------------------------------------------------


def longest_prefix(table, number):
    """Value of the longest key of table that number starts with, or None."""
    for length in range(len(number), 0, -1):
        if number[:length] in table:
            return table[number[:length]]
    return None


def region_code_for_calling_code(code):
    """The main region of a calling code: '212' -> 'MA', '61' -> 'AU'."""
    _require_phonenumbers()
    return phonenumbers.region_code_for_country_code(int(code))
