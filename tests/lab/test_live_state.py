"""The running PBX is the truth: a host whose files were hardened but whose running Asterisk
still holds the factory's configuration is failed by the audit and reloaded by the next good run
(a run with a typo changes nothing); a run that fails after it changed files puts every one of
them back and reloads them. One run at a time: a second run stops before it changes anything.
"""
import base64
import json

import pytest

from conftest import (ATTACKER, PBX_INTERNET, PBX_VOICE, ROOT, ansible_module, audit_controls, harden, lift_bans,
                      sip_invite_probe, sip_password)

FACTORY_PJSIP = ROOT / "lab" / "factory" / "pbx" / "asterisk" / "pjsip.conf"
HOST_FILES = "find /etc/asterisk /etc/fail2ban /etc/nftables.d -type f -exec sha256sum {} + | sort"


def live_endpoints(pbx):
    return pbx.check_output("asterisk -rx 'pjsip show endpoints'")


def audit_statuses(inventory, out):
    controls = audit_controls(inventory, out, "no_anonymous or running_configuration or sip_secrets_are_strong")
    return dict((name, control["status"]) for name, control in controls.items())


@pytest.fixture
def pjsip_saved(lab):
    """pjsip.conf as the hardened lab has it, put back (and reloaded) after the test."""
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.saved")
    yield pbx
    pbx.check_output("cp -p /root/pjsip.conf.saved /etc/asterisk/pjsip.conf && "
                     "asterisk -rx 'module reload res_pjsip.so' >/dev/null")


def register(host, user, password, target):
    return host.run("SIP_PASSWORD=%s voipguard-register %s %s 60", password, target, user).stdout.strip()


def test_a_typo_then_the_fix_ends_with_a_running_asterisk_that_refuses_factory_passwords_and_anonymous(
        pjsip_saved, lab, lab_inventory, tmp_path):
    """The issue's operator: the files were hardened by an earlier run that died before its reload,
    so the running Asterisk still holds the factory's configuration; the next run has a typo, the
    one after is fixed. Files and "changed" flags would say all is well; the running PBX must."""
    pbx, office, attacker = pjsip_saved, lab("admin"), lab("attacker")
    factory = base64.b64encode(FACTORY_PJSIP.read_bytes()).decode()
    pbx.check_output("echo %s | base64 -d > /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'",
                     factory)
    pbx.check_output("cp -p /root/pjsip.conf.saved /etc/asterisk/pjsip.conf")
    assert "anonymous" in live_endpoints(pbx)
    assert register(office, "1001", "1001", PBX_VOICE) == "REGISTERED 1001"  # the factory password works
    statuses = audit_statuses(lab_inventory, tmp_path / "drifted")
    assert statuses["VOIP-CORE-005"] == "fail"
    # Read from the running Asterisk, not the (hardened) files.
    assert statuses["VOIP-PJSIP-001"] == "fail" and statuses["VOIP-SIP-001"] == "fail"

    before = pbx.check_output(HOST_FILES)
    typo = harden(lab_inventory, extra_vars={"voipguard_admin_networks": ["198.18.0.0/24", "198.18.0.300/24"]})
    assert typo.returncode != 0
    assert "voipguard_admin_networks[1]: '198.18.0.300/24'" in typo.stdout + typo.stderr
    assert pbx.check_output(HOST_FILES) == before  # the typo changed nothing...
    assert "anonymous" in live_endpoints(pbx)  # ...and pretended nothing

    # The run that fixes it goes through ansible-runner, as AWX would start it.
    fixed = harden(lab_inventory, runner=True)
    assert fixed.returncode == 0 and fixed.status == "successful", (fixed.stdout + fixed.stderr)[-3000:]
    assert "endpoint anonymous is loaded but in no file" in fixed.stdout
    # ansible-runner sets ANSIBLE_CALLBACK_PLUGINS, which hides ansible.cfg's callback_plugins:
    # the callbacks are found beside the playbook (playbooks/callback_plugins) instead.
    assert "pbx : hardened, " in fixed.stdout, fixed.stdout[-2000:]
    assert "anonymous" not in live_endpoints(pbx)
    try:
        assert attacker.check_output(sip_invite_probe(PBX_INTERNET, "00252612345678", source_address=ATTACKER)) \
            == "SIP/2.0 401 Unauthorized"  # no anonymous endpoint takes the call: a challenge
        for extension in ("1001", "1002", "1003"):
            assert register(attacker, extension, extension, PBX_INTERNET) == f"REFUSED {extension}"
    finally:
        lift_bans(pbx)
    assert register(office, "1001", sip_password("1001"), PBX_VOICE) == "REGISTERED 1001"
    statuses = audit_statuses(lab_inventory, tmp_path / "reloaded")
    assert statuses["VOIP-CORE-005"] == "pass" and statuses["VOIP-PJSIP-001"] == "pass"
    assert statuses["VOIP-SIP-001"] == "pass"


