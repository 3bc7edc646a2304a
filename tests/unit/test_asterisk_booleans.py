"""Asterisk's booleans have one implementation (asterisk_conf.ast_true/ast_false, main/utils.c's
words), and the roles (through asterisk_config_info's true_options), the modules and the audit
all judge with it. Before, the audit knew only yes/true/on/1 and passed
allow_unauthenticated_options = y, which Asterisk reads as yes."""
import pytest
from _pytest.outcomes import Failed

from ansible.module_utils.asterisk_conf import ast_false, ast_true, load
from asterisk_config_info import describe
from audit.controls import test_core as core_controls
from audit.controls import test_pjsip as pjsip_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from fake_results import FakeHost, FakeResult


@pytest.mark.parametrize("word", ["yes", "true", "y", "t", "1", "on", "YES", "On", " y ", "T"])
def test_asterisks_true_words(word):
    assert ast_true(word) and not ast_false(word)


@pytest.mark.parametrize("word", ["no", "false", "n", "f", "0", "off", "NO", "Off"])
def test_asterisks_false_words(word):
    assert ast_false(word) and not ast_true(word)


@pytest.mark.parametrize("word", ["", None, "maybe", "2", "enabled", "yess"])
def test_other_words_are_neither(word):
    assert not ast_true(word) and not ast_false(word)


PJSIP = """\
[phone-tpl](!)
type = endpoint
allow_unauthenticated_options = y

[1001](phone-tpl)
auth = 1001

[1002](phone-tpl)
allow_unauthenticated_options = No

[1001]
type = aor
remove_existing = On
"""


def test_config_info_lists_the_options_asterisk_reads_as_true(tmp_path):
    path = tmp_path / "pjsip.conf"
    path.write_text(PJSIP)
    sections = {(s["name"], s["type"]): s for s in describe(load(str(path)))["sections"]}
    assert "allow_unauthenticated_options" in sections[("1001", "endpoint")]["true_options"]
    assert "allow_unauthenticated_options" not in sections[("1002", "endpoint")]["true_options"]
    assert sections[("1001", "aor")]["true_options"] == ["remove_existing"]


class FilesOnlyHost(FakeHost):
    """Stands in for a testinfra host where only /etc/asterisk's files matter (no SSH here, no
    running Asterisk: the controls fall back to the files, as they do on a host whose Asterisk
    does not answer)."""

    def run_one(self, command):
        if command.startswith("asterisk -rx"):
            return FakeResult("Unable to connect to remote asterisk", rc=1)
        assert command.startswith("find /etc/asterisk")
        return FakeResult("\n".join(sorted(self.files)))


def test_the_audit_fails_an_endpoint_whose_options_are_open_with_y():
    target = HostContext(FilesOnlyHost({"/etc/asterisk/pjsip.conf": PJSIP}), "pbx")
    with pytest.raises(Failed, match="1001"):
        pjsip_controls.test_options_are_authenticated(target, Evidence())


def test_the_audit_reads_live_dangerously_t_as_on():
    target = HostContext(FilesOnlyHost({"/etc/asterisk/asterisk.conf": "[options]\nlive_dangerously = t\n"}), "pbx")
    with pytest.raises(Failed, match="live_dangerously = t"):
        core_controls.test_live_dangerously_off(target, Evidence())
    target = HostContext(FilesOnlyHost({"/etc/asterisk/asterisk.conf": "[options]\nlive_dangerously = n\n"}), "pbx")
    core_controls.test_live_dangerously_off(target, Evidence())

