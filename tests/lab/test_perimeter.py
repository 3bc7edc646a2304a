"""The perimeter, proven from the lab's hosts: firewall, AMI, fail2ban, lockout safety."""
import concurrent.futures
import json
import re
import subprocess
import threading
import time

import pytest

import yaml

from conftest import (ATTACKER, ATTACKER_BLOCKED_COUNTRY, PBX_INTERNET, PBX_MGMT, PBX_VOICE, PHONE, ROOT,
                      SECURITY_LOG, ami_session, harden, lift_bans, log_length, place_calls, reset_guard_state,
                      security_events, sip_options_burst, sip_register_probe, stored_credentials, wait_for)

JAIL = "voipguard-asterisk"
# The lab keeps the roles' defaults for the SIP rates and fail2ban's maxretry.
FIREWALL = yaml.safe_load((ROOT / "roles/nftables_firewall/defaults/main.yml").read_text())
MAXRETRY = yaml.safe_load((ROOT / "roles/fail2ban_asterisk/defaults/main.yml").read_text())[
    "fail2ban_asterisk_maxretry"]


def tcp_connects(host, address, port):
    return host.run(f"timeout 3 bash -c 'exec 3<>/dev/tcp/{address}/{port}'").rc == 0


@pytest.mark.parametrize("port", [5038, 8088])
def test_ami_and_http_get_no_answer_from_outside(lab, port):
    assert not tcp_connects(lab("attacker"), PBX_INTERNET, port)


def test_sip_from_a_blocked_country_gets_no_answer(lab):
    answer = lab("attacker").check_output(
        sip_register_probe(PBX_INTERNET, source_address=ATTACKER_BLOCKED_COUNTRY))
    assert answer == "NO ANSWER"


def test_sip_from_an_allowed_country_is_answered(lab):
    # The same host from its German address: the firewall, not the network, made the difference.
    answer = lab("attacker").check_output(sip_register_probe(PBX_INTERNET, source_address=ATTACKER))
    assert answer.startswith("SIP/2.0 "), answer


def test_ami_login_from_admin_works_with_least_privilege(lab):
    credentials = stored_credentials().get("ami:admin")
    assert credentials, "the secrets role stored no rotated AMI credentials for admin"
    output = ami_session(lab("admin"), PBX_MGMT, "admin", credentials["password"],
                         ["Action: Originate", "Channel: Local/1001@from-internal", "Application: Wait"])
    assert "Response: Success" in output.splitlines()[0], output.splitlines()[:1]
    assert "Permission denied" in output


