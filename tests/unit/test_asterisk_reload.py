"""library/asterisk_reload.py: the judgement of a reload (pure functions), then the module run
in-process against a stand-in `asterisk` CLI (a shell script: a real Asterisk runs only in the lab,
where tests/lab/test_live_state.py rolls back a run through the role's reload handlers)."""
import os
import stat

from pathlib import Path

import asterisk_reload
from tests import module_runner

CAPTURED = Path(__file__).parent / "fixtures" / "asterisk_live"

PJSIP = """[tpl](!)
type = endpoint

[1001](tpl)
[1001]
type = aor

[1002]
type = endpoint
[1002](+type=endpoint)
context = x
"""


# An installer's phone made by res_pjsip_config_wizard, and a template that makes none.
WIZARD = """[phone-tpl](!)
type = wizard
accepts_registrations = yes

[2001](phone-tpl)
inbound_auth/username = 2001

[2002]
type = wizard
"""


def test_the_cli_listings_are_read_by_name():
    # Real answers of the lab's Asterisk 22.
    assert asterisk_reload.loaded_objects((CAPTURED / "pjsip_show_endpoints.txt").read_text(), "endpoint") == \
        ["1001", "1002", "1003", "carrier"]
    assert asterisk_reload.loaded_objects((CAPTURED / "manager_show_users.txt").read_text(), "manager_user") == \
        ["admin"]


def test_the_files_define_endpoints_in_pjsip_conf_and_the_wizard_but_not_templates_or_additions(tmp_path):
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    assert asterisk_reload.defined_objects(str(tmp_path / "pjsip.conf"), "endpoint") == ["1001", "1002"]
    (tmp_path / "pjsip_wizard.conf").write_text(WIZARD)
    assert asterisk_reload.defined_objects(str(tmp_path / "pjsip.conf"), "endpoint") == \
        ["1001", "1002", "2001", "2002"]
    (tmp_path / "manager.conf").write_text("[general]\nenabled = yes\n[admin]\nsecret = x\n[ops]\nsecret = y\n")
    assert asterisk_reload.defined_objects(str(tmp_path / "manager.conf"), "manager_user") == ["admin", "ops"]


def test_a_reload_with_errors_or_a_missing_object_is_a_problem():
    assert asterisk_reload.reload_problem([], [], "pjsip.conf") == ""
    assert asterisk_reload.reload_problem([]) == ""
    assert asterisk_reload.reload_problem([], ["1002"], "pjsip.conf") == \
        "pjsip.conf: defined in the files but not loaded: 1002"
    assert asterisk_reload.reload_problem(["ERROR[12] config.c: bad"], []) == "ERROR[12] config.c: bad"


def test_new_log_lines_waits_for_a_quiet_log_and_survives_rotation(tmp_path):
    log = tmp_path / "messages.log"
    log.write_text("old line\n")
    start = os.path.getsize(log)
    ticks = iter(range(1000))
    writes = {2: "ERROR[1] late line\n"}

    def clock():
        return next(ticks) / 10.0

    def sleep(_seconds):
        step = len(writes) and min(writes)
        if step:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(writes.pop(step))
    assert asterisk_reload.new_log_lines(str(log), start, 5.0, clock, sleep) == ["ERROR[1] late line"]
    log.write_text("rotated\n")
    assert asterisk_reload.new_log_lines(str(log), start + 100, 0.0) == ["rotated"]


