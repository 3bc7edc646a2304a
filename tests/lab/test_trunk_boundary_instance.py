"""The trunk boundary instance closes what the loop alone leaves open.

With voipguard_trunk_boundary_instance, a second Asterisk on the lab PBX (user voipguard-boundary,
port 5070) alone dials the carrier: the main Asterisk's copy of the trunk forwards to it, it
judges every number again with the main Asterisk's own verdict tables, and the host firewall drops
every INVITE the main Asterisk sends to the carrier's address. The channels of
test_trunk_boundary.py's strict expected failures (addressed to the carrier past the loop) must
now get no blocked destination onto the trunk, and every path of its matrix must still work.
The module switches the instance on for its tests, and off again after them (the lab's default).
"""
import re
import time

import pytest

from conftest import (
    audit_controls, carrier_records, harden, log_length, log_lines_since, received_alerts, reset_guard_state,
    wait_for_alert)
from test_trunk_boundary import (
    BLOCKED_FORMS, MESSAGES, PAST_THE_LOOP, PATHS, assert_each_blocked_form_was_refused_on_the_trunk_leg,
    assert_no_blocked_call_reached_the_carrier, asterisk_cli, originate)
from test_trunk_boundary import inbound_disa, running_dialplan  # noqa: F401  (fixtures, shared)

BOUNDARY_CONFIG = "/etc/voipguard-boundary/asterisk.conf"
BOUNDARY_MESSAGES = "/var/log/voipguard-boundary/messages.log"
INSTANCE = {"voipguard_trunk_boundary_instance": True}


PJSIP = "/etc/asterisk/pjsip.conf"
TRUNK_AUTH = "vgtest-carrier-auth"
TRUNK_PROXY = "sip:198.51.100.20:5060;lr"


@pytest.fixture(scope="module", autouse=True)
def boundary_instance(lab, lab_inventory):
    """The instance switched on for the module, with the trunk given an outbound auth as most
    carriers want (the lab carrier does not challenge: the auth must only reach the instance) and
    an outbound proxy as behind an SBC (the carrier itself, which takes a Route header naming it);
    afterwards the operator's pjsip.conf is put back and the instance switched off."""
    pbx = lab("pbx")
    pbx.check_output("cp -p %s %s.vgtest", PJSIP, PJSIP)
    # As an operator would: the trunk's outbound_proxy line (the loop's, after a run) now names the
    # SBC. The proxy's ';' escaped for pjsip.conf, and its backslash for sed: a command of constants.
    pbx.check_output("sed -i '/^outbound_proxy = /d; s/^aors = carrier$/&\\noutbound_auth = %s\\noutbound_proxy = %s/' %s"
                     % (TRUNK_AUTH, TRUNK_PROXY.replace(";", "\\\\;"), PJSIP))
    pbx.check_output(
        "printf '%%s\\n' '' '[%s]' 'type = auth' "
        "'auth_type = userpass' 'username = vgtest' \"password = $(python3 -c 'import secrets; print(secrets.token_hex(12))')\" >> %s",
        TRUNK_AUTH, PJSIP)
    try:
        switched_on = harden(lab_inventory, extra_vars=INSTANCE)
        assert switched_on.returncode == 0, switched_on.stdout[-3000:]
        yield switched_on
    finally:
        pbx.check_output("mv %s.vgtest %s", PJSIP, PJSIP)
        switched_off = harden(lab_inventory)
        assert switched_off.returncode == 0, switched_off.stdout[-3000:]


def invites_dropped(pbx):
    """Packets the firewall's output chain dropped: INVITEs from the main Asterisk to a trunk."""
    chain = pbx.check_output("nft list chain inet voipguard output")
    return sum(int(n) for n in re.findall(r"counter packets (\d+) .*INVITE from the main Asterisk", chain))


def test_the_instance_runs_as_its_own_user_and_holds_the_trunk(lab):
    pbx = lab("pbx")
    assert pbx.service("voipguard-boundary").is_running
    processes = pbx.check_output("ps -o uid=,args= -C asterisk").splitlines()
    (instance,) = [line.split() for line in processes if BOUNDARY_CONFIG in line]
    assert int(instance[0]) == pbx.user("voipguard-boundary").uid
    endpoints = pbx.check_output("asterisk -C %s -rx %s", BOUNDARY_CONFIG, "pjsip show endpoints")
    assert re.search(r"Endpoint:\s+carrier\s", endpoints) and re.search(r"Endpoint:\s+voipguard-main\s", endpoints)
    # The trunk's outbound auth reached the instance, on the host: the same secret, never shown.
    auths = pbx.check_output("asterisk -C %s -rx %s", BOUNDARY_CONFIG, "pjsip show auths")
    assert TRUNK_AUTH in auths
    digests = pbx.check_output(
        "for f in %s /etc/voipguard-boundary/pjsip_auths.conf; do "
        "sed -n '/^\\[%s\\]/,/^\\[/s/^password *= *//p' $f | sha256sum; done", PJSIP, TRUNK_AUTH).split("\n")
    assert len(digests) == 2 and digests[0] == digests[1] and not digests[0].startswith("e3b0c442"), "no same secret"
    # The main Asterisk's copy of the trunk forwards to the instance, whose copy dials through the
    # operator's own proxy (read back from the instance's pjsip.conf on every later run).
    copy = asterisk_cli(pbx, "pjsip show endpoint voipguard-trunk-carrier")
    assert "sip:carrier@127.0.0.1:5070;lr;voipguard" in copy
    held = pbx.check_output("asterisk -C %s -rx %s", BOUNDARY_CONFIG, "pjsip show endpoint carrier")
    assert re.search(r"outbound_proxy\s*:\s*%s\s*$" % re.escape(TRUNK_PROXY), held, re.M), held