def eventually(condition, seconds):
    """True as soon as condition() is, polled every half second for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def banned(pbx, address):
    status = pbx.run(f"fail2ban-client status {JAIL}").stdout
    return address in status


def flood_banned(pbx, address):
    return address in pbx.run("nft list set inet voipguard sip_flooders_v4").stdout


def test_a_phones_address_may_send_far_above_the_rate_of_other_sources(lab):
    # An office NAT carries every phone behind it: 200 requests at 100/s, ten times the rate of
    # any other source, all answered, and the address not banned.
    answered = int(lab("admin").check_output(sip_options_burst(PBX_VOICE, 200, 100, "1003", PHONE)))
    assert answered == 200
    assert not flood_banned(lab("pbx"), PHONE)


def test_a_source_over_its_sip_rate_is_banned_by_the_firewall_at_once(lab):
    pbx, attacker = lab("pbx"), lab("attacker")
    burst = FIREWALL["nftables_firewall_sip_rate_burst"]
    # Each refused request is a failure to fail2ban, whose ban could land within the burst; told
    # to ignore the attacker here, it leaves the firewall to act alone.
    pbx.run(f"fail2ban-client set {JAIL} addignoreip {ATTACKER}")
    try:
        answered = int(attacker.check_output(sip_options_burst(PBX_INTERNET, 30, 200, "1003", ATTACKER)))
        # The burst passes (plus what the rate refills meanwhile); the first packet over it bans.
        assert burst <= answered <= burst + 2, answered
        assert flood_banned(pbx, ATTACKER) and not banned(pbx, ATTACKER)
        assert attacker.check_output(sip_register_probe(PBX_INTERNET, source_address=ATTACKER)) == "NO ANSWER"
    finally:
        pbx.run(f"fail2ban-client set {JAIL} delignoreip {ATTACKER}")
        lift_bans(pbx)
    answer = attacker.check_output(sip_register_probe(PBX_INTERNET, source_address=ATTACKER))
    assert answer.startswith("SIP/2.0 "), answer


def guess_while_phones_call(lab, crack_environment, seconds):
    """svcrack against 1002 from the attacker while the office phone places 3 national calls;
    returns svcrack's line, the calls' counters and the security log's length before."""
    pbx, attacker, phone = lab("pbx"), lab("attacker"), lab("admin")
    log_start = log_length(pbx, SECURITY_LOG)
    # The guard's calls-per-minute of 1003 must not decide a perimeter test.
    reset_guard_state(pbx)
    attack = {}
    thread = threading.Thread(target=lambda: attack.update(
        out=attacker.run(f"{crack_environment} voipguard-crack {PBX_INTERNET} 1002 {seconds}").stdout))
    thread.start()
    try:
        time.sleep(1)
        # One at a time: the guard allows an endpoint two concurrent calls.
        legitimate = place_calls(phone, "1003", "030555000", 3, rate=1, hold_ms=500)
    finally:
        thread.join()
    return attack["out"], legitimate, log_start


def test_full_speed_guessing_is_stopped_while_phones_and_trunk_keep_working(lab):
    # svcrack at its own speed: each guess waits for a fresh challenge, so its packet rate follows
    # Asterisk's response time, and which layer stops it first (the firewall's rate meter or
    # fail2ban) is a race the two tests below settle one layer at a time.
    pbx = lab("pbx")
    out, legitimate, log_start = guess_while_phones_call(lab, "", 12)
    try:
        # fail2ban bans from the log it follows: on a loaded machine a second or two after the
        # last guess. The bound below still counts every guess that reached Asterisk meanwhile.
        assert eventually(lambda: banned(pbx, ATTACKER) or flood_banned(pbx, ATTACKER), seconds=5)
        assert out.startswith("NOT CRACKED"), out
        # The bound: at most maxretry + 5 guesses reach Asterisk at svcrack's full rate.
        assert len(security_events(pbx, log_start, ATTACKER, "ChallengeResponseFailed")) <= MAXRETRY + 5
        assert not tcp_connects(lab("attacker"), PBX_INTERNET, 5060)
        assert legitimate["answered"] == 3, legitimate
    finally:
        lift_bans(pbx)


def test_guessing_under_the_firewalls_rate_is_banned_by_fail2ban_on_every_port(lab):
    # svcrack paced (a packet after 0.25 s of silence: at most 4 a second, under the rate of 10):
    # only fail2ban, reading Asterisk's security events, can stop it.
    pbx = lab("pbx")
    out, legitimate, log_start = guess_while_phones_call(lab, "VOIPGUARD_CRACK_PACE=0.25", 12)
    try:
        assert banned(pbx, ATTACKER) and not flood_banned(pbx, ATTACKER)
        assert out.startswith("NOT CRACKED"), out
        assert len(security_events(pbx, log_start, ATTACKER, "ChallengeResponseFailed")) <= MAXRETRY + 5
        # fail2ban's ban lands in nftables and covers every port, not only SIP.
        assert not tcp_connects(lab("attacker"), PBX_INTERNET, 5060)
        assert legitimate["answered"] == 3, legitimate
    finally:
        lift_bans(pbx)


# Everything a run could change: every file under /etc/asterisk and /etc/fail2ban, and the whole
# ruleset, without counters (-s) and without set contents (-t): the per-source rate meters and
# bans come and go with traffic and time, the rules and sets themselves must not change.
HOST_STATE = ("find /etc/asterisk /etc/fail2ban /etc/nftables.d -type f -exec sha256sum {} + | sort; "
              "nft -s -t list ruleset")
