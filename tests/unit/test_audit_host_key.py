"""The audit trusts exactly the known_hosts file Ansible's connection uses, so the two agree on
a host key: the lab's own file (through -F .lab/ssh/config), or ~/.ssh/known_hosts."""
import base64
import os

from audit.plugin import known_hosts_file, known_hosts_verdict

KEY_A = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + b"A" * 32).decode()
KEY_B = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + b"B" * 32).decode()


def test_the_lab_config_names_its_own_known_hosts(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host 198.18.0.* 198.51.100.*\n  UserKnownHostsFile %s/known_hosts\n"
                      "  StrictHostKeyChecking yes\n" % tmp_path)
    assert known_hosts_file("-F %s" % config, "198.18.0.10") == str(tmp_path / "known_hosts")
    assert known_hosts_file("-o ControlMaster=auto -F%s" % config, "198.51.100.20") == str(tmp_path / "known_hosts")
    # A host the config does not cover falls back to the user's file, as OpenSSH does.
    assert known_hosts_file("-F %s" % config, "203.0.113.5") == os.path.expanduser("~/.ssh/known_hosts")


def test_an_explicit_option_wins_and_no_option_means_the_users_file(tmp_path):
    assert known_hosts_file("-o UserKnownHostsFile=/x/kh -F /nonexistent", "h") == "/x/kh"
    assert known_hosts_file("-oUserKnownHostsFile=/y/kh", "h") == "/y/kh"
    assert known_hosts_file("", "h") == os.path.expanduser("~/.ssh/known_hosts")
    config = tmp_path / "config"
    config.write_text("Host h\n  UserKnownHostsFile /z/kh\n")
    assert known_hosts_file(None, "h", ssh_config=str(config)) == "/z/kh"


def test_verdicts_match_mismatch_absent(tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("198.18.0.10 ssh-ed25519 %s\n[198.18.0.11]:2222 ssh-ed25519 %s\n" % (KEY_A, KEY_B))
    assert known_hosts_verdict(str(known), "198.18.0.10", None, "ssh-ed25519", KEY_A) == "match"
    assert known_hosts_verdict(str(known), "198.18.0.10", 22, "ssh-ed25519", KEY_B) == "mismatch"
    assert known_hosts_verdict(str(known), "198.18.0.11", 2222, "ssh-ed25519", KEY_B) == "match"
    assert known_hosts_verdict(str(known), "198.18.0.12", None, "ssh-ed25519", KEY_A) == "absent"
    assert known_hosts_verdict(str(tmp_path / "missing"), "198.18.0.10", None, "ssh-ed25519", KEY_A) == "absent"
