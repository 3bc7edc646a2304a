"""Calling codes, dialing forms, emergency numbers and policy validation (module_utils/dial_policy)."""
import pytest

from ansible.module_utils.dial_policy import (
    PolicyError, classify, compile_policy, local_area_code_from_routes, money_to_millicents, parse_rates,
    plan_endpoints)
from ansible.module_utils.numbering import (
    NumberingError, after_outside_line, all_country_prefixes, area_code_in_prefix, asterisk_patterns, calling_code,
    country_prefixes, dialing_rules, emergency_numbers, international_prefixes, international_reading_patterns,
    local_number_rules, longest_prefix, normalise, pattern_matches, readable_as_international,
    toll_free_short_number_patterns)
from tests.role_defaults import compiled_policy_params, role_defaults


def policy(**overrides):
    params = compiled_policy_params(**{
        "site_country": "DE",
        "blocked_countries": ["SO", "ZW", "CU", "LV", "LT", "JM", "KZ"],
        "blocked_prefixes": ["881", "882", "883"],
        "rates": [{"prefix": "49", "price_per_minute": 0.02},
                  {"prefix": "44", "price_per_minute": "1.50"}],
        "default_price_per_minute": 0.5,
        "max_price_per_minute": 1,
        "budgets": {"pbx_day": 20, "pbx_month": 200, "endpoint_day": 5, "endpoint_month": 50},
        "internal_patterns": ["_1XXX"],
    })
    params.update(overrides)
    return compile_policy(params)


@pytest.fixture(scope="module")
def de_policy():
    return policy()


@pytest.mark.parametrize("iso, code", [("ZW", "263"), ("SO", "252"), ("DE", "49"),
                                       ("JM", "1"), ("KZ", "7"), ("RU", "7"), ("cu", "53")])
def test_calling_codes_come_from_metadata(iso, code):
    assert calling_code(iso) == code


def test_nanp_caribbean_has_area_codes_not_all_of_plus_one():
    assert "1876" in country_prefixes("JM")
    assert "1" not in country_prefixes("JM")
    assert country_prefixes("US") == ["1"]
    assert "1416" in country_prefixes("CA")  # Toronto, found by probing CA's patterns


def test_shared_plus_seven():
    assert country_prefixes("RU") == ["7"]
    assert all(p.startswith("7") and len(p) > 1 for p in country_prefixes("KZ"))
    table = all_country_prefixes()
    assert longest_prefix(table, "77011234567") == "KZ"
    assert longest_prefix(table, "74951234567") == "RU"
    assert longest_prefix(table, "18765551234") == "JM"
    assert longest_prefix(table, "12125551234") == "US"
    assert longest_prefix(table, "8821234567") == "001"


def test_unknown_iso_code_is_refused():
    with pytest.raises(NumberingError, match="unknown ISO country code 'XX'"):
        calling_code("XX")
    with pytest.raises(PolicyError, match="voipguard_site_country: unknown ISO country code 'XX'"):
        policy(site_country="XX")


@pytest.mark.parametrize("site, prefixes", [("DE", ["00"]), ("US", ["011"]), ("RU", ["810"])])
def test_international_prefixes(site, prefixes):
    assert international_prefixes(site) == prefixes


def test_international_prefix_regex_is_expanded():
    assert "0011" in international_prefixes("AU")


@pytest.mark.parametrize("dialed, outside, readings", [
    ("00263771234567", "", ["263771234567"]),
    ("+263771234567", "", ["263771234567"]),
    ("030123456", "", ["4930123456"]),
    ("1001", "", []),
    # A German office's outside line 0: a number that starts with it is read without it, the
    # digits the routes send to the trunk. 0 00263... is Zimbabwe, 0 0531... Braunschweig.
    ("000263771234567", "0", ["263771234567"]),
    ("00263771234567", "0", ["49263771234567"]),
    ("00531123456", "0", ["49531123456"]),
    ("0030123456", "0", ["4930123456"]),
    ("9030123456", "9", ["4930123456"]),
])
def test_normalise_de(dialed, outside, readings):
    assert normalise(dialed, dialing_rules("DE"), outside) == readings


