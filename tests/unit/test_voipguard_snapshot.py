"""All or nothing: a snapshot taken before a run's first change puts every tree back byte for
byte (contents, modes, files the run added or removed, trees it created)."""
import os

import pytest

from ansible.module_utils.voipguard_snapshot import (RunLockHeld, acquire_lock, lock_held, read_lock, release_lock,
                                                     restore, take, take_back_marker)


def tree(root):
    return dict((os.path.relpath(os.path.join(d, n), root),
                 (open(os.path.join(d, n), "rb").read(), os.stat(os.path.join(d, n)).st_mode))
                for d, _, names in os.walk(root) for n in names)


def test_restore_undoes_edits_additions_removals_and_new_trees(tmp_path):
    etc = tmp_path / "etc" / "asterisk"
    (etc / "pjsip.d").mkdir(parents=True)
    (etc / "pjsip.conf").write_text("[anonymous]\ntype = endpoint\n")
    (etc / "pjsip.d" / "users.conf").write_text("[1001]\npassword = 1001\n")
    (etc / "manager.conf").write_text("[general]\nenabled = yes\n")
    os.chmod(etc / "manager.conf", 0o640)
    new_tree = tmp_path / "etc" / "nftables.d"
    before = tree(etc)
    archive = str(tmp_path / "state" / "snapshot.tar")
    assert take([str(etc), str(new_tree)], archive) == 3
    # What a run that fails halfway leaves.
    (etc / "pjsip.conf").write_text("; hardened\n")
    os.chmod(etc / "manager.conf", 0o600)
    (etc / "pjsip.d" / "users.conf").unlink()
    (etc / "extensions_voipguard.conf").write_text("[voipguard-guard]\n")
    new_tree.mkdir()
    (new_tree / "voipguard.nft").write_text("table inet voipguard {}\n")
    changed = restore(archive)
    assert tree(etc) == before
    assert not new_tree.exists()
    assert changed == sorted([str(etc / "pjsip.conf"), str(etc / "pjsip.d" / "users.conf"),
                              str(etc / "extensions_voipguard.conf"), str(new_tree / "voipguard.nft")])
    assert oct(os.stat(etc / "manager.conf").st_mode & 0o777) == "0o640"


def test_restore_of_an_untouched_tree_changes_nothing(tmp_path):
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[1001]\n")
    archive = str(tmp_path / "snapshot.tar")
    take([str(etc)], archive)
    assert restore(archive) == []
    assert oct(os.stat(archive).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("changed_files, pending_before, removed", [
    ([], False, True),  # nothing put back: Asterisk reads what it read before
    (["/etc/asterisk/pjsip.conf"], False, False),  # a file went back: the reload is still owed
    ([], True, False),  # an earlier run's marker stays for the next run
])
def test_the_runs_pending_reload_marker_goes_only_when_nothing_was_put_back(tmp_path, changed_files,
                                                                               pending_before, removed):
    marker = tmp_path / "pending-reload"
    marker.write_text("pending\n")
    assert take_back_marker(str(marker), changed_files, pending_before) is removed
    assert marker.exists() is not removed
    assert take_back_marker(str(tmp_path / "none"), [], False) is False


# One run at a time per host: the run lock.

def test_a_second_run_is_refused_while_the_first_holds_the_host(tmp_path):
    lock = str(tmp_path / "run" / "lock")
    token, stale = acquire_lock(lock, "alice on laptop", timeout=1800, now=1000.0)
    assert stale is None and os.stat(lock).st_mode & 0o777 == 0o600
    with pytest.raises(RunLockHeld) as held:
        acquire_lock(lock, "awx on tower", timeout=1800, now=1600.0)
    assert held.value.holder["holder"] == "alice on laptop" and held.value.age == 600
    assert "token" in read_lock(lock) and read_lock(lock)["token"] == token
    assert lock_held(lock, 1800, now=1600.0)["holder"] == "alice on laptop"


def test_only_the_holders_token_releases_the_lock(tmp_path):
    lock = str(tmp_path / "lock")
    token, _stale = acquire_lock(lock, "alice", timeout=1800)
    assert release_lock(lock, "not-the-token") is False and os.path.exists(lock)
    assert release_lock(lock, token) is True and not os.path.exists(lock)
    assert release_lock(lock, token) is False  # released twice: nothing to do
    assert lock_held(lock, 1800) is None
    acquire_lock(lock, "bob", timeout=1800)  # the next run gets in


def test_a_lock_a_dead_run_left_is_taken_over_after_the_timeout(tmp_path):
    lock = str(tmp_path / "lock")
    acquire_lock(lock, "alice", timeout=1800, now=1000.0)
    assert lock_held(lock, 1800, now=2900.0) is None
    token, stale = acquire_lock(lock, "bob", timeout=1800, now=2900.0)
    assert stale["holder"] == "alice" and read_lock(lock)["holder"] == "bob" and read_lock(lock)["token"] == token


def test_a_half_written_lock_counts_as_left_by_a_dead_run(tmp_path):
    lock = tmp_path / "lock"
    lock.write_text("")  # the run died between creating the file and writing it
    assert read_lock(str(lock)) == {}
    _token, stale = acquire_lock(str(lock), "bob", timeout=1800)
    assert stale == {} and read_lock(str(lock))["holder"] == "bob"


def test_the_module_takes_refuses_and_releases_the_lock(tmp_path):
    import voipguard_snapshot
    from tests import module_runner
    args = dict(paths=[str(tmp_path / "etc")], archive=str(tmp_path / "run" / "s.tar"),
                pending_marker=str(tmp_path / "pending"), lock=str(tmp_path / "run" / "lock"))
    taken = module_runner.run_module(voipguard_snapshot, dict(args, state="taken", holder="alice on laptop"))
    assert taken["changed"] is False and taken["lock_token"] and taken["lock_taken_over"] is None
    second = module_runner.run_module(voipguard_snapshot, dict(args, state="taken", holder="awx"))
    assert second["failed"] and "another voipguard run holds this host (alice on laptop" in second["msg"]
    checked = module_runner.run_module(voipguard_snapshot, dict(args, state="taken"), check_mode=True)
    assert checked["failed"] and "alice on laptop" in checked["msg"]
    released = module_runner.run_module(voipguard_snapshot, dict(args, state="released", token=taken["lock_token"]))
    assert released["released"] is True and released["changed"] is False
    assert not (tmp_path / "run" / "lock").exists()


def test_wrong_lock_options_are_refused_before_anything_is_saved(tmp_path):
    import voipguard_snapshot
    from tests import module_runner
    args = dict(paths=[str(tmp_path / "etc")], archive=str(tmp_path / "run" / "s.tar"),
                pending_marker=str(tmp_path / "pending"), lock=str(tmp_path / "run" / "lock"))
    no_token = module_runner.run_module(voipguard_snapshot, dict(args, state="released"))
    assert no_token["failed"] and "token" in no_token["msg"]
    zero = module_runner.run_module(voipguard_snapshot, dict(args, state="taken", lock_timeout=0))
    assert zero["failed"] and "lock_timeout must be a positive number of seconds, got 0" in zero["msg"]
    assert not (tmp_path / "run").exists()
