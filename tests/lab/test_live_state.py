"""The running PBX is the truth: a host whose files were hardened but whose running Asterisk
still holds something else is reloaded by the next run (and the audit fails it until then); a
run that fails after it changed files puts every one of them back and reloads them."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, harden

ANONYMOUS = "\n[anonymous]\ntype = endpoint\ncontext = from-internal\n"
HOST_FILES = "find /etc/asterisk /etc/fail2ban /etc/nftables.d -type f -exec sha256sum {} + | sort"


def live_endpoints(pbx):
    return pbx.check_output("asterisk -rx 'pjsip show endpoints'")


def audit_statuses(inventory, out):
    subprocess.run([sys.executable, "-m", "audit", "run", "--inventory", inventory, "--hosts", "pbx",
                    "--out", str(out), "-k", "no_anonymous or running_configuration"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads((out / "report.json").read_text())
    return dict((c["id"], c["status"]) for c in report["hosts"][0]["controls"])


@pytest.fixture
def pjsip_saved(lab):
    """pjsip.conf as the hardened lab has it, put back (and reloaded) after the test."""
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.saved")
    yield pbx
    pbx.check_output("cp -p /root/pjsip.conf.saved /etc/asterisk/pjsip.conf && "
                     "asterisk -rx 'module reload res_pjsip.so' >/dev/null")


def test_files_hardened_but_never_loaded_fail_the_audit_and_the_next_run_reloads(pjsip_saved, lab_inventory, tmp_path):
    pbx = pjsip_saved
    # What a run that died before its reload leaves: the running Asterisk still has the
    # factory's anonymous endpoint, the files no longer do.
    pbx.check_output("printf %s >> /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'",
                     ANONYMOUS)
    pbx.check_output("cp -p /root/pjsip.conf.saved /etc/asterisk/pjsip.conf")
    assert "anonymous" in live_endpoints(pbx)
    statuses = audit_statuses(lab_inventory, tmp_path / "drifted")
    assert statuses["VOIP-CORE-005"] == "fail"
    assert statuses["VOIP-PJSIP-001"] == "fail"  # read from the running Asterisk, not the files
    result = harden(lab_inventory)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "endpoint anonymous is loaded but in no file" in result.stdout
    assert "anonymous" not in live_endpoints(pbx)
    statuses = audit_statuses(lab_inventory, tmp_path / "reloaded")
    assert statuses["VOIP-CORE-005"] == "pass" and statuses["VOIP-PJSIP-001"] == "pass"


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
        assert "Refuse OPTIONS from unauthenticated sources" in output
        assert "Every file it had changed was put back" in output, output[-3000:]
        # ...and the host is byte for byte as before, running what its files say.
        assert pbx.check_output(HOST_FILES) == before
        endpoint = pbx.check_output("asterisk -rx 'pjsip show endpoint 1001'")
        assert any(line.split(":")[0].strip() == "allow_unauthenticated_options" and line.split(":")[1].strip() == "true"
                   for line in endpoint.splitlines())
        assert not pbx.file("/var/lib/voipguard/pending-reload").exists
    finally:
        pbx.check_output("rm -f /etc/asterisk/voipguard && mv /root/voipguard.saved /etc/asterisk/voipguard")
