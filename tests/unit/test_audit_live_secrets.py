"""VOIP-SIP-001/002 judge the secrets the running res_pjsip has loaded (``pjsip show auth X``), not
the files: a host whose files were hardened but never reloaded still answers with the factory
passwords, and the audit must fail it. The CLI answers are real ones captured from the lab's
Asterisk 22 (tests/unit/fixtures/asterisk_live); no Asterisk runs in a unit test, so a fake host
serves them. tests/lab/test_live_state.py runs the same controls against the real one."""
import shlex

import pytest
from _pytest.outcomes import Failed

from ansible.module_utils.trunk_boundary import unidentified_loop_fault
from audit.controls import test_sip_secrets as sip_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from fake_results import FakeHost, FakeResult
from tests.unit.test_asterisk_live import captured, identifies_with

PLACEHOLDER = "PASSWORD-PLACEHOLDER"
STRONG = ["Zq7vR2mX9kLp4TbW8nYc3HdF", "Gs5Ne8UwQ2jVx6KrA9mPz4Lt", "Hd3Yb7RkW5qZn2CvJ8eTx6Fm"]
PHONES = ("1001", "1002", "1003")


def pjsip_file(passwords):
    text = "[phone](!)\ntype = endpoint\ncontext = from-internal\n"
    for name, password in zip(PHONES, passwords):
        text += "[%s](phone)\nauth = %s\n[%s]\ntype = auth\nusername = %s\npassword = %s\n" % (
            name, name, name, name, password)
    return text


def cli_answers(passwords):
    answers = {"pjsip show endpoints": captured("pjsip_show_endpoints.txt"),
               "pjsip show auths": captured("pjsip_show_auths.txt")}
    for name in PHONES + ("carrier",):
        answers["pjsip show endpoint %s" % name] = captured("pjsip_show_endpoint_1001.txt").replace(
            "auth                               : 1001", "auth                               : %s" % name)
    for name, password in zip(PHONES, passwords):
        answers["pjsip show auth %s" % name] = captured("pjsip_show_auth_1001.txt").replace(
            "username                 : 1001", "username                 : %s" % name).replace(PLACEHOLDER, password)
    return answers


class PbxHost(FakeHost):
    """A testinfra host stand-in: /etc/asterisk/pjsip.conf, and an Asterisk CLI that answers
    from `answers` (None: no Asterisk running)."""

    def __init__(self, files, answers):
        super().__init__(files)
        self.answers = answers

    def run_one(self, command):
        if command.startswith("asterisk -rx"):
            if self.answers is None:
                return FakeResult("Unable to connect to remote asterisk", rc=1)
            return FakeResult(self.answers.get(shlex.split(command)[2], ""))
        assert command.startswith("find /etc/asterisk")
        return FakeResult("\n".join(sorted(self.files)))


def target_with(file_passwords, running_passwords):
    files = {"/etc/asterisk/pjsip.conf": pjsip_file(file_passwords)}
    answers = None if running_passwords is None else cli_answers(running_passwords)
    return HostContext(PbxHost(files, answers), "pbx")


def rendered(evidence):
    return repr(evidence.items)


def test_hardened_files_but_factory_passwords_loaded_fail_and_the_evidence_names_the_cli():
    target = target_with(STRONG, list(PHONES))
    evidence = Evidence()
    with pytest.raises(Failed, match="3 of 3 SIP secrets are weak") as failure:
        sip_controls.test_sip_secrets_are_strong(target, evidence)
    assert "pjsip show auth 1001" in rendered(evidence)
    assert "from the files" not in rendered(evidence)
    for secret in STRONG:
        assert secret not in rendered(evidence) and secret not in str(failure.value)


def test_strong_passwords_loaded_pass_even_when_the_files_hold_weak_ones():
    # The files are not what answers the phones; the running Asterisk is (VOIP-CORE-005 fails the drift).
    evidence = Evidence()
    sip_controls.test_sip_secrets_are_strong(target_with(list(PHONES), STRONG), evidence)
    assert all(secret not in rendered(evidence) for secret in STRONG)


