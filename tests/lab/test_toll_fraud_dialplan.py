"""The toll-fraud guard's generated dialplan, run by a real Asterisk 22.

Calls are Local channels originated into the guard context, routed by a tiny operator dialplan
whose outbound route dials whatever is dialed (the incident's mistake) to a simulated carrier.
What the guard decided is read from Asterisk's own log (messages.log) and AstDB.

Run against the lab PBX (default, through the lab inventory) or any throwaway container:
    VOIPGUARD_TF_HOST=podman://h4-test .venv/bin/pytest tests/lab/test_toll_fraud_dialplan.py
The test replaces extensions.conf and extensions_voipguard.conf while it runs and restores
both afterwards; the trunk tests also add a loopback trunk to pjsip.conf (restored too). It
deletes the AstDB tree voipguard/ (spend state). Lab PBX only.
"""
import base64
import os
import re
import time
from pathlib import Path

import jinja2
import pytest
import testinfra

from ansible.module_utils import dial_policy
from tests.role_defaults import compiled_policy_params, role_defaults

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = role_defaults("toll_fraud_guard")

CONF = "/etc/asterisk"
LOG = "/var/log/asterisk/messages.log"
GUARD = "voipguard-guard-from-internal"

# The operator's dialplan: internal extensions, and the incident route "dial anything".
OPERATOR_DIALPLAN = r"""[general]
static=yes
writeprotect=no

[from-internal]
exten => _1XXX,1,Log(NOTICE,vgtest: internal ${EXTEN} reached)
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()
exten => _X.,1,Dial(Local/${EXTEN}@carrier-sim,,${VOIPGUARD_DIAL_LIMIT})
 same => n,Hangup()
exten => _+X.,1,Dial(Local/${EXTEN}@carrier-sim)
 same => n,Hangup()
; France goes out through a real PJSIP trunk (TRUNK_PJSIP, a loop back into carrier-sim).
exten => _0033X.,1,Dial(PJSIP/${EXTEN}@vgtest-trunk,,${VOIPGUARD_DIAL_LIMIT})
 same => n,Log(NOTICE,vgtest: trunk dial ended ${EXTEN} status=${DIALSTATUS})
 same => n,Hangup()

; Simulated carrier: answers everything; UK and French numbers talk for 20 s, the rest for 2 s.
[carrier-sim]
exten => _[0-9+].,1,Answer()
 same => n,Log(NOTICE,vgtest: carrier answered ${EXTEN})
 same => n,Wait(${IF($["${EXTEN:0:4}" = "0044" | "${EXTEN:0:4}" = "0033"]?20:2)})
 same => n,Hangup()

; Phones as the guard sees them: the endpoint name would come from CHANNEL(endpoint).
[vgtest-1001]
exten => _[0-9+*#A-Za-z]!,1,Set(VOIPGUARD_ENDPOINT=1001)
 same => n,Goto(voipguard-guard-from-internal,${EXTEN},1)
[vgtest-1002]
exten => _[0-9+*#A-Za-z]!,1,Set(VOIPGUARD_ENDPOINT=1002)
 same => n,Goto(voipguard-guard-from-internal,${EXTEN},1)

; The best-practices example of a second leg hidden in the extension.
[vgtest-inject]
exten => s,1,Set(VOIPGUARD_ENDPOINT=1001)
 same => n,Goto(voipguard-guard-from-internal,500&Local/00263771234567@carrier-sim,1)

#include extensions_voipguard.conf
"""

# A trunk whose channels are real PJSIP channels: its calls loop back to this Asterisk over
# 127.0.0.1 and arrive as endpoint vgtest-loop in carrier-sim. set_var is what the role adds.
TRUNK_PJSIP = """
; vgtest trunk (tests/lab/test_toll_fraud_dialplan.py)
[vgtest-trunk]
type = endpoint
context = carrier-sim
disallow = all
allow = ulaw
from_user = vgtest-trunk
aors = vgtest-trunk
set_var = GROUP(voipguard-trunk)=vgtrunk

[vgtest-trunk]
type = aor
contact = sip:127.0.0.1:5060

[vgtest-loop]
type = endpoint
context = carrier-sim
disallow = all
allow = ulaw

[vgtest-loop]
type = identify
endpoint = vgtest-loop
match = 127.0.0.1
"""

