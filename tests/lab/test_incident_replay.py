"""The incident, replayed against the hardened lab PBX.

An intruder with valid credentials for 1001 places 150 calls to Zimbabwe (+263) and Somalia
(+252), in every dialing form of the site. The calls come from the phones' network (`admin`),
where a compromised phone would sit, so that the firewall lets them in and the toll-fraud guard
alone has to stop them.
"""
import time

import pytest

from conftest import (MESSAGES_LOG, carrier_records, cost_in_euros, harden, log_length, log_lines_since,
                      place_calls, reset_guard_state)

# 150 calls, split over the dialing forms of a German site (international prefix 00, and +).
INCIDENT_CALLS = {
    "+263771234567": 38,
    "00263771234567": 37,
    "+252612345678": 38,
    "00252612345678": 37,
}


def pbx_log_lines(pbx, pattern, since_line):
    return [line for line in log_lines_since(pbx, MESSAGES_LOG, since_line) if pattern in line]


def test_incident_replay_reaches_the_carrier_zero_times(lab):
    pbx, phone, carrier = lab("pbx"), lab("admin"), lab("carrier")
    recorded_before = len(carrier_records(carrier))
    log_before = log_length(pbx, MESSAGES_LOG)
    placed = 0
    for number, calls in INCIDENT_CALLS.items():
        placed += place_calls(phone, "1001", number, calls, rate=20, hold_ms=500)["placed"]
    time.sleep(1)
    assert placed == 150
    reached = carrier_records(carrier)[recorded_before:]
    assert reached == [], f"{len(reached)} incident calls reached the carrier"
    # Each call was stopped by the destination rule, not by some other limit.
    blocked = pbx_log_lines(pbx, "voipguard: blocked call endpoint=1001", log_before)
    assert sum("reason=country" in line for line in blocked) == 150, blocked[-3:]


def harden_toll_fraud_guard(inventory, **extra_vars):
    result = harden(inventory, tags="toll_fraud_guard", extra_vars=extra_vars)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.fixture(scope="module")
def five_euro_cap_policy(lab, lab_inventory):
    """The incident's destinations allowed, a EUR 5 daily cap, and no other limit in the way,
    so that the budget alone has to stop the spend. Set once for the tests that need it (each
    starts with no spend), and the lab's policy restored after the last of them. Calls last at
    most 30 s: 20 of them to Somalia could cost EUR 9.50, so the cap has to hold."""
    pbx = lab("pbx")
    harden_toll_fraud_guard(lab_inventory,
                            toll_fraud_guard_blocked_countries=[],
                            toll_fraud_guard_budgets={"pbx_day": 5, "pbx_month": 100, "endpoint_day": 5, "endpoint_month": 100},
                            toll_fraud_guard_max_call_seconds=30, toll_fraud_guard_min_call_seconds=10,
                            toll_fraud_guard_max_concurrent_calls=50, toll_fraud_guard_endpoint_max_concurrent_calls=50,
                            toll_fraud_guard_calls_per_minute=100, toll_fraud_guard_endpoint_calls_per_minute=100,
                            toll_fraud_guard_burst_calls=1000)
    yield
    reset_guard_state(pbx)
    harden_toll_fraud_guard(lab_inventory)


@pytest.fixture()
def destinations_allowed_with_a_five_euro_cap(lab, five_euro_cap_policy):
    reset_guard_state(lab("pbx"))


def test_a_five_euro_cap_holds_with_twenty_calls_at_once(lab, destinations_allowed_with_a_five_euro_cap):
    phone, carrier = lab("admin"), lab("carrier")
    recorded_before = len(carrier_records(carrier))
    # 20 calls at once to Somalia (EUR 0.95/min), each held longer than the PBX allows.
    counters = place_calls(phone, "1001", "+252612345678", 20, rate=100, hold_ms=45000, parallel=20)
    time.sleep(2)
    reached = carrier_records(carrier)[recorded_before:]
    assert counters["placed"] == 20
    assert reached, "no call reached the carrier: the cap test proves nothing"
    assert cost_in_euros(reached) <= 5.0
    # Nothing was left for more calls: the budget is spent, not merely unused.
    assert cost_in_euros(reached) >= 4.0


def test_national_and_emergency_calls_complete_with_the_budget_exhausted(
        lab, destinations_allowed_with_a_five_euro_cap):
    pbx, phone = lab("pbx"), lab("admin")
    day = pbx.check_output("date +%Y%m%d")
    # Exhaust today's budget as a day of calls would have.
    pbx.check_output(f"asterisk -rx 'database put voipguard/spend/day/{day} pbx 1000000'")
    assert place_calls(phone, "1001", "+252612345678", 1)["answered"] == 0
    assert place_calls(phone, "1001", "030123456", 1)["answered"] == 1
    assert place_calls(phone, "1001", "112", 1)["answered"] == 1
