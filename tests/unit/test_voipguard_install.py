"""library/voipguard_install.py, run in-process (tests/module_runner.py): several whole files in
one call, each validated before anything is written, with check and diff."""
import hashlib
import os

import voipguard_install
from tests import module_runner


def run(files, *flags):
    return module_runner.run_module(voipguard_install, dict(files=files), check_mode="--check" in flags,
                                    diff="--diff" in flags)


def test_installs_what_differs_once_and_then_changes_nothing(tmp_path):
    program, unit = tmp_path / "lib" / "prune.py", tmp_path / "prune.timer"
    unit.write_text("[Timer]\nOnCalendar=hourly\n")
    os.chmod(unit, 0o600)
    files = [dict(dest=str(program), content="#!/usr/bin/python3\n", mode="0755"),
             dict(dest=str(unit), content="[Timer]\nOnCalendar=hourly\n")]
    first = run(files)
    assert first["changed"] and first["changed_files"] == [str(program), str(unit)]
    assert program.read_text() == "#!/usr/bin/python3\n" and os.stat(program).st_mode & 0o7777 == 0o755
    assert os.stat(unit).st_mode & 0o7777 == 0o644  # the mode alone differed
    second = run(files)
    assert second == dict(changed=False, changed_files=[], invocation=second["invocation"],
                          checksums=first["checksums"], backup_files={})
    # The checksum is the file's, as copy and template return it (the nftables role records it).
    assert first["checksums"][str(program)] == hashlib.sha1(program.read_bytes()).hexdigest()


def test_check_mode_writes_nothing_and_diffs_each_changed_file(tmp_path):
    unit = tmp_path / "prune.timer"
    unit.write_text("old\n")
    result = run([dict(dest=str(unit), content="new\n"), dict(dest=str(tmp_path / "a.py"), content="x\n")],
                 "--check", "--diff")
    assert result["changed"] and unit.read_text() == "old\n" and not (tmp_path / "a.py").exists()
    assert [(d["before"], d["after"]) for d in result["diff"]] == [("old\n", "new\n"), ("", "x\n")]


def test_a_refused_file_stops_the_call_before_any_file_is_written(tmp_path):
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    good.write_text("before\n")
    result = run([dict(dest=str(good), content="after\n"),
                  dict(dest=str(bad), content="broken\n", validate="grep -q fine %s")])
    assert result["failed"] and "bad.conf: the new content is refused by 'grep -q fine %s'" in result["msg"]
    assert good.read_text() == "before\n" and not bad.exists()
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".voipguard")]  # no temporary left
    accepted = run([dict(dest=str(bad), content="fine\n", validate="grep -q fine %s")])
    assert accepted["changed"] and bad.read_text() == "fine\n"


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    target = tmp_path / "x"
    for entry, message in ((dict(dest="relative/x", content=""), "dest must be an absolute path"),
                           (dict(dest=str(target), content="", owner="no-such-user-here"), "unknown owner"),
                           (dict(dest=str(target), content="", mode="rwx"), "unknown owner, group or mode"),
                           (dict(dest=str(target), content="", validate="true"), "validate must contain %s")):
        result = run([entry])
        assert result["failed"] and message in result["msg"], result
    assert not target.exists()


def test_a_backup_is_kept_only_of_content_that_changes(tmp_path):
    dialplan = tmp_path / "extensions_voipguard.conf"
    dialplan.write_text("[old]\n")
    files = [dict(dest=str(dialplan), content="[new]\n", backup=True)]
    first = run(files)
    backup = first["backup_files"][str(dialplan)]
    assert open(backup).read() == "[old]\n" and dialplan.read_text() == "[new]\n"
    assert os.path.dirname(backup) == str(tmp_path)
    os.chmod(dialplan, 0o600)
    second = run(files)  # the mode alone differs: nothing worth a copy
    assert second["changed"] and second["backup_files"] == {}
    fresh = run([dict(dest=str(tmp_path / "new.conf"), content="x\n", backup=True)])
    assert fresh["changed"] and fresh["backup_files"] == {}
