"""module_utils/fail2ban_jails.py and library/fail2ban_jails_info.py: the jails fail2ban would start
and their ignoreip, read by Debian's own fail2ban-client, and which could ban an admin network."""
import shutil
from pathlib import Path

import fail2ban_jails_info
import pytest

from ansible.module_utils.fail2ban_jails import parse_dump, parse_ignoreip_status, uncovered
from tests import module_runner

DEBIAN = Path("/etc/fail2ban")
needs_fail2ban = pytest.mark.skipif(not (DEBIAN / "jail.conf").exists() or not shutil.which("fail2ban-client"),
                                    reason="Debian's fail2ban is not installed (apt-get install fail2ban)")


def test_the_dump_gives_each_jail_and_its_ignoreip_and_skips_fail2bans_warnings():
    dump = ("2026-12-07 14:57:29,953 fail2ban.configreader [21937]: WARNING 'allowipv6' not defined\n"
            "['set', 'loglevel', 'INFO']\n['add', 'sshd', 'auto']\n['set', 'sshd', 'ignorecommand', '']\n"
            "['set', 'sshd', 'addignoreip', '10.0.0.0/8', '::1']\n['add', 'nginx', 'auto']\n['start', 'sshd']\n")
    assert parse_dump(dump) == {"sshd": ["10.0.0.0/8", "::1"], "nginx": []}


def test_the_running_servers_list_is_read_as_fail2ban_client_prints_it():
    printed = "These IP addresses/networks are ignored:\n|- 127.0.0.0/8\n|- ::1\n`- 198.18.0.0/24\n"
    assert parse_ignoreip_status(printed) == ["127.0.0.0/8", "::1", "198.18.0.0/24"]
    assert parse_ignoreip_status("No IP address/network is ignored\n") == []


@pytest.mark.parametrize("network, ignoreip, missing", [
    ("198.18.0.0/24", ["198.18.0.0/16"], False),           # held by a wider network
    ("198.18.0.10", ["198.18.0.0/24"], False),
    ("198.18.0.0/24", ["198.18.0.0/25"], True),            # only half of it
    ("198.18.0.0/24", ["pbx-admin.example.net"], True),    # a name: what it covers is unknown
    ("2001:db8::/48", ["2001:DB8::/32"], False),
    ("2001:db8::/48", ["0.0.0.0/0"], True),                # another family
    ("198.18.0.0/24", [], True),
    ("198.18.0.0/24", ["0.0.0.0"], False),                 # fail2ban prints 0.0.0.0/0 so
    ("2001:db8::/48", ["::"], False),
])
def test_a_network_is_covered_only_by_an_entry_that_holds_it_whole(network, ignoreip, missing):
    assert uncovered([network], ignoreip) == ([network] if missing else [])


def run(**args):
    return module_runner.run_module(fail2ban_jails_info, args, check_mode=True)


@needs_fail2ban
def test_the_operators_jails_are_read_without_voipguards_file(tmp_path):
    config = tmp_path / "fail2ban"
    shutil.copytree(DEBIAN, config, symlinks=True)
    for extra in config.joinpath("jail.d").glob("*"):
        if extra.name != "defaults-debian.conf":
            extra.unlink()
    (tmp_path / "auth.log").write_text("")
    (config / "jail.d" / "office.local").write_text(
        "[sshd]\nenabled = true\nbackend = polling\nlogpath = %s\nignoreip = 10.0.0.0/8 ::1\n" % (tmp_path / "auth.log"))
    # voipguard's own file, as a run left it: the reading leaves it out, so a second run computes
    # the same ignoreip as the first.
    (config / "jail.d" / "voipguard.local").write_text(
        "[sshd]\nignoreip = 10.0.0.0/8 ::1 198.18.0.0/24\n[recidive]\nenabled = true\nlogpath = /dev/null\n")
    result = run(config_dir=str(config), must_ignore=["198.18.0.0/24"])
    assert result["installed"] and result["jails"] == {"sshd": ["10.0.0.0/8", "::1"]}
    assert result["unprotected"] == {"sshd": ["198.18.0.0/24"]}
    assert not result["changed"]


