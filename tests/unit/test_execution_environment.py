"""execution-environment.yml: ansible-builder v3 turns it into a build context (real
ansible-builder create; building the image needs a registry and is left to AWX's own pipeline)."""
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def pins(path):
    return dict(line.split("==", 1) for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def test_ansible_builder_creates_a_build_context(tmp_path):
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(ROOT / "execution-environment.yml"),
                           "-c", str(tmp_path / "context")], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert "ansible-core==2.19.14" in containerfile and "ansible-runner==" in containerfile
    built = tmp_path / "context" / "_build"
    assert "phonenumbers==" in (built / "requirements.txt").read_text()
    assert "openssh-client" in (built / "bindep.txt").read_text()


def test_the_image_has_the_pins_of_the_controller():
    controller = pins(ROOT / "requirements.txt")
    image = pins(ROOT / "execution-environment" / "requirements.txt")
    assert image and all(controller.get(name) == version for name, version in image.items()), image
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    for key in ("ansible_core", "ansible_runner"):
        name, version = definition["dependencies"][key]["package_pip"].split("==")
        assert controller[name] == version, name
