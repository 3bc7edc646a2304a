"""lab/lab.sh fails early with a clear message instead of half-building a lab."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = str(ROOT / "lab" / "lab.sh")


def run(args, env=None, user=None, script=LAB):
    command = ["bash", str(script), *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture
def world_readable_lab():
    """A copy of lab/ that any user can read, wherever this clone lives (CI may clone into a
    mktemp -d folder of mode 0700, which another user cannot even enter)."""
    folder = Path(tempfile.mkdtemp(prefix="voipguard-lab-copy."))
    try:
        folder.chmod(0o755)
        shutil.copytree(ROOT / "lab", folder / "lab", ignore=shutil.ignore_patterns("factory", "image"))
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder / "lab" / "lab.sh"
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_not_root_is_refused(world_readable_lab):
    result = run(["up"], user="nobody", script=world_readable_lab)
    assert result.returncode != 0
    assert "run as root" in result.stderr


def fake_tools(folder, backend, route):
    """A PATH where podman reports the given network backend and `ip route get` the given route;
    everything else is the machine's own."""
    scripts = {
        "podman": 'case "$1" in info) echo %s ;; *) exit 0 ;; esac' % backend,
        "runc": "exit 0",
        "ip": 'case "$*" in *"route get"*) echo "$4 %s" ;; *) exit 0 ;; esac' % route,
    }
    for name, body in scripts.items():
        tool = folder / name
        tool.write_text("#!/bin/sh\n" + body + "\n")
        tool.chmod(0o755)
    return dict(os.environ, PATH="%s:/usr/sbin:/usr/bin:/sbin:/bin" % folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_a_podman_without_netavark_is_named_with_its_fix(tmp_path):
    result = run(["check-network"], env=fake_tools(tmp_path, "cni", "dev podman1 src 198.18.0.1"))
    assert result.returncode != 0
    assert "network backend is 'cni'" in result.stderr
    assert "apt-get install netavark aardvark-dns" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_a_lab_network_routed_out_of_the_machine_stops_at_once(tmp_path):
    # What a CNI --internal bridge leaves: the lab's addresses go to the default gateway.
    env = fake_tools(tmp_path, "netavark", "via 192.0.2.1 dev eth0 src 192.0.2.5 uid 0")
    result = run(["check-network"], env=env)
    assert result.returncode != 0
    assert "no address on the lab network voipguard-mgmt (198.18.0.0/24)" in result.stderr
    assert "via 192.0.2.1" in result.stderr and "netavark" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_lab_networks_attached_to_the_machine_pass(tmp_path):
    result = run(["check-network"], env=fake_tools(tmp_path, "netavark", "dev podman1 src 198.18.0.1 uid 0"))
    assert result.returncode == 0, result.stderr
    assert "attached to this machine" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the root check comes first")
def test_missing_podman_is_named(tmp_path):
    # A PATH with every usual tool but podman.
    for directory in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        for tool in Path(directory).iterdir():
            link = tmp_path / tool.name
            if tool.name != "podman" and not link.exists():
                link.symlink_to(tool)
    result = run(["up"], env={"PATH": str(tmp_path), "HOME": "/root"})
    assert result.returncode != 0
    assert "podman is missing" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_unreachable_mirror_is_named_before_anything_is_built():
    # Port 9 (discard) on loopback: nothing answers, and no traffic leaves the machine.
    env = dict(os.environ, VOIPGUARD_DEBIAN_MIRROR="http://127.0.0.1:9/debian",
               VOIPGUARD_LAB_IMAGE="localhost/voipguard-lab-never-built:latest")
    result = run(["build", "--force"], env=env)
    assert result.returncode != 0
    assert "unreachable" in result.stderr
    assert not list(Path("/var/tmp").glob("voipguard-root.*"))