TRUNK = {"name": "carrier", "endpoint": "carrier", "addresses": ["198.51.100.20"]}


WRONG_VARIABLES = [
    # The shared variables are judged in one task, which names every wrong one at once.
    ({"voipguard_admin_networks": ["198.18.0.0/24", "198.18.0.300/24", "10.0.0.0/33"],
      "voipguard_phone_networks": ["198.51.100.0/24x"], "voipguard_management_address": "198.18.0",
      "voipguard_trunks": [dict(TRUNK, endpoint="car rier", addresses=["198.51.100.256"]),
                           {"name": "backup", "endpoint": "backup"}, dict(TRUNK, name="backup", endpoint="backup2")],
      "voipguard_site_country": "Germany"},
     ["voipguard_admin_networks[1]: '198.18.0.300/24'", "voipguard_admin_networks[2]: '10.0.0.0/33'",
      "voipguard_phone_networks[0]", "voipguard_management_address: '198.18.0'",
      "voipguard_trunks[0].endpoint", "voipguard_trunks[0].addresses[0]",
      "voipguard_trunks[1].addresses is required",
      "voipguard_trunks[2].name: backup is voipguard_trunks[1]'s name already", "voipguard_site_country: 'Germany'"]),
    ({"voipguard_admin_networks": "198.18.0.0/24"}, "voipguard_admin_networks must be a list"),
    ({"voipguard_admin_networks": []}, "voipguard_admin_networks is required"),
    ({"asterisk_hardening_http_bind_address": "localhost"}, "asterisk_hardening_http_bind_address: 'localhost'"),
    ({"asterisk_hardening_sip_bind_address": "198.51.100.10:5060"}, "asterisk_hardening_sip_bind_address"),
    ({"asterisk_hardening_config_dir": "etc/asterisk"}, "asterisk_hardening_config_dir: 'etc/asterisk'"),
    ({"nftables_firewall_countries": ["de"]}, "nftables_firewall_countries[0]: 'de'"),
    ({"nftables_firewall_sip_flood_bantime": "ten minutes"}, "nftables_firewall_sip_flood_bantime is an nft time"),
    # "0s" would be no timeout: nft sends none, the kernel keeps the ban for ever.
    ({"nftables_firewall_sip_flood_bantime": "0s"}, "nftables_firewall_sip_flood_bantime is an nft time above zero"),
    ({"nftables_firewall_sip_ports": []}, "nftables_firewall_sip_ports lists at least one port"),
    ({"nftables_firewall_ssh_rate": "10/min"}, "nftables_firewall_ssh_rate is a count per second, minute"),
    # nft reads no netmask; an IPv4-mapped IPv6 network matches no IPv4 packet (an office locked out).
    ({"voipguard_admin_networks": ["198.18.0.0/255.255.255.0", "::ffff:198.51.100.0/120"]},
     ["write the prefix length (198.18.0.0/24)", "is an IPv4-mapped IPv6 address"]),
    ({"nftables_firewall_sip_rate_burst": 0}, "the SIP rates and bursts must be positive"),
    ({"nftables_firewall_phones_sip_rate_per_second": -5}, "the SIP rates and bursts must be positive"),
    ({"nftables_firewall_sip_flood_ban_enabled": "perhaps"}, "nftables_firewall_sip_flood_ban_enabled"),
    ({"fail2ban_asterisk_maxretry": 0}, "fail2ban_asterisk_maxretry must be positive"),
    ({"toll_fraud_guard_outside_line": "9#"}, "toll_fraud_guard_outside_line must be digits"),
    # Unquoted in YAML, 0531 (Braunschweig) is the octal number 345 (Halle's area code): refused.
    ({"toll_fraud_guard_local_area_code": 345}, "toll_fraud_guard_local_area_code must be quoted digits"),
    # Judged by the policy's own compile on the controller, before the first role changes the host.
    ({"toll_fraud_guard_local_area_code": "0531"},
     "toll_fraud_guard_local_area_code: area code 0531: give it without the national prefix 0 (531)"),
    ({"toll_fraud_guard_rates": [{"prefix": "49", "price_per_minute": "cheap"}]}, "toll_fraud_guard_rates[0]"),
    ({"toll_fraud_guard_spend_history_days": 1}, "toll_fraud_guard_spend_history_days must be at least 2"),
    ({"fail2ban_asterisk_phones_alert_interval": "ten minutes"}, "fail2ban_asterisk_phones_alert_interval is a fail2ban"),
    ({"asterisk_hardening_secret_rotate_only": ["1001", "10 02"]}, "asterisk_hardening_secret_rotate_only[1]: '10 02'"),
    ({"asterisk_hardening_secret_rotate_registered": "perhaps"}, "asterisk_hardening_secret_rotate_registered"),
    ({"asterisk_hardening_sample_dialplans_enabled": "perhaps"}, "asterisk_hardening_sample_dialplans_enabled"),
    ({"toll_fraud_guard_trunk_boundary_enabled": "perhaps"}, "toll_fraud_guard_trunk_boundary_enabled"),
    ({"toll_fraud_guard_boundary_rtp_ports": [20000, 10000], "voipguard_trunk_boundary_port": 70000},
     ["toll_fraud_guard_boundary_rtp_ports: the first port 20000 is above the last 10000",
      "voipguard_trunk_boundary_port: 70000 is not a port"]),
    # A mistyped trunk name would exempt nothing, silently: stopped instead.
    ({"toll_fraud_guard_boundary_trunks_without_options": ["carier"]},
     "toll_fraud_guard_boundary_trunks_without_options names carier, not a trunk of voipguard_trunks (carrier)"),
    ({"voipguard_trunk_boundary_instance": True, "toll_fraud_guard_trunk_boundary_enabled": False},
     "voipguard_trunk_boundary_instance needs toll_fraud_guard_enabled and"),
    ({"toll_fraud_guard_alert_urls": ["slak://T0KEN/B1/C2"]},
     "toll_fraud_guard_alert_urls[0]: Apprise cannot send to this slak:// URL"),
    ({"voipguard_converged_max_age": "1d"}, "voipguard_converged_max_age: '1d' is not a number of seconds"),
    ({"toll_fraud_guard_channel_drivers_kept": ["chan_iax.so"]},
     "toll_fraud_guard_channel_drivers_kept must be one or more of: chan_iax2.so"),
]
@pytest.fixture(scope="module")
def wrong_variable_runs(lab, lab_inventory):
    """Every row's whole run, four at a time (each stops at the checks, before the first change:
    they cannot disturb one another), and the host's state before and after them all."""
    pbx = lab("pbx")
    before = pbx.check_output(HOST_STATE)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda row: harden(lab_inventory, extra_vars=row[0]), WRONG_VARIABLES))
    return results, before, pbx.check_output(HOST_STATE)


