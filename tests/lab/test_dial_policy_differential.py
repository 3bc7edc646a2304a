"""One decision, two implementations, equal: hundreds of dial strings go through the Python
policy (dial_policy.classify) and through the guard's dialplan in the lab's real Asterisk 22, and
both must give the same verdict (and, for a refusal, the same reason).

The strings cover every dialing form (international with 00/011 and +, national, local codes,
an outside-line digit, forms no rule reads), every block (countries, satellite and network
codes, premium rate, feature codes, characters) and allow case, internal extensions, names with
digits, and the emergency numbers. Limits and budgets are set out of reach: they are not part of
the verdict classify() computes, and they have their own tests (test_toll_fraud_dialplan.py).
"""
import base64
import re
import time

import phonenumbers
import pytest

from test_toll_fraud_dialplan import (  # noqa: F401  (pbx: the fixture that restores the PBX's files)
    BASE_POLICY, CONF, LOG, OPERATOR_DIALPLAN, dial_policy, pbx, render)

# Calls straight into the guard's check, then log its verdict (a refusal logs its own line).
# On the trunk leg (VOIPGUARD_TRUNK_LEG=1, as voipguard-egress sets it) the check judges what the
# carrier would get.
VERDICT_CONTEXT = r"""
[vgdiff]
exten => _[0-9A-Za-z+*#.]!,1,Set(VOIPGUARD_ENDPOINT=1001)
 same => n,Set(VOIPGUARD_TRUNK_LEG=%s)
 same => n,Set(VOIPGUARD_DIALED=${EXTEN})
 same => n,Gosub(voipguard-check,s,1)
 same => n,Log(NOTICE,vgdiff: dialed=${EXTEN} verdict=${VOIPGUARD_VERDICT} country=${VOIPGUARD_COUNTRY} price=${VOIPGUARD_PRICE})
 same => n,Hangup()
"""
OUT_OF_REACH = {
    "budgets": {"pbx_day": 100000, "pbx_month": 1000000, "endpoint_day": 100000, "endpoint_month": 1000000},
    "max_concurrent_calls": 10000, "endpoint_max_concurrent_calls": 10000,
    "calls_per_minute": 100000, "endpoint_calls_per_minute": 100000,
    "burst_calls": 100000, "burst_window": 60, "rates": [{"prefix": "49", "price_per_minute": 0.02},
                                                         {"prefix": "4915", "price_per_minute": 0.12}],
}
POLICIES = {
    "DE": dict(OUT_OF_REACH, site_country="DE"),
    # A German office's outside line 0: a number after it is read without it.
    "DE, outside line 0": dict(OUT_OF_REACH, site_country="DE", outside_line="0"),
    # A Braunschweig office whose phones dial local numbers without the area code 0531.
    "DE, local numbers in 531, outside line 0": dict(OUT_OF_REACH, site_country="DE", outside_line="0",
                                                     local_area_code="531"),
    "DE, local numbers in 531": dict(OUT_OF_REACH, site_country="DE", local_area_code="531"),
    # Routes that strip the 9 beside routes that do not, without the trunk leg: read both ways.
    "US, outside line 9, read both ways": dict(OUT_OF_REACH, site_country="US", outside_line="9",
                                               outside_line_as_dialed_too=True,
                                               rates=[{"prefix": "1", "price_per_minute": 0.01}]),
}
# The guard as the role renders it with its default trunk boundary (the lab's trunk "carrier").
BOUNDARY = {"egress": {"endpoint": "voipguard-egress"},
            "trunks": [{"name": "carrier", "endpoint": "carrier", "copy_endpoint": "voipguard-trunk-carrier"}]}


def example_numbers():
    """E.164 digits of libphonenumber's example numbers: every region, fixed line and mobile."""
    out = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.add("%d%d" % (number.country_code, number.national_number))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            out.add("%d%d" % (number.country_code, number.national_number))
    return sorted(out)


def dial_strings(site, outside_line="", local_area_code=""):
    """What phones dial at a site, in every form."""
    if local_area_code:
        return local_dial_strings(site, outside_line)
    if outside_line:
        return outside_line_dial_strings(site, outside_line)
    e164 = example_numbers()
    international = ["00"] if site == "DE" else ["011"]
    strings = set()
    for index, number in enumerate(e164):
        strings.add(international[0] + number)
        if index % 3 == 0:
            strings.add("+" + number)
        if index % 7 == 0:
            strings.add(number)                    # no international prefix at all
            strings.add("9" + international[0] + number)  # an outside line the policy may not know
    if site == "DE":
        strings.update(["030123456", "0301234567", "015112345678", "0891234567", "09001234567",
                        "0180512345", "011263771234567", "00+263771234567", "0.0.2.6.3.7.7.1.2.3.4",
                        "OO263771234567", "11833", "116117", "116123", "116000", "1001", "1234", "110", "112",
                        "0112"])
    else:
        strings.update(["2125551234", "12125551234", "912125551234", "92125551234", "9011263771234567",
                        "19005551234", "911", "9911", "933", "988", "611", "9988", "1001", "5551234", "95551234"])
    strings.update(["*21#", "#31#", "*99", "alice", "bob2", "room12345", "a.b", "12", "999", "000"])
    return sorted(strings)