def test_module_reports_the_errors_asterisk_logged(tmp_path, monkeypatch):
    log = tmp_path / "messages.log"
    log.write_text("before\n")
    config = tmp_path / "pjsip.conf"
    config.write_text(PJSIP)
    fake = tmp_path / "bin" / "asterisk"
    fake.parent.mkdir()
    # Stand-in for the Asterisk CLI: the reload logs an error, the listing holds endpoint 1001 only.
    fake.write_text("#!/bin/sh\ncase \"$2\" in\n"
                    "  module*) echo '[Dec  1] ERROR[42] config.c: pjsip.conf line 9 bad' >> %s ;;\n"
                    "  pjsip*) printf ' Endpoint:  1001    Unavailable   0 of inf\\n\\nObjects found: 1\\n' ;;\nesac\n"
                    % log)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", "%s:%s" % (fake.parent, os.environ["PATH"]))
    args = dict(command="module reload res_pjsip.so", config=str(config), count_command="pjsip show endpoints",
                count_type="endpoint", log_file=str(log), settle=1.0)
    result = module_runner.run_module(asterisk_reload, args)
    assert result["changed"] is True and result["errors"] == ["[Dec  1] ERROR[42] config.c: pjsip.conf line 9 bad"]
    assert (result["loaded"], result["expected"]) == (1, 2)
    assert result["problem"].endswith("pjsip.conf: defined in the files but not loaded: 1002")
    checked = module_runner.run_module(asterisk_reload, args, check_mode=True)
    assert checked["changed"] is False and checked["problem"] == ""
    assert log.read_text().count("ERROR") == 1  # check mode reloaded nothing


def test_a_bad_error_regex_fails_before_reloading(tmp_path):
    result = module_runner.run_module(asterisk_reload, dict(command="module reload res_pjsip.so",
                                                            error_regex="ERROR[", log_file=str(tmp_path / "log")))
    assert result.get("failed") is True and "error_regex is not a regular expression" in result["msg"]
    needs_config = module_runner.run_module(asterisk_reload, dict(command="manager reload",
                                                                  count_command="manager show users"))
    assert needs_config.get("failed") is True and "config" in needs_config["msg"]


def test_several_reloads_run_in_order_and_are_judged_together(tmp_path, monkeypatch):
    log = tmp_path / "messages.log"
    log.write_text("before\n")
    calls = tmp_path / "calls"
    pjsip, manager = tmp_path / "pjsip.conf", tmp_path / "manager.conf"
    pjsip.write_text(PJSIP)
    manager.write_text("[general]\nenabled = yes\n[admin]\nsecret = x\n[monitor]\nsecret = y\n")
    fake = tmp_path / "bin" / "asterisk"
    fake.parent.mkdir()
    # PJSIP loads both endpoints; the manager reload logs an error and keeps 1 of the 2 users.
    fake.write_text("#!/bin/sh\necho \"$2\" >> %s\ncase \"$2\" in\n"
                    "  'manager reload') echo 'ERROR[7] manager.c: bad line' >> %s ;;\n"
                    "  'pjsip show endpoints') printf ' Endpoint:  1001\\n Endpoint:  1002\\n' ;;\n"
                    "  'manager show users') printf 'username\\n--------\\nadmin\\n-------------------\\n"
                    "1 manager users configured.\\n' ;;\nesac\n" % (calls, log))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", "%s:%s" % (fake.parent, os.environ["PATH"]))
    reloads = [dict(command="module reload res_pjsip.so", config=str(pjsip), count_command="pjsip show endpoints",
                    count_type="endpoint"),
               dict(command="manager reload", config=str(manager), count_command="manager show users",
                    count_type="manager_user"),
               dict(command="module reload http")]
    result = module_runner.run_module(asterisk_reload, dict(reloads=reloads, log_file=str(log), settle=1.0))
    assert result["reloaded"] == ["module reload res_pjsip.so", "manager reload", "module reload http"]
    # Every reload first, then the counts: one wait for the log serves them all.
    assert calls.read_text().splitlines() == ["module reload res_pjsip.so", "manager reload", "module reload http",
                                              "pjsip show endpoints", "manager show users"]
    assert result["problem"] == "ERROR[7] manager.c: bad line manager.conf: defined in the files but not loaded: monitor"
    assert "pjsip.conf" not in result["problem"]  # both endpoints loaded
    both = module_runner.run_module(asterisk_reload, dict(reloads=reloads[:1], command="manager reload"))
    assert both.get("failed") is True and "mutually exclusive" in both["msg"]
    neither = module_runner.run_module(asterisk_reload, dict(log_file=str(log)))
    assert neither.get("failed") is True and "one of the following is required" in neither["msg"]