def test_a_loaded_password_shared_by_two_accounts_fails_the_reuse_control():
    target = target_with(STRONG, [STRONG[0], STRONG[0], STRONG[2]])
    with pytest.raises(Failed, match="1001 = 1002") as failure:
        sip_controls.test_sip_secrets_are_not_reused(target, Evidence())
    assert STRONG[0] not in str(failure.value)
    sip_controls.test_sip_secrets_are_not_reused(target_with(STRONG, STRONG), Evidence())


def test_without_a_running_asterisk_the_files_are_judged_and_the_evidence_says_so():
    evidence = Evidence()
    with pytest.raises(Failed, match="1 of 3 SIP secrets are weak"):
        sip_controls.test_sip_secrets_are_strong(target_with([STRONG[0], STRONG[1], "1003"], None), evidence)
    assert "from the files: Asterisk did not answer" in rendered(evidence)


def test_a_trunk_the_running_asterisk_does_not_loop_through_the_guard_is_a_bypass():
    """The trunk boundary is judged live: outbound_proxy of the loaded trunk endpoint, the egress
    endpoint loaded and its context in the running dialplan."""
    answers = cli_answers(STRONG)
    target = HostContext(PbxHost({"/etc/asterisk/pjsip.conf": pjsip_file(STRONG)}, answers), "pbx",
                         {"voipguard_trunks": [{"name": "carrier", "endpoint": "carrier"}]})
    (reason,) = target.trunk_bypasses()
    assert "trunk carrier" in reason and "no trunk boundary" in reason
    looped = captured("pjsip_show_endpoint_1001.txt").replace(
        " outbound_proxy                     : \n",
        " outbound_proxy                     : sip:carrier@127.0.0.1:5060;lr\n")
    answers["pjsip show endpoint carrier"] = looped
    target = HostContext(PbxHost({"/etc/asterisk/pjsip.conf": pjsip_file(STRONG)}, answers), "pbx",
                         {"voipguard_trunks": [{"name": "carrier", "endpoint": "carrier"}]})
    assert target.trunk_bypasses() == [
        "the trunks loop to endpoint voipguard-egress, which the running Asterisk has not loaded"]
    answers["pjsip show endpoints"] += " Endpoint:  voipguard-egress                                     Unavailable   0 of inf\n"
    answers["dialplan show"] = "[ Context 'voipguard-egress' created by 'pbx_config' ]\n"
    target = HostContext(PbxHost({"/etc/asterisk/pjsip.conf": pjsip_file(STRONG)}, answers), "pbx",
                         {"voipguard_trunks": [{"name": "carrier", "endpoint": "carrier"}]})
    assert target.trunk_bypasses() == []