@pytest.mark.parametrize("path", sorted(PAST_THE_LOOP))
def test_a_channel_addressed_past_the_loop_gets_no_blocked_destination_onto_the_trunk(lab, path, unique_number):
    pbx, carrier = lab("pbx"), lab("carrier")
    reset_guard_state(pbx)
    recorded, logged, dropped = len(carrier_records(carrier)), log_length(pbx, BOUNDARY_MESSAGES), invites_dropped(pbx)
    originate(pbx, PAST_THE_LOOP[path] % "00263771234567")
    originate(pbx, PAST_THE_LOOP[path] % unique_number)
    time.sleep(3)

    reached = [r["dst"] for r in carrier_records(carrier)[recorded:]]
    refused = [line for line in log_lines_since(pbx, BOUNDARY_MESSAGES, logged) if "voipguard: blocked call" in line]
    if path == "copy-by-name":
        # Through the instance: judged there, the blocked number refused, the national one dialed.
        assert reached == [unique_number]
        assert len(refused) == 1 and "dialed=00263771234567" in refused[0] and "reason=country" in refused[0], refused
    else:
        # A request URI straight at the carrier's address: the firewall drops the INVITE.
        assert reached == []
        assert invites_dropped(pbx) >= dropped + 2


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_of_the_matrix_still_goes_through_the_guard_and_the_instance(lab, path, unique_number):
    pbx, carrier = lab("pbx"), lab("carrier")
    reset_guard_state(pbx)
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    for number in BLOCKED_FORMS + [unique_number, "112"]:
        PATHS[path](pbx, number)
    time.sleep(5)

    assert_no_blocked_call_reached_the_carrier(carrier, recorded, unique_number)
    assert_each_blocked_form_was_refused_on_the_trunk_leg(pbx, logged)


def test_an_inbound_call_still_reaches_the_pbx_and_its_outbound_call_the_carrier(lab, inbound_disa, unique_number):
    # Inbound calls go from the carrier to the main Asterisk as before: its answers are not INVITEs.
    pbx, carrier = lab("pbx"), lab("carrier")
    reset_guard_state(pbx)
    recorded = len(carrier_records(carrier))
    inbound_disa(unique_number)
    asterisk_cli(carrier, "channel originate PJSIP/pbx/sip:%s@198.51.100.10:5060 application Wait 2" % unique_number)
    time.sleep(5)
    assert [r["dst"] for r in carrier_records(carrier)[recorded:] if r["dst"] != "s"] == [unique_number]


def test_a_refusal_at_the_instance_reaches_a_person(lab):
    pbx, admin = lab("pbx"), lab("admin")
    assert pbx.service("voipguard-boundary-alert-notifier").is_running
    before = len(received_alerts(admin))
    originate(pbx, PAST_THE_LOOP["copy-by-name"] % "00252612345678")
    alerts = wait_for_alert(admin, before, "blocked call endpoint=trunk-leg dialed=00252612345678")
    assert alerts, "no alert reached the receiver in 20 s: %s" % pbx.run(
        "journalctl -u voipguard-boundary-alert-notifier -n 5 --no-pager -o cat").stdout


def test_the_audit_sees_calls_past_the_loop_gated(lab, lab_inventory, tmp_path):
    control = audit_controls(lab_inventory, tmp_path / "gated", "calls_past_the_loop")["VOIP-TF-008"]
    assert control["status"] == "pass", control
    # The running instance is what it reads: stopped, the same audit fails.
    pbx = lab("pbx")
    pbx.check_output("systemctl stop voipguard-boundary")
    try:
        control = audit_controls(lab_inventory, tmp_path / "stopped", "calls_past_the_loop")["VOIP-TF-008"]
        assert control["status"] == "fail" and "does not answer" in str(control), control
    finally:
        pbx.check_output("systemctl start voipguard-boundary")
        # Its control socket comes a moment after the unit.
        pbx.check_output("for try in $(seq 1 40); do asterisk -C %s -rx %s >/dev/null 2>&1 && exit 0; sleep 0.5; done; "
                         "exit 1", BOUNDARY_CONFIG, "core waitfullybooted")


def test_the_audit_reads_the_instances_copy_of_the_trunk_for_drift(lab, lab_inventory, tmp_path):
    # VOIP-TF-007: with the instance, the copy that dials the carrier is the instance's.
    control = audit_controls(lab_inventory, tmp_path / "current", "trunk_copies_are_current")["VOIP-TF-007"]
    assert control["status"] == "pass", control
    pbx, held = lab("pbx"), "/etc/voipguard-boundary/pjsip.conf"
    pbx.check_output("cp -p %s %s.vgtest", held, held)
    try:
        # A hand edit of the instance's copy of the trunk (its first section [carrier], the endpoint).
        pbx.check_output("sed -i '0,/^\\[carrier\\]$/s//&\\nfrom_user = 4930999/' %s", held)
        control = audit_controls(lab_inventory, tmp_path / "edited", "trunk_copies_are_current")["VOIP-TF-007"]
        assert control["status"] == "fail" and "boundary instance's copy" in str(control) \
            and "from_user" in str(control), control
    finally:
        pbx.check_output("mv %s.vgtest %s", held, held)


def test_a_second_run_with_the_instance_changes_nothing(lab_inventory):
    again = harden(lab_inventory, extra_vars=dict(INSTANCE, voipguard_full_run=True))
    assert again.returncode == 0, again.stdout[-3000:]
    assert "hardened, 0 changes" in again.stdout, again.stdout[-3000:]