@pytest.mark.parametrize("dialed, outside, rest", [
    ("000263771234567", "0", "00263771234567"),
    ("9911", "9", "911"),
    ("9", "9", ""),
    ("8911", "9", None),
    ("0112", "", None),
])
def test_after_outside_line(dialed, outside, rest):
    # The one strip that the phone's reading and its emergency check share.
    assert after_outside_line(dialed, outside) == rest


@pytest.mark.parametrize("dialed, outside, readings", [
    # Routes that strip the outside line beside routes that do not: both readings, the worse counts.
    ("000263771234567", "0", ["263771234567"]),
    ("00263771234567", "0", ["263771234567", "49263771234567"]),
    ("0030123456", "0", ["30123456", "4930123456"]),
    ("9030123456", "9", ["4930123456"]),
])
def test_normalise_de_as_dialed_too(dialed, outside, readings):
    assert normalise(dialed, dialing_rules("DE"), outside, as_dialed_too=True) == readings


@pytest.mark.parametrize("dialed, outside, readings", [
    ("011263771234567", "", ["263771234567"]),
    ("+18765551234", "", ["18765551234"]),
    ("18765551234", "", ["18765551234"]),
    ("2125551234", "", ["12125551234"]),
    ("9011263771234567", "9", ["263771234567"]),
    ("918765551234", "9", ["18765551234"]),
    ("92125551234", "9", ["12125551234"]),
])
def test_normalise_us(dialed, outside, readings):
    assert normalise(dialed, dialing_rules("US"), outside) == readings


def test_toll_free_short_numbers_are_a_dialing_form_of_their_own():
    # libphonenumber's short-number data: the EU's 116xxx helplines, toll-free at a German site.
    assert "_116XXX" in toll_free_short_number_patterns("DE")
    assert "_988" in toll_free_short_number_patterns("US")
    # A short number a carrier could take for an international number would be left out.
    assert readable_as_international("4930123456") and readable_as_international("263771234567")
    assert not readable_as_international("116117") and not readable_as_international("1258885")
    # As long as the region's own lengths say (AU has 7 digits).
    assert "_1258885" in toll_free_short_number_patterns("AU")
    de = policy()
    for helpline in ("116117", "116123", "116000"):
        assert classify(de, helpline)["verdict"] == "allowed", helpline
        assert classify(de, helpline, trunk_leg=True)["verdict"] == "allowed", helpline
    assert classify(policy(outside_line="0"), "0116117")["verdict"] == "allowed"
    # Directory enquiries (118xx) are no toll-free short number: still a form no rule reads.
    assert classify(de, "11833")["reason"] == "unknown-form"
    assert classify(de, "116")["readings"] == []


