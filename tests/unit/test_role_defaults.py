"""Defaults in one place: each role's defaults/main.yml and its meta/argument_specs.yml agree,
and toll_fraud_policy (the module the toll_fraud_guard role feeds) has no default of its own
for a parameter the role sets."""
import re
from pathlib import Path

import pytest
import yaml

from tests.role_defaults import TOLL_FRAUD_POLICY_VARIABLES, argument_specs

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_agree(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = argument_specs(role)
    for name, value in defaults.items():
        assert name in specs, "%s: %s has a default but no argument spec" % (role, name)
        if isinstance(value, str) and "{{" in value:
            continue  # computed on the host; the spec describes it in words
        assert specs[name].get("default") == value, (role, name, value, specs[name].get("default"))
    # Every default the spec declares for the role's own variables is the one the role uses;
    # shared voipguard_* variables are defaulted where they are read (| default()).
    for name, spec in specs.items():
        if "default" in spec and not name.startswith("voipguard_"):
            assert name in defaults, "%s: %s has a default only in its argument spec" % (role, name)


def test_the_toll_fraud_module_takes_every_role_setting_without_defaults_of_its_own():
    source = (ROOT / "library" / "toll_fraud_policy.py").read_text()
    spec = re.search(r"argument_spec=dict\((.*?)\n        \),", source, re.S).group(1)
    for param in TOLL_FRAUD_POLICY_VARIABLES:
        line = re.search(r"\n\s+%s=dict\(([^\n]*)\)," % param, spec)
        assert line, param
        if param != "business_hours":  # optional: no business hours, no after-hours alert
            assert "required=True" in line.group(1) and "default=" not in line.group(1), line.group(0)


@pytest.mark.parametrize("role", ROLES)
def test_no_registered_result_shadows_a_role_variable(role):
    """A task's register outranks vars/ and defaults/: a result named like a role variable would
    silently replace it for the rest of the run (a unit name became a task result once)."""
    variables = set()
    for part in ("defaults", "vars"):
        path = ROOT / "roles" / role / part / "main.yml"
        if path.exists():
            variables |= set(yaml.safe_load(path.read_text()) or {})
    registered = set()
    for path in sorted((ROOT / "roles" / role).glob("*/*.yml")):
        registered |= set(re.findall(r"^\s*register:\s*(\w+)\s*$", path.read_text(), re.M))
    assert not variables & registered, "%s: registered over role variables: %s" % (role, sorted(variables & registered))


def test_the_shadowing_check_reads_the_roles_registers():
    """The check above would pass on a pattern that reads nothing: it finds the guard's results."""
    text = (ROOT / "roles/toll_fraud_guard/tasks/alerts.yml").read_text()
    assert "toll_fraud_guard_boundary_notifier_unit" in re.findall(r"^\s*register:\s*(\w+)\s*$", text, re.M)