@pytest.mark.parametrize("row", range(len(WRONG_VARIABLES)),
                         ids=[m if isinstance(m, str) else m[0] for _w, m in WRONG_VARIABLES])
def test_a_wrong_variable_stops_the_whole_run_before_the_host_changes(wrong_variable_runs, row):
    # A whole run, not one role's tag: no role may have changed anything before the check.
    results, before, after = wrong_variable_runs
    result, message = results[row], WRONG_VARIABLES[row][1]
    # Failures go to stderr where Ansible is told to (Molecule's environment does), else stdout.
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for expected in [message] if isinstance(message, str) else message:
        assert expected in output, output[-2000:]
    assert ("Check the shared voipguard variables before the first change" in output
            or "Check every role's variables before the first change" in output)
    # Stopped among the checks, before the run takes the host (the first change, a snapshot): a
    # later stop would be put back by the run's rollback, which the host's state cannot tell.
    assert "TASK [Take the host for this run" not in output, output[-2000:]
    assert after == before


def test_a_trunk_endpoint_the_pbx_does_not_define_is_named_and_the_host_is_left_as_it_was(lab, lab_inventory):
    """A typo in a trunk's endpoint is a well-formed name, so it passes the variable checks; the
    run reads the PBX's files before the first role changes anything and names it with the
    endpoint it most likely meant. Before, the run asked for the outside-line digit instead (no
    route to the mistyped trunk was seen), and only after the roles before the guard had written."""
    pbx = lab("pbx")
    before = pbx.check_output(HOST_STATE)
    run = harden(lab_inventory, extra_vars={"voipguard_trunks": [dict(TRUNK, endpoint="carier")]})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert ("voipguard_trunks: trunk endpoint carier is not defined in pjsip.conf, its includes or "
            "pjsip_wizard.conf; did you mean carrier?") in output, output[-3000:]
    assert "Cannot tell which outside-line digit" not in output, output[-3000:]
    # Asked before the first change: the rescue had nothing to put back.
    assert "Check the trunks and the outside-line digit against the PBX's files" in output, output[-3000:]
    assert "It had changed nothing on the host." in output, output[-3000:]
    assert pbx.check_output(HOST_STATE) == before


