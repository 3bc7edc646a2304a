"""Every audit control's remediation names a real role, tag and variable of this toolkit."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REMEDIATION = re.compile(r'remediation=\{"role": "([a-z0-9_]+)",\s*"tag": "([a-z0-9_]+)",\s*"variable": "([a-z0-9_]*)"\}')


def remediations():
    for path in sorted((ROOT / "audit" / "controls").glob("test_*.py")):
        for match in REMEDIATION.finditer(path.read_text()):
            yield pytest.param(*match.groups(), id=f"{path.stem}:{match.group(1)}:{match.group(3)}")


def role_tags(role):
    tags = set()
    for task_file in (ROOT / "roles" / role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(task_file.read_text()) or []:
            value = task.get("tags") or []
            tags.update([value] if isinstance(value, str) else value)
    return tags


def test_control_ids_are_unique():
    ids = re.findall(r'@control\(id="(VOIP-[A-Z0-9]+-\d{3})"', "".join(
        path.read_text() for path in sorted((ROOT / "audit" / "controls").glob("test_*.py"))))
    assert len(ids) >= 20
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


MANUAL = re.compile(r'remediation=\{"manual": "')


def test_every_control_has_a_remediation():
    """A role that fixes it, or, where no role changes what the control finds (the [demo]
    context is reported and kept), what to do by hand: never a role that does not fix it."""
    text = "".join(path.read_text() for path in sorted((ROOT / "audit" / "controls").glob("test_*.py")))
    manual = len(MANUAL.findall(text))
    assert len(list(remediations())) >= 20
    assert len(list(remediations())) + manual == len(re.findall(r"@control\(id=", text))
    assert manual == 1  # VOIP-TF-006


@pytest.mark.parametrize("role, tag, variable", list(remediations()))
def test_remediation_points_at_the_toolkit(role, tag, variable):
    spec_file = ROOT / "roles" / role / "meta" / "argument_specs.yml"
    assert spec_file.exists(), f"no role {role}"
    assert tag in role_tags(role), f"role {role} has no tag {tag}"
    if variable:
        options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"]
        declared = set(options)
        for other in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
            declared |= set(yaml.safe_load(other.read_text())["argument_specs"]["main"]["options"])
        assert variable in declared, f"{variable} is declared by no role"