@needs_fail2ban
def test_a_configuration_fail2ban_cannot_read_stops_the_run(tmp_path):
    config = tmp_path / "fail2ban"
    shutil.copytree(DEBIAN, config, symlinks=True)
    (config / "jail.d" / "typo.local").write_text("[sshd]\nenabled = true\nmaxretry = %(nowhere)s\n")
    result = run(config_dir=str(config))
    assert result["failed"] and "fail2ban cannot start with its configuration" in result["msg"]
    assert "nothing was changed" in result["msg"]


def test_a_malformed_admin_network_is_refused():
    result = run(must_ignore=["198.18.0.0/255.255.255.0"])
    assert result["failed"] and "not a netmask" in result["msg"]


def test_a_running_jail_that_can_ban_an_admin_network_fails_naming_it(monkeypatch):
    """fail2ban-client is replaced by its printed answers here: a running server is the lab's part
    (tests/lab/test_perimeter.py)."""
    answers = {("status",): "Status\n|- Number of jail:\t3\n`- Jail list:\tsshd, voipguard-asterisk, phones\n",
               ("get", "sshd", "actions"): "The jail sshd has the following actions:\nnftables",
               ("get", "voipguard-asterisk", "actions"): "The jail voipguard-asterisk has the following actions:\n"
                                                         "nftables",
               # The phones' watch jail only alerts: it cannot lock anyone out.
               ("get", "phones", "actions"): "The jail phones has the following actions:\nvoipguard-phone-alert",
               ("get", "sshd", "ignoreip"): "These IP addresses/networks are ignored:\n`- 10.0.0.0/8\n",
               ("get", "voipguard-asterisk", "ignoreip"):
                   "These IP addresses/networks are ignored:\n|- 127.0.0.0/8\n`- 198.18.0.0/24\n"}
    monkeypatch.setattr(fail2ban_jails_info.AnsibleModule, "get_bin_path", lambda self, name: "/usr/bin/" + name)
    monkeypatch.setattr(fail2ban_jails_info.AnsibleModule, "run_command",
                        lambda self, args: (0, answers[tuple(args[1:])], ""))
    result = run(source="running", must_ignore=["198.18.0.0/24"], fail_if_unprotected=True)
    assert result["failed"] and result["unprotected"] == {"sshd": ["198.18.0.0/24"]}
    assert result["alert_only"] == ["phones"]
    assert "jail sshd does not ignore 198.18.0.0/24" in result["msg"]
    assert run(source="running", must_ignore=["198.18.0.0/24"])["unprotected"] == {"sshd": ["198.18.0.0/24"]}


@needs_fail2ban
def test_the_reading_writes_nothing_through_a_linked_directory(tmp_path):
    real_jails = tmp_path / "elsewhere"
    shutil.copytree(DEBIAN / "jail.d", real_jails)
    (real_jails / "voipguard.local").write_text("[recidive]\nenabled = false\n")
    config = tmp_path / "fail2ban"
    shutil.copytree(DEBIAN, config, symlinks=True, ignore=shutil.ignore_patterns("jail.d"))
    (config / "jail.d").symlink_to(real_jails)
    (tmp_path / "auth.log").write_text("")
    (real_jails / "office.local").write_text("[sshd]\nbackend = polling\nlogpath = %s\n" % (tmp_path / "auth.log"))
    result = run(config_dir=str(config))
    assert not result.get("failed"), result.get("msg")
    assert (real_jails / "voipguard.local").exists(), "the reading removed the live file"
    assert run(config_dir=str(config), own_file="/etc/passwd")["failed"]


@needs_fail2ban
def test_a_later_file_that_needs_ours_is_named(tmp_path):
    config = tmp_path / "fail2ban"
    shutil.copytree(DEBIAN, config, symlinks=True)
    (tmp_path / "auth.log").write_text("")
    (config / "jail.d" / "office.local").write_text("[sshd]\nbackend = polling\nlogpath = %s\n" % (tmp_path / "auth.log"))
    (config / "jail.d" / "voipguard.local").write_text("[sshd]\nignoreip = 198.18.0.0/24\n")
    (config / "jail.d" / "zz-office.local").write_text("[sshd]\nignoreip = %(known/ignoreip)s 10.9.0.0/16\n")
    result = run(config_dir=str(config))
    assert result["failed"] and "a file read after it refers to a value it sets" in result["msg"]
