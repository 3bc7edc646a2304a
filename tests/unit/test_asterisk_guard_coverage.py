"""library/asterisk_guard_coverage.py: at the end of every harden.yml run, every phone the running
Asterisk has from outside pjsip.conf (realtime, say) is proven to dial through the guard. The CLI answers
are real ones captured from the lab's Asterisk 22 (tests/unit/test_asterisk_live.py), with a
realtime phone's listing line added; tests/lab/test_included_endpoints.py runs a real one (SQLite)."""
import pytest

import asterisk_guard_coverage
from ansible.module_utils.asterisk_live import GUARD_CONTEXT_PREFIX, unguarded_reasons
from ansible.module_utils.dial_policy import GUARD_CONTEXT_PREFIX as POLICY_GUARD_PREFIX
from ansible.module_utils.trunk_boundary import unidentified_loop_fault
from tests.unit.test_asterisk_live import captured, identifies_with, lab_cli

REALTIME_PHONE = " Endpoint:  2201                                                 Unavailable   0 of inf\n"


def cli_with(context_2201, **more):
    shown = captured("pjsip_show_endpoint_1001.txt").replace(
        "voipguard-guard-from-internal", context_2201)
    return lab_cli(dict({"pjsip show endpoints": captured("pjsip_show_endpoints.txt") + REALTIME_PHONE,
                         "pjsip show endpoint 2201": shown}, **more))


def test_a_phone_outside_the_files_in_its_own_context_is_named():
    judged, reasons = asterisk_guard_coverage.judge(
        cli_with("from-internal"), ["1001", "1002", "1003"], trunk_endpoints=["carrier"])
    assert judged == {"2201": "from-internal"}
    assert reasons == ["endpoint 2201 dials in context from-internal, not through a guard"]


def test_a_phone_outside_the_files_behind_a_loaded_guard_passes_and_exempt_ones_are_not_judged():
    cli = cli_with("voipguard-guard-from-internal")
    assert asterisk_guard_coverage.judge(cli, ["1001", "1002", "1003"], ["carrier"]) == (
        {"2201": "voipguard-guard-from-internal"}, [])
    assert asterisk_guard_coverage.judge(cli_with("from-internal"), ["1001", "1002", "1003"], ["carrier"],
                                         exempt_endpoints=["2201"]) == ({}, [])


def test_a_guard_context_the_running_dialplan_lacks_is_no_guard():
    _, reasons = asterisk_guard_coverage.judge(cli_with("voipguard-guard-sales"), ["1001", "1002", "1003"], ["carrier"])
    assert reasons == ["endpoint 2201 uses guard context voipguard-guard-sales, missing from the running dialplan"]


def test_a_silent_asterisk_is_an_error_not_a_pass():
    with pytest.raises(RuntimeError, match="does not answer"):
        asterisk_guard_coverage.judge(cli_with("from-internal", **{"dialplan show": None}), ["1001"])


def test_the_host_side_guard_prefix_is_the_policys():
    assert GUARD_CONTEXT_PREFIX == POLICY_GUARD_PREFIX
    assert unguarded_reasons({}, set()) == []


def test_an_endpoint_set_to_no_context_is_no_unguarded_phone():
    # "context =": no context to dial in, so nothing to guard ("default" is a context).
    assert unguarded_reasons({"1001": "", "1002": "default"}, set()) == [
        "endpoint 1002 dials in context default, not through a guard"]


def test_an_exempted_phone_outside_a_guard_passes_only_while_the_trunk_leg_is_checked():
    contexts = {"1003": "from-internal", "1004": "from-internal"}
    assert unguarded_reasons(contexts, set(), exempt=["1003"], trunk_leg_checked=True) == [
        "endpoint 1004 dials in context from-internal, not through a guard"]
    assert unguarded_reasons(contexts, set(), exempt=["1003"]) == [
        "endpoint 1003 is exempted from the guard, and no trunk boundary checks its calls to the trunk",
        "endpoint 1004 dials in context from-internal, not through a guard"]


def test_a_running_identify_that_takes_the_looped_trunk_calls_is_named():
    """A database's identify, or a host name that now resolves to the loop's address: no file
    shows it, the running Asterisk does (the lab's listing, with the guard's egress loaded)."""
    listing = captured("pjsip_show_identifies.txt")
    assert asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": listing})) == []
    taking = identifies_with("localapp", "2201", "127.0.0.1/32")
    (fault,) = asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": taking}))
    assert fault.startswith("identify localapp (endpoint 2201) matches 127.0.0.1/32, where the looped INVITEs "
                            "come from (127.0.0.1:5060)"), fault
    with pytest.raises(RuntimeError, match="does not answer 'pjsip show identifies'"):
        asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": None}))


def test_looped_trunk_calls_the_running_asterisk_gives_no_egress_fail_the_check():
    """The identify module unloaded (the lab: the run that ended early passed, and every trunk call
    failed on a 401): the listing is gone, and with the trunks looped that is a fault."""
    gone = captured("pjsip_show_identifies_module_unloaded.txt")
    assert asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": gone})) == []
    (fault,) = asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": gone}), looped=True)
    assert fault == unidentified_loop_fault()
    listing = captured("pjsip_show_identifies.txt")
    assert asterisk_guard_coverage.loop_identify_faults(lab_cli({"pjsip show identifies": listing}), looped=True) == []