def outside_line_dial_strings(site, outside_line):
    """A quarter of the site's strings as dialed without the outside line, and the outside line
    before international numbers in both forms, national numbers whose reading as dialed would be
    international (0 0531..., Braunschweig, as +53), service numbers and emergency numbers."""
    strings = set(s for index, s in enumerate(dial_strings(site)) if index % 4 == 0)
    for index, number in enumerate(example_numbers()):
        if index % 4 == 1:
            strings.add(outside_line + "00" + number)
        if index % 12 == 3:
            strings.add(outside_line + "+" + number)
    strings.update(outside_line + national for national in (
        "05311234567", "03711234567", "0881123456", "0882112345", "02631123456", "02521123456",
        "0301234567", "015112345678", "09001234567", "0180512345", "0800123456", "112", "110", "116117"))
    strings.update(["112", "110", "1001", "1234", "*21#", "#31#", "alice", "room12345", "a.b", "12"])
    return sorted(strings)


def local_dial_strings(site, outside_line):
    """A third of the site's strings (with the outside line), local numbers of every length from
    4 to 13 digits and every first digit, and international numbers without any prefix: at a site
    with local numbers, a local reading unless a carrier could read them as international."""
    strings = set(s for index, s in enumerate(dial_strings(site, outside_line)) if index % 3 == 0)
    for length in range(4, 14):
        for first in "123456789":
            strings.add(outside_line + (first + "7350912846" * 2)[:length])
    for index, number in enumerate(example_numbers()):
        if index % 2 == 0:
            strings.add(outside_line + number)
    strings.update(outside_line + number for number in (
        "5551234", "2901234", "263771234567", "441234567890", "4930123456", "330601395601", "112", "116117"))
    strings.update(["1001", "1234", "*21#", "alice"])
    return sorted(strings)


class GuardHost:
    def __init__(self, host):
        self.host = host

    def put(self, name, text):
        self.host.check_output("echo %s | base64 -d > %s/%s" % (base64.b64encode(text.encode()).decode(), CONF, name))

    def verdicts(self, policy_params, strings, trunk_leg=False):
        self.put("extensions.conf", OPERATOR_DIALPLAN + VERDICT_CONTEXT % ("1" if trunk_leg else ""))
        self.put("extensions_voipguard.conf", render(policy_params, boundary=BOUNDARY))
        self.host.check_output("chmod 0644 %s/extensions.conf %s/extensions_voipguard.conf" % (CONF, CONF))
        self.host.check_output("asterisk -rx 'dialplan reload'")
        self.host.run("asterisk -rx 'database deltree voipguard'")
        self.put("vgdiff.list", "\n".join(strings) + "\n")
        offset = int(self.host.check_output("stat -c %%s %s" % LOG))
        # One originate per string, from a script on the PBX: bounded by the list, paced a little.
        self.host.check_output(
            "while IFS= read -r n; do asterisk -rx \"channel originate Local/$n@vgdiff application Wait 1\" "
            ">/dev/null 2>&1; done < %s/vgdiff.list" % CONF)
        found = {}
        for _ in range(40):
            text = self.host.check_output("tail -c +%d %s" % (offset + 1, LOG))
            for match in re.finditer(r"vgdiff: dialed=(\S+) verdict=(\S*) country=(\S*) price=(\S*)", text):
                # Where a call goes and what it costs count only for a call that goes.
                found[match.group(1)] = (match.group(2), "") + (
                    (match.group(3), int(match.group(4))) if match.group(2) == "allowed" else ())
            for match in re.finditer(r"voipguard: blocked call endpoint=(?:1001|trunk-leg) dialed=(\S*) .*? reason=(\S+)", text):
                found[match.group(1)] = ("blocked", match.group(2))
            if len(found) >= len(strings):
                break
            time.sleep(0.5)
        self.host.run("rm -f %s/vgdiff.list" % CONF)
        return found


@pytest.mark.parametrize("site, leg", [("DE", "phone"), ("DE, outside line 0", "phone"),
                                       ("US, outside line 9, read both ways", "phone"), ("DE", "trunk leg"),
                                       ("DE, local numbers in 531, outside line 0", "phone"),
                                       ("DE, local numbers in 531", "trunk leg")])
def test_python_and_dialplan_agree_on_every_dial_string(pbx, site, leg):  # pylint: disable=redefined-outer-name
    params = POLICIES[site]
    policy = dial_policy.compile_policy(dict(BASE_POLICY, **params))
    # The US strings hold the outside line 9 in their own forms already.
    strings = dial_strings(params["site_country"], params.get("outside_line", "") if site.startswith("DE") else "",
                           params.get("local_area_code", ""))
    assert len(strings) >= 250
    trunk_leg = leg == "trunk leg"
    dialplan = GuardHost(pbx).verdicts(params, strings, trunk_leg)  # render() adds BASE_POLICY itself
    expected = {}
    for dialed in strings:
        verdict = dial_policy.classify(policy, dialed, trunk_leg=trunk_leg)
        expected[dialed] = (verdict["verdict"], verdict["reason"] if verdict["verdict"] == "blocked" else "") + (
            (verdict["country"], verdict["price"]) if verdict["verdict"] == "allowed" else ())
    missing = [s for s in strings if s not in dialplan]
    assert not missing, "no verdict from the dialplan for %d strings, e.g. %s" % (len(missing), missing[:5])
    differ = ["%s: python %s, dialplan %s" % (s, expected[s], dialplan[s]) for s in strings if expected[s] != dialplan[s]]
    assert not differ, "%d of %d differ:\n%s" % (len(differ), len(strings), "\n".join(differ[:30]))
    kinds = set(v[0] for v in expected.values())
    reasons = set(v[1] for v in expected.values() if v[1])
    if trunk_leg:
        # Nothing is internal on the trunk leg; what is not digits is refused, never read.
        assert kinds == {"allowed", "blocked", "emergency"}, kinds
        assert {"country", "prefix", "unknown-form", "characters"} <= reasons, reasons
    else:
        assert kinds == {"allowed", "blocked", "emergency", "internal"}, kinds
        assert {"country", "prefix", "unknown-form", "feature-code"} <= reasons, reasons

