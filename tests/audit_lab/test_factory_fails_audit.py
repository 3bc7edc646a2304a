"""The audit suite against a real Asterisk: a throwaway container of the lab image with the
factory configuration must FAIL the key controls. Needs root, podman and
localhost/voipguard-lab:latest (lab/lab.sh build); skipped otherwise. Run:
  .venv/bin/pytest tests/audit_lab -q
"""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/voipguard-lab:latest"
KEY_CONTROLS = ["VOIP-SIP-001", "VOIP-PJSIP-001", "VOIP-AMI-001", "VOIP-AMI-003", "VOIP-AMI-004",
                "VOIP-CORE-001", "VOIP-TF-001", "VOIP-TF-002", "VOIP-TF-003", "VOIP-TF-005", "VOIP-FW-002",
                "VOIP-FW-004"]
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / "lab" / "containers.conf"))


def podman(*args, check=True):
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def factory_pbx():
    if shutil.which("podman") is None or os.geteuid() != 0:
        pytest.skip("needs root and podman")
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip("lab image %s not built" % IMAGE)
    name = "vgaudit-%s" % uuid.uuid4().hex[:8]
    podman("run", "-d", "--name", name, "--network", "none", "--systemd=always", IMAGE, "/lib/systemd/systemd")
    try:
        time.sleep(2)
        podman("cp", str(ROOT / "lab" / "factory" / "pbx"), "%s:/tmp/factory" % name)
        podman("cp", str(ROOT / "lab" / "factory" / "setup.sh"), "%s:/tmp/setup.sh" % name)
        podman("exec", name, "sh", "/tmp/setup.sh")
        for _ in range(30):
            if podman("exec", name, "asterisk", "-rx", "core show version", check=False).returncode == 0:
                break
            time.sleep(1)
        yield name
    finally:
        podman("rm", "-f", name, check=False)


def test_factory_configuration_fails_the_key_controls(factory_pbx, tmp_path):
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({
        "voipguard_trunks": [{"name": "carrier", "endpoint": "carrier", "addresses": ["198.51.100.20"]}],
        "voipguard_admin_networks": ["198.18.0.0/24"], "voipguard_management_address": "198.18.0.10"}))
    results = tmp_path / "results.json"
    subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "audit" / "controls"), "-q", "-p", "no:cacheprovider",
                    "--hosts=podman://" + factory_pbx, "--voipguard-vars=%s" % variables,
                    "--voipguard-results=%s" % results], cwd=ROOT, env=ENV, capture_output=True, check=False)
    data = json.loads(results.read_text())
    statuses = dict((c["id"], c["status"]) for c in data["hosts"][0]["controls"])
    assert data["hosts"][0]["status"] == "audited"
    not_failing = [cid for cid in KEY_CONTROLS if statuses.get(cid) != "fail"]
    assert not not_failing, statuses
    # The dialplan as the running Asterisk has it, not only extensions.conf: Debian's sample
    # extensions.ael, which pbx_ael loaded, passes the dialed number to Dial() unfiltered.
    dialplan = [c for c in data["hosts"][0]["controls"] if c["id"] == "VOIP-TF-005"][0]["evidence"]
    assert any(e.get("file") == "asterisk -rx 'dialplan show'" and "[ael-trunkint] DP001" in e["key"]
               for e in dialplan), dialplan
    sys.path.insert(0, str(ROOT))
    from audit import report  # pylint: disable=import-outside-toplevel
    doc = report.build_report(data)
    report.validate(doc)
    assert doc["hosts"][0]["exposure"]["unlimited"]
    assert doc["summary"]["score"]["percent"] < 30