BASE_POLICY = compiled_policy_params(**{
    "site_country": "DE",
    "blocked_countries": DEFAULTS["toll_fraud_guard_blocked_countries"] + ["JM", "KZ"],
    "rates": [{"prefix": "49", "price_per_minute": 0.02},
              {"prefix": "1", "price_per_minute": 0.05},
              {"prefix": "44", "price_per_minute": 0.60}],
    "default_price_per_minute": 0.30,
    "max_price_per_minute": 1.00,
    "budgets": {"pbx_day": 50, "pbx_month": 500, "endpoint_day": 20, "endpoint_month": 200},
    "max_call_seconds": 3600,
    "min_call_seconds": 2,
    "max_concurrent_calls": 10,
    "endpoint_max_concurrent_calls": 10,
    "calls_per_minute": 100,
    "endpoint_calls_per_minute": 100,
    "burst_calls": 50,
    "burst_window": 600,
    "internal_patterns": ["_1XXX"],
    # Not the role's office hours: a test that wants them sets its own, so no verdict here
    # depends on the time of day the suite runs.
    "business_hours": None,
})


def render(overrides=None, webhook="", boundary=None):
    params = dict(BASE_POLICY)
    params.update(overrides or {})
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROOT / "roles" / "toll_fraud_guard" / "templates")),
        trim_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("extensions_voipguard.conf.j2").render(
        toll_fraud_guard_compiled=dial_policy.compile_policy(params),
        toll_fraud_guard_endpoint_plan={"1001": "from-internal", "1002": "from-internal"},
        toll_fraud_guard_alert_webhook_url=webhook, toll_fraud_guard_boundary=boundary)


@pytest.fixture(scope="module")
def pbx(request):
    spec = os.environ.get("VOIPGUARD_TF_HOST")
    if spec:
        host = testinfra.get_host(spec)
    else:
        host = request.getfixturevalue("lab")("pbx")
    saved = {}
    for name in ("extensions.conf", "extensions_voipguard.conf", "pjsip.conf"):
        out = host.run(f"base64 -w0 {CONF}/{name}")
        saved[name] = out.stdout if out.rc == 0 else None
    yield host
    for name, content in saved.items():
        if content is None:
            host.run(f"rm -f {CONF}/{name}")
        else:
            host.run(f"echo {content} | base64 -d > {CONF}/{name}")
    host.run("asterisk -rx 'dialplan reload'")
    host.run("asterisk -rx 'module reload res_pjsip.so'")
    host.run("asterisk -rx 'database deltree voipguard'")


class Guard:
    """Installs one policy and places calls through the guard."""

    def __init__(self, host):
        self.host = host

    def put(self, name, text):
        data = base64.b64encode(text.encode()).decode()
        self.host.check_output(f"echo {data} | base64 -d > {CONF}/{name}")

    def install(self, overrides=None, webhook=""):
        # Calls left up settle their reservations when hung up: that must happen before the
        # spend state is deleted below, or it lands in the next test's budget.
        self.host.run("asterisk -rx 'hangup request all'")
        deadline = time.time() + 10
        while time.time() < deadline and not re.search(
                r"^0 active channels", self.host.check_output("asterisk -rx 'core show channels count'"), re.M):
            time.sleep(0.2)
        self.put("extensions.conf", OPERATOR_DIALPLAN)
        self.put("extensions_voipguard.conf", render(overrides, webhook))
        self.host.check_output("chmod 0644 %s/extensions.conf %s/extensions_voipguard.conf"
                               % (CONF, CONF))
        self.host.check_output("asterisk -rx 'dialplan reload'")
        shown = self.host.check_output("asterisk -rx 'dialplan show voipguard-check'")
        assert "Gosub(voipguard-refuse" in shown, shown
        self.host.run("asterisk -rx 'database deltree voipguard'")

    def add_trunk(self):
        """Append the loopback trunk to pjsip.conf (restored by the pbx fixture)."""
        current = self.host.check_output(f"cat {CONF}/pjsip.conf")
        if "[vgtest-trunk]" not in current:
            self.put("pjsip.conf", current + "\n" + TRUNK_PJSIP)
        self.host.check_output("asterisk -rx 'module reload res_pjsip.so'")
        shown = self.host.check_output("asterisk -rx 'pjsip show endpoint vgtest-trunk'")
        assert re.search(r"GROUP\(voipguard-trunk\)\s+: vgtrunk", shown), shown

    def log_size(self):
        return int(self.host.check_output(f"stat -c %s {LOG}"))

    def log_since(self, offset):
        return self.host.check_output(f"tail -c +{offset + 1} {LOG}")

    def call(self, number, phone="1001", wait_for=None, timeout=8.0, background=False):
        """Originate a call from `phone`; return the log lines it produced."""
        offset = self.log_size()
        command = f"asterisk -rx 'channel originate Local/{number}@vgtest-{phone} application Wait 30'"
        if background:
            self.host.run(f"{command} >/dev/null 2>&1 &")
            return offset
        self.host.run(command)
        return self.wait(offset, wait_for or r"voipguard: (blocked|allowed|emergency)|vgtest: internal",
                         timeout)

    def wait(self, offset, pattern, timeout=8.0, count=1):
        """The log since offset once pattern occurs count times in it (or at the timeout).
        Counted with findall: a pattern repeated {count} times backtracks badly when it fails."""
        deadline = time.time() + timeout
        text = ""
        while time.time() < deadline:
            text = self.log_since(offset)
            if len(re.findall(pattern, text)) >= count:
                return text
            time.sleep(0.3)
        return text

    def db(self, key):
        out = self.host.run(f"asterisk -rx 'database get {key.rsplit('/', 1)[0]} {key.rsplit('/', 1)[1]}'")
        match = re.search(r"Value: (\S+)", out.stdout)
        return match.group(1) if match else None


