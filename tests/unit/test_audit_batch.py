"""audit/hostctx.py sends a fleet's worth of reads in few round trips: a file read is one shell
command, and CLI reads go in batches framed by marker lines. Run here by a real bash, with a
stand-in `asterisk` on PATH; the fakes of the other unit tests (fake_results.py) speak the same
two forms."""
import subprocess

import pytest

from audit.hostctx import LISTINGS, HostContext, run_batch


class Result:
    def __init__(self, proc):
        self.rc, self.stdout_bytes = proc.returncode, proc.stdout
        self.stdout, self.stderr = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


class BashHost:
    """A testinfra host stand-in that runs each command in a real bash; counts round trips."""

    def __init__(self, path=None):
        self.path, self.commands = path, []

    def run(self, command):
        self.commands.append(command)
        env = {"PATH": "%s:/usr/bin:/bin" % self.path} if self.path else None
        return Result(subprocess.run(["bash", "-c", command], capture_output=True, env=env, check=False))


def test_a_batch_keeps_each_output_as_it_is_and_none_for_a_failure():
    host = BashHost()
    outputs = run_batch(host, ["printf 'one\\ntwo\\n'", "printf 'no newline'", "false", "true",
                               "printf 'failed late\\n'; exit 3", "echo voipguard-batch-"])
    assert outputs == ["one\ntwo\n", "no newline", None, "", None, "voipguard-batch-\n"]
    assert len(host.commands) == 1


def test_a_file_is_read_in_one_round_trip(tmp_path):
    (tmp_path / "pjsip.conf").write_text("[global]\ntype=global\n")
    (tmp_path / "latin1.conf").write_bytes(b"; caf\xe9\n")
    host = BashHost()
    target = HostContext(host, "pbx")
    assert target.read(str(tmp_path / "pjsip.conf")) == "[global]\ntype=global\n"
    assert target.read(str(tmp_path / "missing.conf")) is None
    assert target.read(str(tmp_path)) is None  # a directory is not a file
    with pytest.raises(UnicodeDecodeError):
        target.read(str(tmp_path / "latin1.conf"))
    assert len(host.commands) == 4
    target.read(str(tmp_path / "pjsip.conf"))
    assert len(host.commands) == 4  # read once


FAKE_ASTERISK = """#!/bin/sh
# A stand-in for 'asterisk -rx' with two endpoints, one auth and one AMI user.
case "$2" in
  "pjsip show endpoints") printf ' Endpoint:  1001        Not in use    0 of inf\\n Endpoint:  carrier     Not in use    0 of inf\\n' ;;
  "pjsip show auths") printf ' Auth:  1001/1001\\n' ;;
  "manager show users") printf '\\nusername\\n--------\\nadmin\\n-------------------\\n1 manager users configured.\\n' ;;
  "pjsip show endpoint "*|"pjsip show auth "*|"manager show user "*) echo "shown: $2" ;;
  "core show version") echo "Asterisk 22.10.1" ;;
  *) echo "No such command '$2'"; exit 1 ;;
esac
"""


def test_the_cli_is_read_in_two_round_trips_whatever_the_controls_ask(tmp_path):
    (tmp_path / "asterisk").write_text(FAKE_ASTERISK)
    (tmp_path / "asterisk").chmod(0o755)
    host = BashHost(str(tmp_path))
    target = HostContext(host, "pbx")
    assert target.asterisk_cli("core show version") == "Asterisk 22.10.1\n"
    assert len(host.commands) == 2  # the listings, then every object's details
    assert target.live_endpoints() == ["1001", "carrier"]
    assert target.asterisk_cli("pjsip show endpoint carrier") == "shown: pjsip show endpoint carrier\n"
    assert target.asterisk_cli("manager show user admin") == "shown: manager show user admin\n"
    assert target.asterisk_cli("pjsip show aors") is None  # this stand-in does not know it
    assert len(host.commands) == 2
    # Something no listing named costs one more round trip, and only once.
    assert target.asterisk_cli("pjsip show endpoint ghost") == "shown: pjsip show endpoint ghost\n"
    target.asterisk_cli("pjsip show endpoint ghost")
    assert len(host.commands) == 3
    assert all(("cli", c) in target._cache for c in LISTINGS)  # pylint: disable=protected-access


def test_without_a_running_asterisk_every_read_is_none_after_one_round_trip():
    host = BashHost("/nonexistent")
    target = HostContext(host, "pbx")
    assert target.asterisk_cli("core show version") is None
    assert target.live_endpoints() is None and target.live_ami_users() is None
    assert len(host.commands) == 1


def test_an_empty_batch_costs_no_round_trip():
    host = BashHost()
    assert run_batch(host, []) == [] and host.commands == []
