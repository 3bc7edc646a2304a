"""Each role's README.md is what scripts/role-readmes.py generates from its argument specs: CI
fails when one is stale (edited by hand, or specs changed without regenerating)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_role_readmes_are_generated_from_the_argument_specs():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/role-readmes.py"), "--check"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_a_readme_names_every_variable_of_its_role():
    import yaml  # pylint: disable=import-outside-toplevel
    for specs_path in ROOT.glob("roles/*/meta/argument_specs.yml"):
        readme = (specs_path.parent.parent / "README.md").read_text()
        for entry in yaml.safe_load(specs_path.read_text())["argument_specs"].values():
            for name in entry.get("options") or {}:
                assert "`%s`" % name in readme, (specs_path, name)