@pytest.fixture()
def guard(pbx):
    g = Guard(pbx)
    g.install()
    return g


@pytest.mark.parametrize("dialed, country", [
    ("00263771234567", "ZW"),
    ("+252612345678", "SO"),
    ("0018765551234", "JM"),
    ("0077011234567", "KZ"),
    ("0053712345678", "CU"),
])
def test_blocked_countries_are_refused(guard, dialed, country):
    log = guard.call(dialed)
    pattern = rf"blocked call endpoint=1001 dialed={re.escape(dialed)} .*country={country} reason=country"
    assert re.search(pattern, log), log
    assert "carrier answered" not in log


@pytest.mark.parametrize("dialed, country", [
    ("0012125551234", "US"),   # +1 stays open although Jamaica (+1876) is blocked
    ("0074951234567", "RU"),   # +7 stays open although Kazakhstan (+77) is blocked
    ("030123456", "DE"),
    ("+4930123456", "DE"),
])
def test_allowed_destinations_reach_the_carrier(guard, dialed, country):
    log = guard.call(dialed, wait_for=r"carrier answered")
    assert re.search(rf"allowed call endpoint=1001 dialed={re.escape(dialed)} .*country={country}", log), log
    assert "carrier answered" in log


def test_international_networks_and_premium_rate(guard):
    assert "reason=prefix" in guard.call("00881612345678")
    assert "reason=premium-rate" in guard.call("09001234567")


@pytest.mark.parametrize("dialed", ["112", "110"])
def test_emergency_passes_even_with_no_budget_and_no_limits(pbx, dialed):
    g = Guard(pbx)
    g.install({"budgets": {"pbx_day": 0, "pbx_month": 0, "endpoint_day": 0, "endpoint_month": 0},
               "calls_per_minute": 1, "endpoint_calls_per_minute": 1,
               "max_concurrent_calls": 1, "endpoint_max_concurrent_calls": 1})
    for _ in range(3):
        log = g.call(dialed, wait_for=r"carrier answered")
        assert f"emergency call endpoint=1001 dialed={dialed}" in log, log
        assert "carrier answered" in log
    # the same PBX refuses a paid international call: there is no budget at all
    assert "reason=budget" in g.call("0012125551234")


def test_internal_extension_is_not_checked(guard):
    log = guard.call("1002")
    assert "vgtest: internal 1002 reached" in log
    assert "voipguard: blocked" not in log


def test_second_leg_in_the_extension_is_refused(guard):
    offset = guard.log_size()
    guard.host.run("asterisk -rx 'channel originate Local/s@vgtest-inject application Wait 5'")
    log = guard.wait(offset, r"voipguard: blocked")
    assert "reason=characters" in log, log
    assert "carrier answered" not in guard.log_since(offset)


