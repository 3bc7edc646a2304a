"""lab/lab.sh fails early with a clear message instead of half-building a lab."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = str(ROOT / "lab" / "lab.sh")


def run(args, env=None, user=None):
    command = ["bash", LAB, *args]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_not_root_is_refused():
    result = run(["up"], user="nobody")
    assert result.returncode != 0
    assert "run as root" in result.stderr


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