def test_the_channel_drivers_debian_loads_unused_reach_no_host_after_the_run(lab):
    """Debian's Asterisk loads chan_iax2 and chan_motif whatever modules.conf's other lines say:
    Dial(IAX2/<host>/<number>), or an Originate of it, would reach any IAX2 server past the trunk
    boundary. The run switched both off, so Asterisk refuses such a channel."""
    pbx = lab("pbx")
    types = pbx.check_output("asterisk -rx 'core show channeltypes'")
    assert "PJSIP" in types
    assert not re.search(r"^(IAX2|Motif)\s", types, re.M), types
    lines = int(pbx.check_output("wc -l < /var/log/asterisk/messages.log"))
    pbx.check_output("asterisk -rx 'channel originate IAX2/198.51.100.20/00263771234567 application Wait 1'")
    time.sleep(1)
    log = pbx.check_output("tail -n +%s /var/log/asterisk/messages.log", str(lines + 1))
    assert "No channel type registered for 'IAX2'" in log, log[-2000:]


def test_debians_sample_dialplans_are_switched_off_after_the_run(lab):
    """Debian's Asterisk loads pbx_ael and pbx_lua with the sample extensions.ael and extensions.lua:
    AEL's demo trunk routes (ael-trunkint passes the dialed number to Dial() unfiltered) and a
    Lua/ switch in the contexts extensions.lua names, the factory's [demo] among them. Unedited,
    both are switched off for good (noload) and now: the running dialplan has neither."""
    pbx = lab("pbx")
    modules = pbx.check_output("asterisk -rx 'module show like pbx_'")
    assert "pbx_config.so" in modules
    assert not re.search(r"^pbx_(ael|lua)\.so\s.*\d+\s+Running\s", modules, re.M), modules
    noload = re.findall(r"^noload => (pbx_ael\.so|pbx_lua\.so)$", pbx.file("/etc/asterisk/modules.conf").content_string,
                        re.M)
    assert noload == ["pbx_ael.so", "pbx_lua.so"]
    dialplan = pbx.check_output("asterisk -rx 'dialplan show'")
    assert "created by 'pbx_ael'" not in dialplan and "'Lua/'" not in dialplan
    assert "[ Context 'from-internal' created by 'pbx_config' ]" in dialplan


@pytest.fixture
def debians_sample_dialplans_again(lab):
    """pbx_ael and pbx_lua as Debian's package leaves them: no noload line, loaded with the sample
    files. The lab's modules.conf put back after, both engines unloaded, whatever the run did."""
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/modules.conf /root/modules.conf.sample-test && "
                     "sed -i -E '/^noload => pbx_(ael|lua)\\.so$/d' /etc/asterisk/modules.conf && "
                     "asterisk -rx 'module load pbx_ael.so' && asterisk -rx 'module load pbx_lua.so'")
    yield pbx
    pbx.check_output("cp -p /root/modules.conf.sample-test /etc/asterisk/modules.conf; "
                     "asterisk -rx 'module unload pbx_ael.so'; asterisk -rx 'module unload pbx_lua.so'; true")