def test_an_operators_identify_of_the_loops_address_is_named_for_each_looped_trunk():
    """The role refuses it before writing; one added afterwards (by hand, a database row, a host
    name that now resolves to the loop's address) is the audit's to name, read from the running
    Asterisk as the run's last check reads it (lab: looped calls went to that endpoint and looped
    until Asterisk ran out of open files)."""
    answers = cli_answers(STRONG)
    answers["pjsip show endpoints"] += " Endpoint:  voipguard-trunk-carrier                              Not in use    0 of inf\n"
    running = captured("pjsip_show_identifies.txt")
    answers["pjsip show identifies"] = running
    looped = ("\n[carrier]\ntype = endpoint\ncontext = from-carrier\naors = carrier\n"
              "outbound_proxy = sip:carrier@127.0.0.1:5060\\;lr\n"
              "\n[voipguard-trunk-carrier]\ntype = endpoint\ncontext = from-carrier\naors = carrier\n"
              "\n[voipguard-egress]\ntype = identify\nendpoint = voipguard-egress\nmatch = 127.0.0.1:5060\n")
    trunks = {"voipguard_trunks": [{"name": "carrier", "endpoint": "carrier"}]}
    files = {"/etc/asterisk/pjsip.conf": pjsip_file(STRONG) + looped}
    assert HostContext(PbxHost(files, answers), "pbx", trunks).trunk_copy_drift() == {}
    # Running, whatever defines it: a host name in the file, say, resolved to 127.0.0.1.
    answers["pjsip show identifies"] = identifies_with("localapp", "1001", "127.0.0.1/32")
    assert HostContext(PbxHost(files, answers), "pbx", trunks).trunk_copy_drift() == {"carrier": (
        "identify localapp (endpoint 1001) matches 127.0.0.1/32, where the looped INVITEs come from (127.0.0.1:5060): "
        "calls to it can be taken by 1001 and loop instead of reaching the carrier")}
    # The identify module unloaded: nothing identifies the looped INVITEs as the egress.
    answers["pjsip show identifies"] = captured("pjsip_show_identifies_module_unloaded.txt")
    assert HostContext(PbxHost(files, answers), "pbx", trunks).trunk_copy_drift() == {
        "carrier": unidentified_loop_fault()}
    # With no running Asterisk to ask, the files it would load: without the egress's identify...
    unidentified = {"/etc/asterisk/pjsip.conf": pjsip_file(STRONG) + looped.split("\n[voipguard-egress]")[0]}
    assert HostContext(PbxHost(unidentified, None), "pbx", trunks).trunk_copy_drift() == {
        "carrier": unidentified_loop_fault(running=False)}
    # ...an identify of pjsip.conf...
    local = "\n[localapp]\ntype = identify\nendpoint = 1001\nmatch = 127.0.0.0/8\n"
    target = HostContext(PbxHost({"/etc/asterisk/pjsip.conf": pjsip_file(STRONG) + looped + local}, None), "pbx",
                         trunks)
    assert target.trunk_copy_drift() == {"carrier": (
        "identify localapp (endpoint 1001) matches 127.0.0.0/8, where the looped INVITEs come from (127.0.0.1:5060): "
        "calls to it can be taken by 1001 and loop instead of reaching the carrier")}
    # ...and the one the config wizard makes of a local application's remote host.
    wizard = "\n[localapp]\ntype = wizard\nremote_hosts = 127.0.0.1\nendpoint/context = from-internal\n"
    target = HostContext(PbxHost({"/etc/asterisk/pjsip.conf": pjsip_file(STRONG) + looped,
                                  "/etc/asterisk/pjsip_wizard.conf": wizard}, None), "pbx", trunks)
    assert target.trunk_copy_drift() == {"carrier": (
        "identify localapp-identify (endpoint localapp) matches 127.0.0.1, where the looped INVITEs come from "
        "(127.0.0.1:5060): calls to it can be taken by localapp and loop instead of reaching the carrier")}


def test_an_exempted_phone_passes_the_guard_control_only_while_the_trunk_boundary_checks_its_calls():
    """VOIP-TF-001 reads the operator's exemptions from the policy the role wrote: an exempted
    phone dialing in its own context passes while the running trunk boundary judges its calls to
    the trunk, and fails, named as exempted, without one. The phones nobody exempted still fail."""
    answers = cli_answers(STRONG)
    answers["pjsip show endpoint carrier"] = captured("pjsip_show_endpoint_1001.txt").replace(
        " outbound_proxy                     : \n",
        " outbound_proxy                     : sip:carrier@127.0.0.1:5060;lr\n")
    files = {"/etc/asterisk/pjsip.conf": pjsip_file(STRONG),
             "/etc/asterisk/voipguard/toll_fraud_policy.json": '{"budgets": {}, "exempt_endpoints": ["1003"]}'}
    trunks = {"voipguard_trunks": [{"name": "carrier", "endpoint": "carrier"}]}

    def reasons():
        return HostContext(PbxHost(files, answers), "pbx", trunks).unguarded()

    assert reasons() == ["endpoint 1001 dials in context from-internal, not through a guard",
                         "endpoint 1002 dials in context from-internal, not through a guard",
                         "endpoint 1003 is exempted from the guard, and no trunk boundary checks its calls to the trunk"]
    answers["pjsip show endpoints"] += " Endpoint:  voipguard-egress                                     Unavailable   0 of inf\n"
    answers["dialplan show"] = "[ Context 'voipguard-egress' created by 'pbx_config' ]\n"
    assert reasons() == ["endpoint 1001 dials in context from-internal, not through a guard",
                         "endpoint 1002 dials in context from-internal, not through a guard"]
    files["/etc/asterisk/voipguard/toll_fraud_policy.json"] = '{"budgets": {}}'
    assert len(reasons()) == 3
