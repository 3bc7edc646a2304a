"""library/asterisk_config.py, option values_mode=append: add lines beside the operator's own."""
import os

import pytest

from asterisk_config import apply_change
from test_asterisk_config import run_module

TRUNK = """[carrier]
type = endpoint
context = from-carrier
set_var = CDR(accountcode)=acme   ; operator's own
aors = carrier

[carrier]
type = aor
contact = sip:198.51.100.20:5060
"""
GROUP = "GROUP(voipguard-trunk)=carrier"


def append(text, values, **extra):
    return apply_change(text, "pjsip.conf", section="carrier", section_type="endpoint",
                        option="set_var", values=values, values_mode="append", **extra)


def test_append_keeps_existing_lines_and_adds_after_the_last_occurrence():
    after, result = append(TRUNK, [GROUP])
    assert after == TRUNK.replace("acme   ; operator's own\n",
                                  "acme   ; operator's own\nset_var = %s\n" % GROUP)
    assert result["sections"] == 1 and not result["created"]


def test_append_is_idempotent_and_skips_values_already_present():
    once, _ = append(TRUNK, [GROUP])
    twice, _ = append(once, [GROUP, "CDR(accountcode)=acme"])
    assert twice == once


def test_append_without_the_option_adds_at_the_end_of_the_section():
    text = TRUNK.replace("set_var = CDR(accountcode)=acme   ; operator's own\n", "")
    after, _ = append(text, [GROUP])
    assert "aors = carrier\nset_var = %s\n\n[carrier]\ntype = aor" % GROUP in after


def test_append_with_value_and_default_exact_mode_unchanged():
    after, _ = apply_change(TRUNK, "pjsip.conf", section="carrier", section_type="endpoint",
                            option="set_var", value=GROUP, values_mode="append")
    assert after.count("set_var") == 2
    exact, _ = apply_change(TRUNK, "pjsip.conf", section="carrier", section_type="endpoint",
                            option="set_var", values=[GROUP])
    assert exact.count("set_var") == 1 and "acme" not in exact


def test_append_to_a_missing_section_fails_without_create_section():
    from asterisk_config import ChangeError
    with pytest.raises(ChangeError, match="create_section is false"):
        apply_change(TRUNK, "pjsip.conf", section="other", section_type="endpoint",
                     option="set_var", values=[GROUP], values_mode="append",
                     create_section=False)


def test_module_append_mode_changes_once(tmp_path):
    path = tmp_path / "pjsip.conf"
    path.write_text(TRUNK)
    os.chmod(path, 0o640)
    args = dict(path=str(path), section="carrier", section_type="endpoint", option="set_var",
                values=[GROUP], values_mode="append", create_section=False)
    checked = run_module(args, "--check", "--diff")
    assert checked["changed"] is True and path.read_text() == TRUNK
    first = run_module(args)
    assert first["changed"] is True and path.read_text().count("set_var") == 2
    assert run_module(args)["changed"] is False


def test_module_refuses_an_unknown_mode(tmp_path):
    path = tmp_path / "pjsip.conf"
    path.write_text(TRUNK)
    result = run_module(dict(path=str(path), section="carrier", section_type="endpoint",
                             option="set_var", values=[GROUP], values_mode="merge"))
    assert "value of values_mode must be one of" in result["msg"]
    assert path.read_text() == TRUNK
