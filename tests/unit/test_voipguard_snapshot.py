"""All or nothing: a snapshot taken before a run's first change puts every tree back byte for
byte (contents, modes, files the run added or removed, trees it created)."""
import os

from ansible.module_utils.voipguard_snapshot import restore, take


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