def test_budget_cuts_the_call_and_settles_the_real_cost(pbx):
    g = Guard(pbx)
    # UK at 0.60 EUR/min, endpoint budget 0.05 EUR -> 5 seconds.
    g.install({"budgets": {"pbx_day": 50, "pbx_month": 500, "endpoint_day": 0.05,
                           "endpoint_month": 200}})
    offset = g.log_size()
    g.call("00441234567890", wait_for=r"settled call", timeout=15)
    log = g.wait(offset, r"settled call", timeout=15)
    assert re.search(r"allowed call endpoint=1001 .*country=GB price=60000 reserved=5000 seconds=5\b", log), log
    settled = re.search(r"settled call endpoint=1001 .*answered_ms=(\d+) cost=(\d+)", log)
    assert settled, log
    answered_ms, cost = int(settled.group(1)), int(settled.group(2))
    assert answered_ms <= 5500, "TIMEOUT(absolute) must end the call after 5 s"
    assert 0 < cost <= 5000
    day = time.strftime("%Y%m%d", time.gmtime())
    spent = g.host.check_output("asterisk -rx 'database show voipguard/spend/day'")
    assert f"/ep/1001" in spent and str(cost) in spent, spent
    # what is left is below min_call_seconds: the next call is refused with an alert
    log = g.call("00441234567890")
    assert "ALERT kind=budget-exhausted" in log and "reason=budget" in log, log
    # another phone has its own endpoint budget
    assert "allowed call endpoint=1002" in g.call("00441234567890", phone="1002")
    assert day  # the spend keys are per UTC/local day; see database show above


def test_parallel_calls_cannot_overshoot_the_budget(pbx):
    g = Guard(pbx)
    # PBX day budget 0.10 EUR at 0.60 EUR/min: the first call reserves it all (10 s).
    g.install({"budgets": {"pbx_day": 0.10, "pbx_month": 500, "endpoint_day": 20,
                           "endpoint_month": 200}})
    offset = g.log_size()
    for phone in ("1001", "1002", "1001"):
        g.call("00441234567890", phone=phone, background=True)
    log = g.wait(offset, r"voipguard: (?:allowed|blocked)", timeout=15, count=3)
    assert len(re.findall(r"voipguard: allowed call", log)) == 1, log
    assert len(re.findall(r"reason=budget", log)) == 2, log
    g.host.run("asterisk -rx 'hangup request all'")


def test_concurrent_calls_per_endpoint(pbx):
    g = Guard(pbx)
    # 600 s at 0.60 EUR/min reserves 6 EUR per call: three fit the 20 EUR endpoint budget,
    # so only the concurrency cap can refuse the third.
    g.install({"endpoint_max_concurrent_calls": 2, "max_call_seconds": 600})
    offset = g.log_size()
    for _ in range(3):
        g.call("00441234567890", background=True)
    log = g.wait(offset, r"voipguard: (?:allowed|blocked)", timeout=15, count=3)
    assert len(re.findall(r"voipguard: allowed call", log)) == 2, log
    assert "reason=concurrent-calls" in log, log
    g.host.run("asterisk -rx 'hangup request all'")


# The guard's lock (voipguard-lock: a GROUP whose only member holds it) under a real race: 16
# channels at once add 1 to one AstDB key, 20 ms between their read and their write. Half back
# off with Wait(), half try again at once as the hangup handler does. The same section without
# the lock, in the same run, must lose updates, or the race proved nothing.
LOCK_RACE = r"""
[vgtest-lockrace]
exten => _[wp],1,Gosub(voipguard-lock,s,1(${IF($["${EXTEN}" = "w"]?wait:spin)}))
 same => n,Set(held=${GOSUB_RETVAL})
 same => n,Set(n=$[0${DB(vgtest/race/locked)} + 1])
 same => n,Wait(0.02)
 same => n,Set(DB(vgtest/race/locked)=${n})
 same => n,Gosub(voipguard-unlock,s,1)
 same => n,Log(NOTICE,vgtest: race done held=${held} group=${GROUP(voipguard-lock)})
 same => n,Hangup()
exten => u,1,Set(n=$[0${DB(vgtest/race/unlocked)} + 1])
 same => n,Wait(0.2)
 same => n,Set(DB(vgtest/race/unlocked)=${n})
 same => n,Log(NOTICE,vgtest: race done held=none group=)
 same => n,Hangup()
"""


