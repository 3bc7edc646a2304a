"""VOIP-CORE-002 judges the Asterisk daemon's user with pbx_distribution.asterisk_run_user, the
function pbx_distribution_info (and so the role's "must not run as root" check) uses. A remote
console (asterisk -rvvv, as root) keeps the command name asterisk, so ps -C asterisk lists it; before,
the audit failed every PBX whose operator had a root console open. No host runs here: a fake one
answers ps as procps printed it on the lab's Asterisk 22 (tests/lab/test_live_state.py runs the
control there)."""
import pytest
from _pytest.outcomes import Failed, Skipped

from audit.controls import test_core as core_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from fake_results import FakeHost, FakeResult

DAEMON = "asterisk /usr/sbin/asterisk -g -f -p -U asterisk -G asterisk\n"
# What is left of "-r" after the rename shows as a second word.
ROOT_CONSOLE = "root     rasterisk r\n"


class PsHost(FakeHost):
    def __init__(self, ps_output, rc=0):
        super().__init__({})
        self.ps_output, self.rc = ps_output, rc

    def run_one(self, command):
        assert command == "ps -o user=,args= -C asterisk"
        return FakeResult(self.ps_output, rc=self.rc)


def judge(ps_output, rc=0):
    core_controls.test_asterisk_not_root(HostContext(PsHost(ps_output, rc), "pbx"), Evidence())


def test_a_root_console_beside_the_daemon_is_not_the_daemon():
    judge(ROOT_CONSOLE + DAEMON)


def test_a_daemon_running_as_root_fails_even_beside_a_console():
    with pytest.raises(Failed, match="runs as root"):
        judge(ROOT_CONSOLE + "root     /usr/sbin/asterisk -f\n")


def test_only_a_console_means_asterisk_is_not_running():
    with pytest.raises(Skipped, match="not running"):
        judge(ROOT_CONSOLE)
    with pytest.raises(Skipped, match="not running"):
        judge("", rc=1)


def test_a_host_without_ps_is_not_reported_as_without_asterisk():
    with pytest.raises(Failed, match="cannot list the processes"):
        judge("", rc=127)


def test_the_trunk_boundary_instance_is_not_taken_for_the_pbxs_asterisk():
    # procps cuts a user name longer than its column (voipguard-boundary) to "voipgua+".
    boundary = "voipgua+ /usr/sbin/asterisk -f -C /etc/voipguard-boundary/asterisk.conf\n"
    judge(boundary + DAEMON)
    with pytest.raises(Skipped):
        judge(boundary)  # no PBX Asterisk at all: not applicable, not passed