def test_the_dialplan_audit_judges_no_sample_dialplan_the_run_switches_off(debians_sample_dialplans_again,
                                                                           lab_inventory):
    """A first run on Debian's stock Asterisk: asterisk_hardening switches the sample engines off
    before its dialplan audit reads the running dialplan, so the audit names none of their lines
    (AEL's ael-trunkint, Lua's switch in [default]) - nor in --check, which switches nothing off.
    The engines loaded again by hand also send a converged rerun through the roles."""
    pbx = debians_sample_dialplans_again
    assert "created by 'pbx_ael'" in pbx.check_output("asterisk -rx 'dialplan show'")
    for check in (True, False):
        run = harden(lab_inventory, check=check)
        output = " ".join((run.stdout + run.stderr).split())
        assert run.returncode == 0, output[-3000:]
        assert "TASK [asterisk_hardening : Audit the dialplan]" in output, output[-3000:]
        assert "ael-trunkint" not in output and "Lua/" not in output, re.findall(r"\S*(?:ael-trunkint|Lua/)\S*", output)
        running = re.findall(r"^(pbx_(?:ael|lua)\.so)\s.*\d+\s+Running\s",
                             pbx.check_output("asterisk -rx 'module show like pbx_'"), re.M)
        assert running == ([] if not check else ["pbx_ael.so", "pbx_lua.so"])
    noload = re.findall(r"^noload => (pbx_ael\.so|pbx_lua\.so)$", pbx.file("/etc/asterisk/modules.conf").content_string,
                        re.M)
    assert noload == ["pbx_ael.so", "pbx_lua.so"]


@pytest.fixture
def an_iax2_provider(lab):
    """The operator's IAX2 trunk: a provider's peer in iax.conf, chan_iax2 loaded again by hand."""
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/iax.conf /root/iax.conf.driver-test")
    pbx.check_output("printf '\\n[provider]\\ntype = peer\\nhost = 198.51.100.20\\nusername = pbx\\n"
                     "context = from-carrier\\n' >> /etc/asterisk/iax.conf && asterisk -rx 'module load chan_iax2.so'")
    yield pbx
    pbx.check_output("cp -p /root/iax.conf.driver-test /etc/asterisk/iax.conf && "
                     "asterisk -rx 'module unload chan_iax2.so'")


def test_a_channel_driver_in_use_past_the_trunk_boundary_stops_the_run_before_the_host_changes(
        an_iax2_provider, lab_inventory):
    """Switched off, the operator's IAX2 trunk would stop working; left as it is, its calls pass no
    check. The run names what uses the driver and how to keep it, and changes nothing."""
    pbx = an_iax2_provider
    before = pbx.check_output(HOST_STATE)
    run = harden(lab_inventory, extra_vars={"voipguard_converged_max_age": 0})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert "IAX2 (chan_iax2.so) is in use: 1 IAX2 peers (iax2 show peers)" in output, output[-3000:]
    assert "toll_fraud_guard_channel_drivers_kept [chan_iax2.so]" in output, output[-3000:]
    assert "It had changed nothing on the host." in output, output[-3000:]
    assert pbx.check_output(HOST_STATE) == before
    assert "provider" in pbx.check_output("asterisk -rx 'iax2 show peers'")
    # Nothing to reload either: the next run does not reload everything as after a run that died.
    assert not pbx.file("/var/lib/voipguard/pending-reload").exists


@pytest.fixture
def pjsip_conf_with_a_typo(lab):
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.typo-test")
    # The operator's hand edit: a section header without its closing bracket. Asterisk refuses the
    # whole file on reload and keeps the configuration it has.
    pbx.check_output("printf '\\n[1004\\ntype = endpoint\\ncontext = from-internal\\n' >> /etc/asterisk/pjsip.conf")
    yield pbx
    pbx.check_output("cp -p /root/pjsip.conf.typo-test /etc/asterisk/pjsip.conf")