def test_a_run_that_fails_in_its_last_role_puts_every_file_back_and_reloads(pjsip_saved, lab_inventory):
    pbx = pjsip_saved
    # A state the first role will change: 1001 open to unauthenticated OPTIONS, loaded.
    pbx.check_output("printf '\\n[1001](+type=endpoint)\\nallow_unauthenticated_options = yes\\n' "
                     ">> /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'")
    # And a host the last role cannot handle: a file where its directory belongs.
    pbx.check_output("mv /etc/asterisk/voipguard /root/voipguard.saved && touch /etc/asterisk/voipguard")
    try:
        before = pbx.check_output(HOST_FILES)
        result = harden(lab_inventory)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        # The first role did change pjsip.conf in this run before the failure...
        assert "Harden the PJSIP endpoints, AORs and global settings" in output
        assert "Every file it had changed was put back" in output, output[-3000:]
        assert not pbx.file(RUN_LOCK).exists  # the failed run gave the host back
        # ...and the host is byte for byte as before, running what its files say.
        assert pbx.check_output(HOST_FILES) == before
        endpoint = pbx.check_output("asterisk -rx 'pjsip show endpoint 1001'")
        assert any(line.split(":")[0].strip() == "allow_unauthenticated_options" and line.split(":")[1].strip() == "true"
                   for line in endpoint.splitlines())
        assert not pbx.file("/var/lib/voipguard/pending-reload").exists
    finally:
        pbx.check_output("rm -f /etc/asterisk/voipguard && mv /root/voipguard.saved /etc/asterisk/voipguard")


def test_a_reload_asterisk_rejects_is_rolled_back_by_the_handler_and_fails_the_run(pjsip_saved, lab_inventory):
    """The handler's own rollback, driven by a real reload: a PJSIP reload always logs that type
    'system' is not reloadable (a NOTICE), so with that line declared an error Asterisk "rejects"
    what the run wrote. The queued reloads run in one call; every file they edited goes back."""
    pbx = pjsip_saved
    pbx.check_output("printf '\\n[1001](+type=endpoint)\\nallow_unauthenticated_options = yes\\n' "
                     ">> /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'")
    # And chan_iax2 loaded and used by nothing, as Debian's Asterisk has it: the run switches it
    # off (noload, unload) before the reload fails.
    pbx.check_output("cp -p %s %s.saved && sed -i '/^noload => chan_iax2.so$/d' %s && asterisk -rx 'module load chan_iax2.so'",
                     MODULES, MODULES, MODULES)
    try:
        before = pbx.check_output(HOST_FILES)
        result = harden(lab_inventory, extra_vars={
            "asterisk_hardening_reload_error_regex": "Type 'system' is not reloadable|ERROR\\["})
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "Reload and judge what Asterisk made of pjsip.conf" in output, output[-3000:]
        assert "Asterisk rejected the hardened configuration" in output
        assert "pjsip.conf: " in output and "is not reloadable" in output
        assert pbx.check_output(HOST_FILES) == before
        endpoint = pbx.check_output("asterisk -rx 'pjsip show endpoint 1001'")
        assert any(line.split(":")[0].strip() == "allow_unauthenticated_options" and line.split(":")[1].strip() == "true"
                   for line in endpoint.splitlines())
        assert not pbx.file(RUN_LOCK).exists
        # The run had unloaded chan_iax2; its modules.conf back, it is loaded again, as before.
        assert "TASK [toll_fraud_guard : Unload them from the running Asterisk]" in output, output[-3000:]
        assert "IAX2" in pbx.check_output("asterisk -rx 'core show channeltypes'")
    finally:
        pbx.check_output("mv %s.saved %s && asterisk -rx 'module unload chan_iax2.so' >/dev/null", MODULES, MODULES)


