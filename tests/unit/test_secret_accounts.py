"""One secret judgement: the module asterisk_secret_audit (which rotates) and the audit's controls
(VOIP-SIP-001/002, VOIP-AMI-004) collect the same accounts through module_utils/secret_accounts,
from pjsip.conf, pjsip_wizard.conf and manager.conf alike, and agree on which are weak."""
import pytest
from _pytest.outcomes import Failed

import asterisk_secret_audit
from ansible.module_utils import secret_accounts
from ansible.module_utils.secret_policy import SecretPolicy
from audit.controls import test_ami as ami_controls
from audit.controls import test_sip_secrets as sip_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from tests.unit.test_asterisk_booleans import FilesOnlyHost

STRONG = ["Zq7vR2mX9kLp4TbW8nYc3HdF", "Gs5Ne8UwQ2jVx6KrA9mPz4Lt", "Hd3Yb7RkW5qZn2CvJ8eTx6Fm"]
FILES = {
    "/etc/asterisk/pjsip.conf": "[1001]\ntype=endpoint\nauth=1001\n[1001]\ntype=auth\nusername=1001\npassword=%s\n" % STRONG[0],
    # A wizard phone whose inbound secret is its own name: the audit used to read no wizard file.
    "/etc/asterisk/pjsip_wizard.conf": "[2001]\ntype=wizard\naccepts_auth=yes\ninbound_auth/username=2001\n"
                                       "inbound_auth/password=2001\naccepts_registrations=yes\n",
    "/etc/asterisk/manager.conf": "[general]\nenabled=yes\nbindaddr=127.0.0.1\n[admin]\nsecret=%s\nread=system\n"
                                  "[gui]\nsecret=password1\nread=system\n" % STRONG[1],
}


def module_failures(tmp_path):
    for path, text in FILES.items():
        (tmp_path / path.rsplit("/", 1)[1]).write_text(text)
    result, _groups, _credentials = asterisk_secret_audit.run_audit(
        str(tmp_path), ["pjsip.conf", "pjsip_wizard.conf", "manager.conf"], SecretPolicy())
    return set(result["failed_objects"])


def test_the_module_and_the_audit_find_the_same_weak_secrets(tmp_path):
    assert module_failures(tmp_path) == {"2001-iauth", "ami:gui"}
    target = HostContext(FilesOnlyHost(FILES), "pbx")
    with pytest.raises(Failed, match=r"1 of 2 SIP secrets are weak: 2001-iauth \("):
        sip_controls.test_sip_secrets_are_strong(target, Evidence())
    with pytest.raises(Failed, match=r"weak AMI secrets: gui \("):
        ami_controls.test_ami_secrets_strong(target, Evidence())


def test_the_running_asterisks_secrets_replace_the_files_and_add_what_no_file_defines():
    groups = [("/etc/asterisk/pjsip.conf", HostContext(FilesOnlyHost(FILES), "pbx").config("pjsip.conf"))]
    accounts = secret_accounts.collect_accounts(groups)
    live = {"1001": {"username": "1001", "password": "1001", "md5_cred": "", "password_digest": ""},
            "realtime-7": {"username": "7", "password": STRONG[2], "md5_cred": "", "password_digest": ""}}
    merged = dict((a.id, a) for a in secret_accounts.with_live_pjsip_auths(accounts, live, {"1001": {"1001"}}))
    assert set(merged) == {"1001", "realtime-7"}
    assert merged["1001"].secret == "1001" and merged["realtime-7"].file == "the running Asterisk"
    findings = dict((f["id"], f) for f in secret_accounts.audit_accounts(list(merged.values()), SecretPolicy()))
    assert not findings["1001"]["passed"] and findings["realtime-7"]["passed"]