def test_a_pjsip_conf_asterisk_cannot_parse_is_named_with_its_line_and_nothing_changes(
        pjsip_conf_with_a_typo, lab_inventory):
    """The run stops at its first read of the file, with the file, the line and what is wrong, and
    says that it changed nothing. Before, the rescue's reload of Asterisk met the same file and
    failed in turn, and the run reported that step instead of the operator's typo."""
    pbx = pjsip_conf_with_a_typo
    before = pbx.check_output(HOST_STATE)
    run = harden(lab_inventory, extra_vars={"voipguard_converged_max_age": 0})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    assert ("/etc/asterisk/pjsip.conf:%s: parse error: no closing ']' in section header"
            % pbx.check_output("grep -n '^\\[1004$' /etc/asterisk/pjsip.conf").split(":")[0]) in output, output[-3000:]
    assert "It had changed nothing on the host." in output, output[-3000:]
    assert 'failed at "Make the running Asterisk match the restored files"' not in output, output[-3000:]
    assert pbx.check_output(HOST_STATE) == before


# A provisioning program that prints phones when Asterisk loads pjsip.conf (#exec), with
# execincludes on in asterisk.conf, which Asterisk reads when it starts.
PROVISIONING = "/usr/local/bin/vgtest-provision-phones"


@pytest.fixture
def phone_printed_by_a_program(lab):
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.exec-test && "
                     "cp -p /etc/asterisk/asterisk.conf /root/asterisk.conf.exec-test")
    pbx.check_output("printf '#!/bin/sh\\nprintf \"[2201]\\\\ntype = endpoint\\\\ncontext = from-internal\\\\n\"\\n' > %s && "
                     "chmod 0755 %s && printf '\\n#exec %s\\n' >> /etc/asterisk/pjsip.conf && "
                     "sed -i 's/^;execincludes = yes/execincludes = yes/' /etc/asterisk/asterisk.conf && "
                     "systemctl restart asterisk", PROVISIONING, PROVISIONING, PROVISIONING)
    try:
        assert wait_for(lambda: "from-internal" in pbx.run("asterisk -rx 'pjsip show endpoint 2201'").stdout, 20)
        yield pbx
    finally:
        pbx.check_output("cp -p /root/pjsip.conf.exec-test /etc/asterisk/pjsip.conf && "
                         "cp -p /root/asterisk.conf.exec-test /etc/asterisk/asterisk.conf && rm -f %s && "
                         "systemctl restart asterisk", PROVISIONING)
        wait_for(lambda: pbx.run("asterisk -rx 'core show version'").rc == 0, 20)


def test_a_phone_a_program_prints_when_asterisk_loads_stops_the_run_before_the_host_changes(
        phone_printed_by_a_program, lab_inventory):
    """No file holds it, so no run could guard it: said with the line, before the first change
    (before, the run wrote everything, found 2201 "loaded but in no file" at its end, and put
    everything back)."""
    pbx = phone_printed_by_a_program
    before = pbx.check_output(HOST_STATE)
    run = harden(lab_inventory, extra_vars={"voipguard_converged_max_age": 0})
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    line = pbx.check_output("grep -n '^#exec' /etc/asterisk/pjsip.conf").split(":")[0]
    assert "/etc/asterisk/pjsip.conf:%s: #exec %s: with execincludes on" % (line, PROVISIONING) in output, output[-3000:]
    assert "It had changed nothing on the host." in output, output[-3000:]
    assert pbx.check_output(HOST_STATE) == before