RUN_LOCK = "/var/lib/voipguard/run/lock"
MODULES = "/etc/asterisk/modules.conf"


def plant_lock(pbx, holder, age):
    started = int(pbx.check_output("date +%s")) - age
    pbx.check_output("mkdir -p /var/lib/voipguard/run && printf '%%s' %s > " + RUN_LOCK,
                     json.dumps({"holder": holder, "started": started, "token": "theirs"}))


def test_a_second_run_stops_while_another_holds_the_host_and_takes_over_a_dead_runs_lock(lab, lab_inventory):
    pbx = lab("pbx")
    plant_lock(pbx, "awx on tower", age=5)  # another run (AWX, say) is under way
    try:
        before = pbx.check_output(HOST_FILES)
        held = harden(lab_inventory, tags="voipguard_journal")
        output = held.stdout + held.stderr
        assert held.returncode != 0
        assert "another voipguard run holds this host (awx on tower" in " ".join(output.split()), output[-2000:]
        assert pbx.check_output(HOST_FILES) == before
        assert json.loads(pbx.check_output("cat " + RUN_LOCK))["token"] == "theirs"  # its lock is left alone
        # The same lock, left by a run that died 31 minutes ago: the next run takes it over, says
        # so, and releases it when it ends.
        plant_lock(pbx, "awx on tower", age=31 * 60)
        taken = harden(lab_inventory, tags="voipguard_journal")
        output = " ".join((taken.stdout + taken.stderr).split())
        assert taken.returncode == 0, output[-3000:]
        assert "took over the run lock of a run that ended without releasing it (awx on tower)" in output
        assert not pbx.file(RUN_LOCK).exists
    finally:
        pbx.run("rm -f " + RUN_LOCK)


def test_an_operators_root_console_is_not_taken_for_asterisk_running_as_root(lab, lab_inventory, tmp_path):
    """asterisk -r as root is how operators watch a PBX. The console keeps the command name
    asterisk; the module (so the role's check) and the audit both judge the daemon alone."""
    pbx = lab("pbx")
    # A console that stays attached: its stdin is a pipe that stays open for 60 s.
    pbx.check_output("setsid sh -c 'sleep 60 | asterisk -r' </dev/null >/dev/null 2>&1 &")
    try:
        listed = pbx.check_output("ps -o user=,args= -C asterisk")
        # A root console does run beside the daemon.
        assert ["root", "rasterisk"] in [line.split()[:2] for line in listed.splitlines()], listed
        module = ansible_module(lab_inventory, None, "-o")
        assert module.returncode == 0, module.stdout[-1500:] + module.stderr[-1500:]
        assert '"asterisk_user": "asterisk"' in module.stdout
        controls = audit_controls(lab_inventory, tmp_path / "console", "asterisk_not_root")
        assert controls["VOIP-CORE-002"]["status"] == "pass", controls["VOIP-CORE-002"]
    finally:
        pbx.run("pkill -f '^rasterisk'")