def test_the_guards_lock_lets_one_channel_at_a_time_through(pbx):
    g = Guard(pbx)
    g.install()
    g.put("extensions.conf", OPERATOR_DIALPLAN + LOCK_RACE)
    g.host.check_output("asterisk -rx 'dialplan reload'")
    g.host.run("asterisk -rx 'database deltree vgtest/race'")
    offset = g.log_size()
    originate = "asterisk -rx 'channel originate Local/{}@vgtest-lockrace application Wait 5' &"
    g.host.check_output(" ".join(originate.format(e) for e in "wpwpwpwpwpwpwpwpuuuuuuuuuuuuuuuu")
                        + " wait")
    deadline = time.time() + 20
    while time.time() < deadline:
        log = g.log_since(offset)
        done = re.findall(r"vgtest: race done held=(\S+) group=(\S*)", log)
        if len(done) >= 32:
            break
        time.sleep(0.5)
    assert len(done) == 32, log
    assert sorted(held for held, _ in done) == ["1"] * 16 + ["none"] * 16, done
    assert all(group == "" for _, group in done), "a channel kept the lock after unlocking"
    assert g.db("vgtest/race/locked") == "16"
    # Without the lock the same race loses updates: the test can tell a broken lock.
    assert int(g.db("vgtest/race/unlocked")) < 16
    g.host.run("asterisk -rx 'database deltree vgtest/race'")


def test_calls_per_minute(pbx):
    g = Guard(pbx)
    g.install({"endpoint_calls_per_minute": 2})
    results = [g.call("030123456") for _ in range(3)]
    # a minute boundary may reset the counter once; the third call is refused otherwise
    if "reason=calls-per-minute" not in results[2]:
        results.append(g.call("030123456"))
        results.append(g.call("030123456"))
    assert any("reason=calls-per-minute" in r for r in results[2:]), results


def test_burst_of_international_calls_alerts(pbx):
    g = Guard(pbx)
    g.install({"burst_calls": 2})
    first, second, third = (g.call("0012125551234") for _ in range(3))
    assert "ALERT kind=burst" not in first
    assert "ALERT kind=burst" in second and "allowed call" in second, second
    assert "ALERT kind=burst" not in third and "allowed call" in third, "alert once per window"


def test_burst_blocks_when_block_on_alert(pbx):
    g = Guard(pbx)
    g.install({"burst_calls": 2, "block_on_alert": True})
    first, second, third = (g.call("0012125551234") for _ in range(3))
    assert "allowed call" in first
    assert "ALERT kind=burst" in second and "reason=burst" in second, second
    assert "reason=burst" in third, third
    assert "reason=burst" not in g.call("030123456"), "national calls are not international"


def test_off_hours_international_call_alerts(pbx):
    g = Guard(pbx)
    hour = int(g.host.check_output("date +%H"))
    closed = "%02d:00-%02d:59" % ((hour + 6) % 24, (hour + 6) % 24)  # a window that is not now
    g.install({"business_hours": {"time": closed, "days": "mon-sun"}})
    log = g.call("0012125551234")
    assert "ALERT kind=off-hours" in log and "allowed call" in log, log
    assert "off-hours" not in g.call("030123456")
    g.install({"business_hours": {"time": closed, "days": "mon-sun"}, "block_on_alert": True})
    assert "reason=off-hours" in g.call("0012125551234")


def test_spend_state_is_in_astdb_and_resettable(guard):
    guard.call("030123456", wait_for=r"settled call")
    time.sleep(0.5)
    shown = guard.host.check_output("asterisk -rx 'database show voipguard'")
    assert "/voipguard/spend/day/" in shown and "/voipguard/spend/month/" in shown, shown
    day = re.search(r"/voipguard/spend/day/(\d{8})/", shown).group(1)
    guard.host.check_output(f"asterisk -rx 'database deltree voipguard/spend/day/{day}'")
    assert "/voipguard/spend/day/" not in guard.host.check_output(
        "asterisk -rx 'database show voipguard'")


NO_BUDGET = {"budgets": {"pbx_day": 0, "pbx_month": 0, "endpoint_day": 0, "endpoint_month": 0}}


def test_national_calls_complete_with_the_budget_exhausted(pbx):
    g = Guard(pbx)
    g.install(NO_BUDGET)
    offset = g.log_size()
    log = g.call("030123456", wait_for=r"carrier answered")
    assert re.search(r"allowed call endpoint=1001 dialed=030123456 .*country=DE .*reserved=0 ", log), log
    settled = g.wait(offset, r"settled call .*cost=\d+", timeout=10)
    cost = int(re.search(r"settled call endpoint=1001 .*cost=(\d+) released=0 reserved=0", settled).group(1))
    assert cost > 0, "a national call is still charged"
    assert g.db(f"voipguard/spend/day/{time.strftime('%Y%m%d')}/ep/1001") == str(cost)
    # international calls keep the budget; premium-rate national numbers stay blocked
    assert "reason=budget" in g.call("0012125551234")
    assert "reason=premium-rate" in g.call("09001234567")
    assert "emergency call" in g.call("112", wait_for=r"carrier answered")