def test_a_ruleset_that_cuts_the_controllers_ssh_rolls_back_by_itself(lab, lab_inventory):
    pbx = lab("pbx")
    admin_set = "nft list set inet voipguard admin_v4"
    assert "198.18.0.0/24" in pbx.check_output(admin_set)
    wrong = {"voipguard_admin_networks": ["192.0.2.240/28"],
             "nftables_firewall_confirm_seconds": 25, "nftables_firewall_reconnect_timeout": 10}
    result = harden(lab_inventory, tags="nftables_firewall", extra_vars=wrong)
    assert result.returncode != 0, "the controller kept SSH with a wrong admin network"
    for _ in range(60):
        time.sleep(1)
        restored = subprocess.run(
            ["timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{PBX_MGMT}/22"], check=False).returncode == 0
        if restored:
            break
    assert restored, "SSH did not come back: the rollback did not run"
    # The table in force is the confirmed one again, not the one that cut SSH.
    admin_networks = pbx.check_output(admin_set)
    assert "198.18.0.0/24" in admin_networks and "192.0.2.240" not in admin_networks
    # The run lost the host before it could give the run lock back: the lock names it, and the next
    # run would wait for it (30 minutes) or for the operator to remove it, as the message says.
    assert json.loads(pbx.check_output("cat /var/lib/voipguard/run/lock"))["holder"]
    pbx.check_output("rm /var/lib/voipguard/run/lock")


def phone_alerts(pbx):
    return pbx.run("journalctl -t voipguard-alert -o cat --no-pager").stdout.splitlines()


def test_a_stale_phone_does_not_cut_off_the_office_or_112(lab, unique_number):
    pbx, office = lab("pbx"), lab("admin")
    alerts_before = len(phone_alerts(pbx))
    # After a rotation one phone still registers with its old password, again and again, from the
    # office's one address (the phones' network).
    for _ in range(6):
        refused = office.run("SIP_PASSWORD=%s voipguard-register %s %s 60", "an-old-password", PBX_VOICE, "1002")
        assert "REFUSED 1002" in refused.stdout
    new_alerts = []
    for _ in range(20):  # fail2ban reads the log and raises the alert within seconds
        new_alerts = [line for line in phone_alerts(pbx)[alerts_before:] if PHONE in line]
        if new_alerts:
            break
        time.sleep(0.5)
    assert new_alerts and "1002" in new_alerts[0], new_alerts
    # Every other phone on that address still calls out, and 112 goes through.
    assert place_calls(office, "1003", "112", 1, rate=1, hold_ms=500)["answered"] == 1
    assert place_calls(office, "1003", unique_number, 1, rate=1, hold_ms=500)["answered"] == 1
    assert not banned(pbx, PHONE)
    assert not flood_banned(pbx, PHONE)


ADMIN_HOST = "198.18.0.30"   # the lab's admin container, in voipguard_admin_networks


def test_mistyped_ssh_logins_from_the_admin_network_lock_nobody_out(lab):
    # Debian enables fail2ban's [sshd] jail, which the operator's admin networks were not in: a few
    # mistyped logins banned the admin's address from SSH. The run gives that jail their own
    # ignoreip plus the admin networks; the running fail2ban sees the failures and ignores them.
    pbx, admin = lab("pbx"), lab("admin")
    assert "sshd" in pbx.check_output("fail2ban-client status"), "Debian's sshd jail is not running"
    assert "198.18.0.0/24" in pbx.check_output("fail2ban-client get sshd ignoreip")
    log_lines = int(pbx.check_output("wc -l < /var/log/fail2ban.log"))
    try:
        for attempt in range(8):   # above the sshd jail's maxretry (5)
            # "|| true": ssh's own 255 would read as the lab's SSH connection failing (testinfra).
            admin.run("ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                      "-o ConnectTimeout=5 nobody-%s@%s true || true", str(attempt), PBX_MGMT)
        ignored = "[sshd] Ignore %s by ip" % ADMIN_HOST

        def seen():
            return pbx.run("tail -n +%d /var/log/fail2ban.log" % (log_lines + 1)).stdout.count(ignored) >= 5
        assert eventually(seen, seconds=15), "the sshd jail did not read the failed logins"
        assert ADMIN_HOST not in pbx.check_output("fail2ban-client status sshd")
        assert tcp_connects(admin, PBX_MGMT, 22)
    finally:
        pbx.run("fail2ban-client set sshd unbanip %s" % ADMIN_HOST)
