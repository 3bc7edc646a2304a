"""Every module documents itself in YAML that parses, so ansible-doc -M library NAME shows it
(a colon in a plain description line once broke two of them)."""
import ast
from pathlib import Path

import pytest
import yaml

LIBRARY = Path(__file__).resolve().parents[2] / "library"
MODULES = sorted(LIBRARY.glob("*.py"))


def blocks(path):
    tree = ast.parse(path.read_text())
    return dict((node.targets[0].id, node.value.value) for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"))


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_documentation_examples_and_return_parse(path):
    found = blocks(path)
    assert set(found) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = yaml.safe_load(found["DOCUMENTATION"])
    assert documentation["module"] == path.stem
    yaml.safe_load(found["EXAMPLES"])
    yaml.safe_load(found["RETURN"])


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_check_and_diff_support_is_declared_as_the_code_does_it(path):
    # community.general's way: attributes check_mode and diff_mode, from ansible-core's fragment.
    documentation = yaml.safe_load(blocks(path)["DOCUMENTATION"])
    source = path.read_text()
    assert "ansible.builtin.action_common_attributes" in documentation["extends_documentation_fragment"]
    attributes = documentation["attributes"]
    assert attributes["check_mode"]["support"] == ("full" if "supports_check_mode=True" in source else "none")
    assert attributes["diff_mode"]["support"] == ("full" if "module._diff" in source else "none")