@pytest.mark.parametrize("numbers", [
    ["116%03d" % n for n in range(1000)] + ["110", "112"],
    ["15", "17", "3000", "3001", "3099", "33700"],
    ["1200", "1201", "1202", "1203", "1204", "1205", "1206", "1207", "1208"],
])
def test_asterisk_patterns_match_exactly_the_numbers_they_were_made_of(numbers):
    patterns = ["_" + body for body in asterisk_patterns(numbers)]
    assert len(patterns) <= len(numbers)
    # Every string of each length that shares its first two digits with a number, and a sample of
    # the rest.
    heads = set(n[:2] for n in numbers)
    for length in set(len(n) for n in numbers):
        candidates = set(head + "%0*d" % (length - 2, n) for head in heads for n in range(10 ** (length - 2)))
        candidates.update("%0*d" % (length, n) for n in range(0, 10 ** length, max(1, 10 ** length // 500)))
        for candidate in candidates:
            assert any(pattern_matches(p, candidate) for p in patterns) == (candidate in numbers), candidate


def test_pattern_matching_like_asterisk():
    assert pattern_matches("_00Z.", "00263")
    assert not pattern_matches("_00Z.", "000263")
    assert not pattern_matches("_00Z.", "002")
    assert pattern_matches("_NXXNXXXXXX", "2125551234")
    assert not pattern_matches("_NXXNXXXXXX", "1125551234")
    assert pattern_matches("_[1-3]XX", "299")
    assert pattern_matches("1001", "1001")


def test_emergency_numbers_from_short_number_metadata():
    assert {"110", "112"} <= set(emergency_numbers("DE"))
    assert {"911", "112"} <= set(emergency_numbers("US"))
    assert "19222" in emergency_numbers("DE", ["19222"])
    with pytest.raises(NumberingError):
        emergency_numbers("DE", ["11a"])
    with pytest.raises(PolicyError, match="emergency number '11a' must be digits only"):
        policy(emergency_numbers=["11a"])


@pytest.mark.parametrize("dialed", ["112", "110"])
def test_emergency_never_blocked_even_in_a_closed_allow_list(dialed):
    closed = policy(blocked_countries=[], allowed_countries=["DE"], blocked_prefixes=["1"],
                    budgets={"pbx_day": 0, "pbx_month": 0, "endpoint_day": 0,
                             "endpoint_month": 0}, internal_patterns=["_1XX"])
    assert classify(closed, dialed)["verdict"] == "emergency"


def test_us_emergency():
    us = policy(site_country="US", rates=[], blocked_countries=["SO", "ZW"])
    assert classify(us, "911")["verdict"] == "emergency"
    # No outside line set: no rule reads 9-011-263..., so it is refused, not waved through.
    assert classify(us, "9011263771234567")["reason"] == "unknown-form"
    us9 = policy(site_country="US", rates=[], blocked_countries=["SO", "ZW"], outside_line="9")
    assert classify(us9, "911")["verdict"] == "emergency"
    assert classify(us9, "9011263771234567")["reason"] == "country"


def test_routes_that_strip_the_outside_line_from_some_numbers_only_read_both_ways():
    both = policy(outside_line="0", outside_line_as_dialed_too=True)
    assert classify(both, "005311234567")["reason"] == "country"
    assert classify(both, "000263771234567")["reason"] == "country"
    assert classify(both, "0112")["verdict"] == "emergency"


def test_the_trunk_leg_reads_the_carriers_digits_with_no_outside_line_to_strip():
    de0 = policy(outside_line="0")
    assert classify(de0, "112", trunk_leg=True)["verdict"] == "emergency"
    # "0112" reaches the carrier only through a route that keeps the 0: no emergency call there.
    assert classify(de0, "0112", trunk_leg=True)["verdict"] == "allowed"
    assert classify(de0, "05311234567", trunk_leg=True)["country"] == "DE"
    assert classify(de0, "00263771234567", trunk_leg=True)["reason"] == "country"


def test_an_emergency_number_after_the_outside_line_is_an_emergency_call():
    us9 = policy(site_country="US", rates=[], blocked_countries=["SO", "ZW"], outside_line="9",
                 budgets={"pbx_day": 0, "pbx_month": 0, "endpoint_day": 0, "endpoint_month": 0})
    assert classify(us9, "9911")["verdict"] == "emergency"
    assert classify(us9, "9112")["verdict"] == "emergency"
    assert classify(us9, "99112")["verdict"] != "emergency"


# The rows with outside line "0": a German office's. Read as dialed, every national number
# after it would be an international one, and some of those are blocked: Braunschweig
# (0531) as Cuba (+53), Chemnitz (0371) as Latvia (+371), Weilheim (0881) and
# Garmisch-Partenkirchen (08821) as satellite codes (+881, +882). The routes strip the 0, so each
# is the national call it is.
@pytest.mark.parametrize("outside_line, dialed, verdict, reason, country", [
    ("", "00263771234567", "blocked", "country", "ZW"),
    ("", "+252612345678", "blocked", "country", "SO"),
    ("", "0018765551234", "blocked", "country", "JM"),
    ("", "0012125551234", "allowed", "", "US"),
    ("", "0077011234567", "blocked", "country", "KZ"),
    ("", "0074951234567", "allowed", "", "RU"),
    ("", "00881612345678", "blocked", "prefix", "001"),
    ("", "00441234567890", "blocked", "price", "GB"),
    ("", "09001234567", "blocked", "premium-rate", "DE"),
    ("", "030123456", "allowed", "", "DE"),
    ("", "1001", "internal", "", ""),
    ("", "voicemail", "internal", "", ""),
    ("", "500&PJSIP/x", "blocked", "characters", ""),
    ("", "*6700263771", "blocked", "feature-code", ""),
    ("0", "005311234567", "allowed", "", "DE"),
    ("0", "003711234567", "allowed", "", "DE"),
    ("0", "00881123456", "allowed", "", "DE"),
    ("0", "0088211234", "allowed", "", "DE"),
    ("0", "000263771234567", "blocked", "country", "ZW"),
    ("0", "0+263771234567", "blocked", "country", "ZW"),
    ("0", "009001234567", "blocked", "premium-rate", "DE"),
    ("0", "0112", "emergency", "", ""),
    ("0", "0110", "emergency", "", ""),
    ("0", "112", "emergency", "", ""),
    ("0", "1001", "internal", "", ""),
])
def test_classify(de_policy, outside_line, dialed, verdict, reason, country):
    result = classify(policy(outside_line=outside_line) if outside_line else de_policy, dialed)
    assert (result["verdict"], result["reason"]) == (verdict, reason), result
    if country:
        assert result["country"] == country


@pytest.fixture(scope="module")
def braunschweig():
    """A Braunschweig office (0531) whose phones dial local numbers without the area code, and 0
    for an outside line."""
    return policy(local_area_code="531", outside_line="0")


@pytest.mark.parametrize("dialed, verdict, reason, country, price", [
    # Local numbers: national calls in area code 531, at the national price.
    ("05551234", "allowed", "", "DE", 2000),
    ("0123456", "allowed", "", "DE", 2000),
    ("021234567890", "allowed", "", "DE", 2000),
    # Digits a carrier taking E.164 numbers without "+" could read as an international number
    # are judged as that number: Zimbabwe (blocked), St Helena (unpriced: the maximum price),
    # the UK (priced 1.50 > the maximum 1.00: refused), Germany itself (its own price).
    ("0263771234567", "blocked", "country", "ZW", None),
    ("02901234", "allowed", "", "SH", 100000),
    ("0441234567890", "blocked", "price", "GB", None),
    ("04930123456", "allowed", "", "DE", 2000),
    # What was there before stays: national, international and emergency forms, extensions.
    ("005311234567", "allowed", "", "DE", 2000),
    ("000263771234567", "blocked", "country", "ZW", None),
    ("0112", "emergency", "", "", None),
    ("1001", "internal", "", "", None),
    # Too long for a local number there: no rule reads it.
    ("05551234567890", "blocked", "unknown-form", "", None),
])
def test_local_numbers_dialed_without_the_area_code(braunschweig, dialed, verdict, reason, country, price):
    result = classify(braunschweig, dialed)
    assert (result["verdict"], result["reason"]) == (verdict, reason), result
    if country:
        assert result["country"] == country, result
    if price is not None:
        assert result["price"] == price, result


def test_local_numbers_without_the_area_code_are_refused_unless_the_operator_names_it(de_policy, braunschweig):
    assert classify(de_policy, "5551234")["reason"] == "unknown-form"
    assert classify(braunschweig, "5551234")["readings"] == ["495315551234"]
    # The trunk leg reads the carrier's digits by the same rules.
    assert classify(braunschweig, "5551234", trunk_leg=True)["country"] == "DE"
    assert classify(braunschweig, "263771234567", trunk_leg=True)["reason"] == "country"


@pytest.mark.parametrize("site, prefix, area", [
    ("DE", "0531", "531"), ("DE", "+49531", "531"), ("DE", "0049531", "531"), ("DE", "08821", "8821"),
    ("US", "1212", "212"), ("US", "+1212", "212"), ("US", "0111212", "212"),
    # No area code: a country code alone, a carrier's tech prefix, one libphonenumber does not know.
    ("DE", "+49", None), ("DE", "0", None), ("DE", "0999", None), ("DE", "1234", None), ("US", "1555", None),
])
def test_the_area_code_in_the_digits_a_route_puts_before_local_numbers(site, prefix, area):
    assert area_code_in_prefix(site, prefix, 5) == area


def test_the_area_code_of_local_numbers_is_read_from_the_routes():
    where = ["[from-internal] _0ZXXXXX. (extensions.conf:2)"]
    assert local_area_code_from_routes({"0531": where}, "DE") == ("531", None)
    assert local_area_code_from_routes({"0531": where, "+49531": where, "+49": where}, "DE") == ("531", None)
    assert local_area_code_from_routes({}, "DE") == ("", None)
    assert local_area_code_from_routes({"+49": where}, "DE") == ("", None)
    area, why = local_area_code_from_routes({"0531": where, "0511": ["[office2] _ZXXXXX. (x:9)"]}, "DE")
    assert area == "" and "different area codes" in why and "511 in [office2]" in why and "531 in" in why


@pytest.mark.parametrize("site, area, local_patterns", [
    ("DE", "531", ["_ZXXXX", "_ZXXXXX", "_ZXXXXXX", "_ZXXXXXXX", "_ZXXXXXXXX", "_ZXXXXXXXXX",
                   "_ZXXXXXXXXXX", "_ZXXXXXXXXXXX"]),
    ("US", "212", ["_ZXXXXXX"]),
    ("GB", "20", ["_ZXXXXXXX"]),
])
def test_local_number_lengths_come_from_libphonenumbers_fixed_lines(site, area, local_patterns):
    rules = local_number_rules(site, area, 5)
    assert [r["pattern"] for r in rules if r["form"] == "local"] == local_patterns
    assert all(r["prepend"] == calling_code(site) + area for r in rules if r["form"] == "local")


def test_every_example_number_is_readable_as_international_and_a_local_number_is_not():
    import phonenumbers
    examples = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.add("%d%d" % (number.country_code, number.national_number))
    # A few examples are older than their own region's lengths (225 with 9 digits): not possible.
    possible = [e for e in examples if phonenumbers.is_possible_number(phonenumbers.parse("+" + e))]
    assert len(possible) > 400
    assert [e for e in sorted(possible) if not readable_as_international(e)] == []
    assert not readable_as_international("5551234") and not readable_as_international("1234567")
    # A national prefix after the calling code, which carriers tolerate: +33 0601...
    assert "_330XXXXXXXXX" in international_reading_patterns([12])
    assert readable_as_international("330601395601")


def test_prices_in_millicents(de_policy):
    assert classify(de_policy, "030123456")["price"] == 2000
    # Foreign and not in the rate table: the maximum price (1 EUR), not the 0.50 default.
    assert classify(de_policy, "0012125551234")["price"] == 100000
    assert de_policy["budgets"]["pbx_day"] == 2000000


def test_allow_list_mode_adds_site_country():
    allow = policy(blocked_countries=[], allowed_countries=["AT"])
    assert allow["mode"] == "allow" and "DE" in allow["allowed_countries"]
    assert classify(allow, "0043123456789")["verdict"] == "allowed"
    assert classify(allow, "0012125551234")["reason"] == "country"
    assert classify(allow, "030123456")["verdict"] == "allowed"


@pytest.mark.parametrize("overrides, message", [
    ({"site_country": "XX"}, "voipguard_site_country: unknown ISO"),
    ({"blocked_countries": ["ZW", "QQ"]}, "toll_fraud_guard_blocked_countries: unknown ISO"),
    ({"allowed_countries": ["AT"]}, "not both"),
    ({"blocked_countries": ["DE"]}, "site country"),
    ({"budgets": {"pbx_day": -1, "pbx_month": 1, "endpoint_day": 1, "endpoint_month": 1}},
     "pbx_day must be a non-negative"),
    ({"budgets": {"pbx_day": 1, "pbx_month": 1, "endpoint_day": 1}}, "endpoint_month is required"),
    ({"budgets": {"pbx_day": 1, "pbx_month": 1, "endpoint_day": 1, "endpoint_month": 1,
                  "weekly": 3}}, "unknown keys weekly"),
    ({"budgets": {"pbx_day": 1, "pbx_month": 1, "endpoint_day": 1, "endpoint_month": 1,
                  "national_day": "lots"}}, "national_day"),
    ({"rates": [{"prefix": "49"}]}, r"rates\[0\] must be a dict"),
    ({"rates": [{"prefix": "4 9", "price_per_minute": 1}]}, "not an E.164 digit prefix"),
    ({"rates": [{"prefix": "49", "price_per_minute": "cheap"}]}, "amount in EUR"),
    ({"rates": [{"prefix": "49", "price_per_minute": 1},
                {"prefix": "+49", "price_per_minute": 2}]}, "listed twice"),
    ({"rates": "49=0.1"}, "must be a list"),
    ({"default_price_per_minute": 2}, "above toll_fraud_guard_max_price_per_minute"),
    ({"outside_line": "9a"}, "outside_line must be digits"),
    ({"local_area_code": "0531"}, "toll_fraud_guard_local_area_code: area code 0531: give it without the national prefix 0"),
    ({"local_area_code": "999"}, "toll_fraud_guard_local_area_code: DE has no fixed-line numbers"),
    ({"local_area_code": "53 1"}, "toll_fraud_guard_local_area_code: area code '53 1' must be digits"),
    ({"internal_patterns": ["_X."]}, "no fixed length"),
    ({"internal_patterns": ["1001;Dial"]}, "not an Asterisk extension pattern"),
    ({"business_hours": {"time": "8-18", "days": "mon-fri"}}, "08:00-18:00"),
    ({"business_hours": {"time": "08:00-18:00", "days": "mon-fry"}}, "'fry'"),
    ({"alert_webhook_url": "https://x.example/a,b"}, "http\\(s\\) URL"),
    ({"max_call_seconds": 0}, "max_call_seconds must be >= 1"),
    ({"blocked_prefixes": ["26x"]}, "not an E.164 digit prefix"),
    ({"trunks": ["carrier"], "trunk_max_concurrent_calls": {"backup": 2}},
     "names backup, not in voipguard_trunks \\(carrier\\)"),
    ({"trunks": ["carrier"], "trunk_max_concurrent_calls": -1},
     "trunk_max_concurrent_calls.carrier must be >= 0"),
    ({"trunks": ["carrier"], "trunk_max_concurrent_calls": {"carrier": "two"}},
     "trunk_max_concurrent_calls.carrier must be an integer"),
    ({"trunks": ["carrier"], "trunk_max_concurrent_calls": True}, "must be an integer"),
    ({"trunks": ["car rier"], "trunk_max_concurrent_calls": 2}, "trunk name 'car rier'"),
])
def test_bad_input_is_refused_clearly(overrides, message):
    with pytest.raises(PolicyError, match=message):
        policy(**overrides)


def test_money():
    assert money_to_millicents("0.02", "x") == 2000
    assert money_to_millicents(1028, "x") == 102800000
    assert money_to_millicents("0.000001", "x") == 1  # rounds up: never under-price
    with pytest.raises(PolicyError):
        money_to_millicents(True, "x")
    assert parse_rates([{"prefix": "+263", "price_per_minute": 0.9}]) == {"263": 90000}


def test_plan_endpoints_skips_trunks_and_exempt_and_undoes_guard():
    plan = plan_endpoints({"1001": "from-internal", "1002": "voipguard-guard-from-internal",
                           "carrier": "from-carrier", "lobby": "from-internal"},
                          trunk_endpoints=["carrier"], exempt_endpoints=["lobby"])
    assert plan == {"1001": "from-internal", "1002": "from-internal"}
    with pytest.raises(PolicyError):
        plan_endpoints({"1001": "bad context"})


def test_national_calls_not_refused_for_budget_by_default(de_policy):
    assert de_policy["budget_national_calls"] is False
    assert policy(budget_national=True)["budget_national_calls"] is True


@pytest.mark.parametrize("caps, expected", [
    ({}, {}), (None, {}), (0, {}),
    (3, {"backup": 3, "carrier": 3}),
    ({"carrier": 2}, {"carrier": 2}),
    ({"carrier": 2, "backup": 0}, {"carrier": 2}),
])
def test_trunk_caps(caps, expected):
    # a trunk name the guard could not use matters only once the trunk is capped
    assert policy(trunks=["car rier"])["concurrency"]["trunks"] == {}
    compiled = policy(trunks=["carrier", "backup"], trunk_max_concurrent_calls=caps)
    assert compiled["concurrency"]["trunks"] == expected
    assert compiled["trunks"] == ["backup", "carrier"]


# -- territories that share a calling code: libphonenumber's own ranges decide ----------------

@pytest.mark.parametrize("number, region", [
    ("212612345678", "MA"),   # a Moroccan mobile, not Western Sahara
    ("590690123456", "GP"),   # a Guadeloupe mobile, not Saint-Barthelemy
    ("61412345678", "AU"),    # an Australian mobile, not the Cocos Islands
    ("61891621234", "CC"),    # the Cocos Islands' own fixed range
    ("3906698123", "VA"),     # the Vatican, inside +39
    ("447781123456", "GG"),   # Guernsey mobiles, inside +44
    ("4930123456", "DE"),
])
def test_shared_calling_codes_follow_libphonenumber(number, region):
    import phonenumbers  # pylint: disable=import-outside-toplevel
    assert longest_prefix(all_country_prefixes(), number) == region
    assert phonenumbers.region_code_for_number(phonenumbers.parse("+" + number)) == region


def test_blocking_morocco_blocks_its_mobiles_and_allowing_australia_allows_its_mobiles():
    blocked = policy(blocked_countries=["MA"])
    assert classify(blocked, "00212612345678")["reason"] == "country"
    allowed = policy(blocked_countries=[], allowed_countries=["AU"])
    assert classify(allowed, "0061412345678")["verdict"] == "allowed"
    assert classify(allowed, "0061891621234")["reason"] == "country"  # the Cocos Islands are not AU


def test_blocking_the_vatican_blocks_its_range_only():
    vatican = policy(blocked_countries=["VA"])
    assert country_prefixes("VA") == ["3906698"]
    assert classify(vatican, "00390669812345")["reason"] == "country"
    assert classify(vatican, "0039061234567")["verdict"] == "allowed"


def test_a_territory_without_a_range_of_its_own_is_refused_not_ignored():
    with pytest.raises(PolicyError, match="EH has no number range of its own.*block MA"):
        policy(blocked_countries=["EH"])


def test_satellite_and_international_network_codes_are_blocked_by_default():
    defaults = policy(blocked_prefixes=role_defaults("toll_fraud_guard")["toll_fraud_guard_blocked_prefixes"])
    for number in ("00870772123456", "008816123456", "00882161234567", "00883510012345", "00979123456789"):
        assert classify(defaults, number)["verdict"] == "blocked", number


def test_unpriced_foreign_destinations_count_at_the_maximum_price():
    priced = policy(rates=[{"prefix": "49", "price_per_minute": 0.02}], default_price_per_minute=0.05,
                    max_price_per_minute=0.80)
    assert classify(priced, "0049301234567")["price"] == money_to_millicents(0.02, "x")
    assert classify(priced, "00436641234567")["price"] == money_to_millicents(0.80, "x")  # AT, no rate
    assert classify(priced, "030123456")["price"] == money_to_millicents(0.02, "x")       # national, priced


@pytest.mark.parametrize("dialed", [
    "900263771234567",      # an outside-line digit the policy was not told about, then 00263...
    "263771234567",         # the calling code with no international prefix
    "00+263771234567",      # a plus after the international prefix
    "0.0.2.6.3.7.7.1.2.3",  # dots that the operator's FILTER() strips
    "OO263771234567",       # letters around digits
])
def test_number_forms_no_rule_reads_are_refused(de_policy, dialed):
    result = classify(de_policy, dialed)
    assert result["verdict"] == "blocked", result
    assert result["reason"] in ("unknown-form", "country", "characters"), result


def test_short_strings_and_names_stay_internal_or_local(de_policy):
    assert classify(de_policy, "1001")["verdict"] == "internal"
    assert classify(de_policy, "alice")["verdict"] == "internal"
    assert classify(de_policy, "a1b2")["verdict"] == "internal"
    assert classify(de_policy, "11833")["reason"] == "unknown-form"  # 5 digits, no rule reads it


def test_the_policy_has_no_defaults_of_its_own():
    # Every setting comes from the role (its argument_specs): a missing one is named, not guessed.
    params = compiled_policy_params()
    del params["max_call_seconds"], params["blocked_prefixes"]
    with pytest.raises(PolicyError, match="lacks blocked_prefixes, max_call_seconds"):
        compile_policy(params)


def test_the_role_defaults_compile_and_block_the_incident_destinations():
    compiled = compile_policy(compiled_policy_params())
    assert classify(compiled, "00263771234567")["verdict"] == "blocked"
    assert classify(compiled, "0087077123456")["reason"] == "prefix"
    assert classify(compiled, "030123456")["verdict"] == "allowed"


@pytest.mark.parametrize("dialed, phone, trunk_leg", [
    ("1001", "internal", "allowed"),  # 4 digits no rule reads: short, as a service code
    ("*60", ("blocked", "feature-code"), ("blocked", "characters")),
    ("00263.771234567", ("blocked", "country"), ("blocked", "characters")),
    ("+252612345678", ("blocked", "country"), ("blocked", "country")),
    ("112", "emergency", "emergency"),
])
def test_the_trunk_leg_judges_what_the_carrier_gets_with_nothing_internal(de_policy, dialed, phone, trunk_leg):
    def short(verdict):
        return verdict["verdict"] if verdict["verdict"] != "blocked" else ("blocked", verdict["reason"])
    assert short(classify(de_policy, dialed)) == phone
    assert short(classify(de_policy, dialed, trunk_leg=True)) == trunk_leg


def test_the_precomputed_country_table_is_libphonenumbers_own():
    # scripts/country-prefix-table.py wrote it; were phonenumbers upgraded without regenerating,
    # numbering would compute afresh (the table names its version), and this test would say so.
    import phonenumbers  # pylint: disable=import-outside-toplevel
    from ansible.module_utils import country_prefix_table, numbering  # pylint: disable=import-outside-toplevel
    assert country_prefix_table.PHONENUMBERS_VERSION == phonenumbers.__version__, "regenerate the table"
    assert country_prefix_table.COUNTRY_PREFIXES == numbering.compute_country_prefixes()
    assert all_country_prefixes() == country_prefix_table.COUNTRY_PREFIXES