def test_national_calls_have_their_own_daily_cap_and_112_passes_it(pbx):
    # The role's default: the international budgets do not stop national calls, their own
    # daily cap does. Within it a national call reserves there only, and is settled there.
    g = Guard(pbx)
    g.install(dict(NO_BUDGET, budgets=dict(NO_BUDGET["budgets"], national_day=1)))
    day = time.strftime("%Y%m%d")
    offset = g.log_size()
    log = g.call("030123456", wait_for=r"carrier answered")
    assert re.search(r"allowed call endpoint=1001 dialed=030123456 .*country=DE .*reserved=[1-9]\d* ", log), log
    settled = g.wait(offset, r"settled call .*cost=\d+", timeout=10)
    cost = int(re.search(r"settled call endpoint=1001 .*cost=(\d+) ", settled).group(1))
    # Charged in its own cap and in the PBX's spend; what it reserved is given back.
    assert cost > 0 and g.db(f"voipguard/spend/day/{day}/national") == str(cost)
    assert g.db(f"voipguard/spend/day/{day}/pbx") == str(cost)
    # The national cap spent: national calls are refused for budget, 112 still goes through.
    g.host.check_output(f"asterisk -rx 'database put voipguard/spend/day/{day} national 100000'")
    assert "reason=budget" in g.call("030123456")
    assert "emergency call" in g.call("112", wait_for=r"carrier answered")


def test_national_calls_refused_for_budget_when_enabled(pbx):
    g = Guard(pbx)
    g.install(dict(NO_BUDGET, budget_national=True))
    log = g.call("030123456")
    assert "ALERT kind=budget-exhausted" in log and "reason=budget" in log, log
    assert "carrier answered" not in log


def _up_calls(g, offset, count, timeout=15):
    return g.wait(offset, r"carrier answered 0033", timeout=timeout, count=count)


def test_trunk_cap_refuses_the_next_call_at_set_up(pbx):
    g = Guard(pbx)
    g.add_trunk()
    g.install({"trunks": ["vgtrunk"], "trunk_max_concurrent_calls": 2, "max_call_seconds": 600})
    offset = g.log_size()
    for _ in range(2):
        g.call("0033123456789", background=True)
        g.wait(offset, r"carrier answered 0033", timeout=10)
    log = _up_calls(g, offset, 2)
    assert len(re.findall(r"carrier answered 0033", log)) == 2, log
    groups = g.host.check_output("asterisk -rx 'group show channels'")
    assert len(re.findall(r"vgtrunk\s+voipguard-trunk", groups)) == 2, groups
    log = g.call("0033123456789")
    assert "reason=trunk-concurrent-calls" in log, log
    # the cap counts trunk channels only: an internal call and a national call via another
    # route are not trunk calls, emergency calls are never capped
    assert "vgtest: internal 1002 reached" in g.call("1002")
    assert "emergency call" in g.call("112")
    g.host.run("asterisk -rx 'hangup request all'")


def test_trunk_cap_in_the_dial_options_closes_the_race(pbx):
    g = Guard(pbx)
    g.add_trunk()
    # A second, uncapped trunk: the guard cannot refuse (the call may take that one), so only
    # the pre-dial handler in ${VOIPGUARD_DIAL_LIMIT}, on the trunk channel itself, enforces.
    g.install({"trunks": ["vgtrunk", "other"], "trunk_max_concurrent_calls": {"vgtrunk": 1},
               "max_call_seconds": 600})
    offset = g.log_size()
    g.call("0033123456789", background=True)
    _up_calls(g, offset, 1)
    log = g.call("0033987654321", wait_for=r"trunk dial ended 0033987654321")
    assert "allowed call endpoint=1001 dialed=0033987654321" in log, log
    assert "blocked call trunk=vgtrunk reason=trunk-concurrent-calls" in log, log
    assert "status=CHANUNAVAIL" in log, log
    assert "carrier answered 0033987654321" not in log
    g.host.run("asterisk -rx 'hangup request all'")
