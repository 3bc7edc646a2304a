"""asterisk_secret_audit: finding, judging and rotating SIP/AMI secrets without leaking them."""
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from ansible.module_utils.asterisk_conf import AsteriskConfigError
from ansible.module_utils.secret_policy import SecretPolicy
from tests import module_runner

import asterisk_secret_audit as audit

FIXTURE = Path(__file__).parent / "fixtures" / "secret_audit" / "pbx"
FILES = ["pjsip.conf", "pjsip_wizard.conf", "manager.conf"]
# Every secret written in the fixture that is not also a name (those cannot be hidden:
# "1001" is the username too). None of them may appear in any result or diff.
FIXTURE_SECRETS = ["Summer2024!", "trustno1", "q7VxR2mLk9TzW4hNc8JpY3bFd6Gs", "carrier123",
                   "hunter2hunter2", "0123456789abcdef0123456789abcdef", "wizphone2024",
                   "letmein", "Xk3pQ9vLm2Rt7Wz5Nb8Hc4Jd6Fg1"]

CONTACTS_OUTPUT = """
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  1001/sip:1001@198.51.100.30:5060;ob                  0c8b0d6a2d Avail         3.161
  Contact:  carrier/sip:198.51.100.20:5060                       4a1c7e2b90 Avail         0.512
  Contact:  wizphone/sip:wizphone@198.51.100.31:5062             77aa12bb34 Unavail         nan

Objects found: 3
"""


@pytest.fixture
def pbx(tmp_path):
    target = tmp_path / "asterisk"
    shutil.copytree(FIXTURE, target)
    return target


def snapshot(directory):
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def run(pbx, mode="audit", exclude=(), policy=None):
    result, groups, credentials = audit.run_audit(str(pbx), FILES, policy or SecretPolicy(),
                                                  mode, exclude)
    rotated = result.pop("_rotated_accounts")
    return result, groups, credentials, rotated


def by_id(result):
    return dict((f["id"], f) for f in result["findings"])


# -- audit ------------------------------------------------------------------------------------

def test_factory_secrets_fail(pbx):
    findings = by_id(run(pbx)[0])
    assert set(findings["1001"]["reasons"]) >= {"too_short", "low_entropy", "contains_name"}
    assert "common_password" in findings["1002"]["reasons"]
    assert findings["1001"]["kind"] == "pjsip_auth" and findings["1001"]["username"] == "1001"
    assert findings["1001"]["file"].endswith("/pjsip.conf") and findings["1001"]["line"] == 32
    assert findings["ami:admin"]["kind"] == "ami"
    assert set(findings["ami:admin"]["reasons"]) >= {"common_password", "contains_name"}


def test_strong_unique_secret_passes(pbx):
    findings = by_id(run(pbx)[0])
    assert findings["ami:crm"]["passed"] and findings["ami:crm"]["reasons"] == []
    assert findings["ami:crm"]["entropy_bits"] >= 80
    assert findings["ami:crm"]["file"].endswith("manager.d/20-crm.conf")  # via #include


def test_password_inherited_from_template(pbx):
    findings = by_id(run(pbx)[0])
    for name in ("2001-auth", "2002-auth"):
        assert findings[name]["passed"] is False
        assert "low_entropy" in findings[name]["reasons"]
        # The secret lives in the template: that is where the finding points.
        assert findings[name]["line"] == 22
    assert findings["2001-auth"]["username"] == "2001"


def test_password_set_by_a_filtered_addition(pbx):
    # FreePBX's way: the endpoint and the auth share a name, and a (+type=auth) addition in a
    # later file sets the auth's password. The finding points at the addition, and rotation
    # writes there, where Asterisk reads it, not into the endpoint or the auth's first block.
    pjsip = pbx / "pjsip.conf"
    base = pjsip.read_text()
    pjsip.write_text(base + "\n[5001]\ntype=endpoint\nauth=5001\naors=5001\n\n"
                     "[5001]\ntype=auth\nusername=5001\npassword=Qv8rT2mXk9LwZ4pN7cJf3hYb6dGs\n\n"
                     "[5001](+type=auth)\npassword=letmein\n")
    addition_line = pjsip.read_text().splitlines().index("password=letmein") + 1
    finding = by_id(run(pbx)[0])["5001"]
    assert finding["line"] == addition_line and "common_password" in finding["reasons"]
    _, groups, credentials, _ = run(pbx, "rotate")
    after = rotated_texts(groups)[str(pjsip)][1]
    # Booleans only: an assertion message would print the new secret.
    in_addition = after.endswith("[5001](+type=auth)\npassword=%s\n" % credentials["5001"]["password"])
    first_block_kept = "password=Qv8rT2mXk9LwZ4pN7cJf3hYb6dGs\n\n[5001](+type=auth)" in after
    assert in_addition, "the new secret is not in the (+type=auth) addition"
    assert first_block_kept, "the auth's first block was rewritten"


def test_reuse_across_files_and_templates(pbx):
    findings = by_id(run(pbx)[0])
    assert findings["2001-auth"]["reused_with"] == ["2002-auth"]
    # Strong but shared by 3001 (pjsip.conf) and 4001 (included pjsip.d/users.conf).
    assert findings["3001"]["reasons"] == ["reused"] and findings["3001"]["reused_with"] == ["4001"]
    assert findings["4001"]["file"].endswith("pjsip.d/users.conf")


def test_wizard_accounts(pbx):
    findings = by_id(run(pbx)[0])
    phone, trunk = findings["wizphone-iauth"], findings["wiztrunk-oauth"]
    assert phone["kind"] == "wizard" and phone["object"] == "wizphone"
    assert phone["direction"] == "inbound" and "contains_name" in phone["reasons"]
    assert trunk["direction"] == "outbound" and trunk["username"] == "acct42"
    assert not any(f["object"] == "wizoff" for f in findings.values())  # accepts_auth off


def test_hashed_credential_is_reported_not_judged(pbx):
    finding = by_id(run(pbx)[0])["4002"]
    assert finding["hashed"] is True and finding["entropy_bits"] is None and finding["passed"]


def test_missing_file_is_skipped(pbx):
    (pbx / "pjsip_wizard.conf").unlink()
    result = run(pbx)[0]
    assert result["files_missing"] == [str(pbx / "pjsip_wizard.conf")]
    assert "wizphone-iauth" not in by_id(result)


# -- rotation ---------------------------------------------------------------------------------

def rotated_texts(groups):
    return dict((c.filename, (c.original, c.render())) for _, configs in groups for c in configs)


def test_rotation_changes_only_the_failing_secret_lines(pbx):
    result, groups, credentials, _ = run(pbx, "rotate", exclude=["carrier"])
    texts = rotated_texts(groups)
    secret_line = re.compile(r"^\s*(password|secret|inbound_auth/password)\s*=", re.I)
    for filename, (before, after) in texts.items():
        old, new = before.splitlines(True), after.splitlines(True)
        # Unchanged lines byte-identical, in order; changed/added lines are secret lines only.
        import difflib
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            assert tag in ("replace", "insert"), (filename, tag, old[i1:i2], new[j1:j2])
            for line in old[i1:i2] + new[j1:j2]:
                assert secret_line.match(line), (filename, line)
    # Comments on a rotated line stay.
    pjsip = texts[str(pbx / "pjsip.conf")][1]
    assert re.search(r"^password = [A-Za-z0-9]{28} ; factory default$", pjsip, re.M)
    assert set(credentials) == {"1001", "1002", "2001-auth", "2002-auth", "3001", "4001",
                                "wizphone-iauth", "ami:admin"}
    assert credentials["1001"]["username"] == "1001"
    assert [r["id"] for r in result["rotated"]] == list(credentials)


def test_template_password_is_overridden_not_rewritten(pbx):
    _, groups, credentials, _ = run(pbx, "rotate")
    pjsip = rotated_texts(groups)[str(pbx / "pjsip.conf")][1]
    assert "password = Summer2024!" in pjsip  # the template keeps its value
    block = pjsip.split("[2001-auth](auth-tpl)")[1].split("\n\n")[0]
    assert "password = %s" % credentials["2001-auth"]["password"] in block
    assert credentials["2001-auth"]["password"] != credentials["2002-auth"]["password"]


def test_outbound_and_excluded_trunk_credentials_are_not_rotated(pbx):
    result, groups, credentials, _ = run(pbx, "rotate", exclude=["carrier"])
    not_rotated = dict((e["id"], e["why"]) for e in result["not_rotated"])
    assert not_rotated == {"carrier-out": "outbound", "carrier-in": "excluded",
                           "wiztrunk-oauth": "outbound"}
    assert not set(not_rotated) & set(credentials)
    texts = rotated_texts(groups)
    assert "password = carrier123" in texts[str(pbx / "pjsip.conf")][1]
    assert "password = hunter2hunter2" in texts[str(pbx / "pjsip.conf")][1]
    assert "outbound_auth/password = letmein" in texts[str(pbx / "pjsip_wizard.conf")][1]


def test_rotated_secrets_pass_and_second_rotation_changes_nothing(pbx):
    _, groups, _, _ = run(pbx, "rotate", exclude=["carrier"])
    for _, configs in groups:
        for config in configs:
            Path(config.filename).write_text(config.render())
    result, groups, credentials, _ = run(pbx, "rotate", exclude=["carrier"])
    assert credentials == {}
    assert sorted(result["failed_objects"]) == ["carrier-in", "carrier-out", "wiztrunk-oauth"]
    assert audit.changed_files(groups) == []


def test_rotation_phone_by_phone_or_only_where_no_phone_is_registered(pbx):
    # A plan: the operator picks endpoints, or leaves every registered phone alone for now.
    result = audit.run_audit(str(pbx), FILES, SecretPolicy(), "rotate", ["carrier"], rotate_only=["1002"])[0]
    assert [entry["object"] for entry in result["rotated"]] == ["1002"]
    assert "not selected" in set(entry["why"] for entry in result["not_rotated"])
    contacts = audit.parse_contacts(CONTACTS_OUTPUT)
    result = audit.run_audit(str(pbx), FILES, SecretPolicy(), "rotate", ["carrier"],
                             registered_aors=set(contacts))[0]
    kept = dict((entry["object"], entry["why"]) for entry in result["not_rotated"])
    assert kept["1001"] == "registered" and kept["wizphone"] == "registered"
    assert "1001" not in [entry["object"] for entry in result["rotated"]]
    assert "1002" in [entry["object"] for entry in result["rotated"]]


def test_a_rotate_only_name_that_matches_no_account_stops_before_anything_rotates(pbx):
    # A typo ("1020" for "1002") would otherwise rotate nothing and pass.
    for mode in ("audit", "rotate"):
        with pytest.raises(audit.PolicyError, match="rotate_only names no account in the files: 1020"):
            audit.run_audit(str(pbx), FILES, SecretPolicy(), mode, ["carrier"], rotate_only=["1002", "1020"])
    # Any of an account's names selects it: the endpoint's, the auth section's.
    audit.run_audit(str(pbx), FILES, SecretPolicy(), "audit", rotate_only=["1002", "wizphone"])


def test_contacts_cut_off_by_rotation(pbx):
    _, _, _, rotated = run(pbx, "rotate", exclude=["carrier"])
    contacts = audit.parse_contacts(CONTACTS_OUTPUT)
    assert contacts["1001"] == [("sip:1001@198.51.100.30:5060;ob", "Avail")]
    cut = audit.cut_off(rotated, contacts)
    assert [(c["endpoint"], c["aor"], c["status"]) for c in cut] == [
        ("1001", "1001", "Avail"), ("wizphone", "wizphone", "Unavail")]


class FakeModule(object):
    def __init__(self, binary, answer):
        self.binary, self.answer = binary, answer

    def get_bin_path(self, name):
        return self.binary

    def run_command(self, args, environ_update=None):
        return self.answer


def test_contacts_query_tolerates_a_stopped_asterisk():
    assert audit.query_contacts(FakeModule(None, None)) == ({}, False)
    down = (1, "", "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)")
    assert audit.query_contacts(FakeModule("/usr/sbin/asterisk", down)) == ({}, False)
    up = (0, CONTACTS_OUTPUT, "")
    contacts, checked = audit.query_contacts(FakeModule("/usr/sbin/asterisk", up))
    assert checked and set(contacts) == {"1001", "carrier", "wizphone"}


# -- the Ansible module end to end --------------------------------------------------------------

def call_module(_capsys, args, check_mode=False, diff=False):
    return module_runner.run_module(audit, args, check_mode=check_mode, diff=diff)


def secrets_in(text, extra=()):
    return [s for s in list(FIXTURE_SECRETS) + list(extra) if s in text]


def test_module_rotate_writes_backs_up_and_never_leaks(pbx, capsys):
    args = dict(config_dir=str(pbx), mode="rotate", rotate_exclude=["carrier"], backup=True)
    result = call_module(capsys, args, diff=True)
    assert result["changed"] and "credentials" not in result  # not asked for
    assert set(result["backup_files"]) == {str(pbx / "pjsip.conf"), str(pbx / "pjsip_wizard.conf"),
                                           str(pbx / "manager.conf"), str(pbx / "pjsip.d/users.conf")}
    for backup in result["backup_files"].values():
        assert os.path.exists(backup)
    new_secrets = re.findall(r"^\s*(?:password|secret|inbound_auth/password)\s*=\s*([A-Za-z0-9]{28})\b",
                             "".join(p.read_text() for p in pbx.rglob("*.conf")), re.M)
    assert len(new_secrets) >= 8
    serialized = json.dumps(result)
    assert secrets_in(serialized, new_secrets) == []
    for diff in result["diff"]:
        assert secrets_in(diff["before"] + diff["after"], new_secrets) == []
        assert "password = ********" in diff["before"] + diff["after"] or "secret = ********" in diff["after"]
        assert ";password = ********" in diff["before"] or "pjsip.conf" not in diff["before_header"]


def test_module_returns_credentials_only_when_asked(pbx, capsys):
    result = call_module(capsys, dict(config_dir=str(pbx), mode="rotate", rotate_exclude=["carrier"],
                                      return_credentials=True))
    creds = result["credentials"]
    assert creds["1001"]["username"] == "1001" and len(creds["1001"]["password"]) == 28
    assert "password = %s" % creds["1001"]["password"] in (pbx / "pjsip.conf").read_text()
    rest = dict(result)
    rest.pop("credentials")
    assert secrets_in(json.dumps(rest), [c["password"] for c in creds.values()]) == []


def test_module_check_mode_writes_nothing(pbx, capsys):
    before = snapshot(pbx)
    result = call_module(capsys, dict(config_dir=str(pbx), mode="rotate", return_credentials=True),
                         check_mode=True, diff=True)
    assert result["changed"] and len(result["rotated"]) == 9  # carrier-in is not excluded here
    assert "credentials" not in result
    assert snapshot(pbx) == before


def test_module_audit_mode_never_changes(pbx, capsys):
    before = snapshot(pbx)
    result = call_module(capsys, dict(config_dir=str(pbx)))
    assert result["changed"] is False and result["rotated"] == []
    assert "1001" in result["failed_objects"] and "ami:crm" not in result["failed_objects"]
    assert secrets_in(json.dumps(result)) == []
    assert snapshot(pbx) == before


def test_malformed_config_clear_error_and_untouched(pbx, capsys):
    broken = (pbx / "pjsip.d" / "users.conf")
    broken.write_text(broken.read_text() + "\n[5001\ntype = auth\npassword = 5001\n")
    before = snapshot(pbx)
    with pytest.raises(AsteriskConfigError) as caught:
        run(pbx, "rotate")
    assert caught.value.filename.endswith("users.conf") and caught.value.lineno == 22
    result = call_module(capsys, dict(config_dir=str(pbx), mode="rotate"))
    assert result["failed"] and "users.conf:22" in result["msg"] and result["lineno"] == 22
    assert snapshot(pbx) == before


def test_module_refuses_unreachable_generated_length(pbx, capsys):
    result = call_module(capsys, dict(config_dir=str(pbx), mode="rotate", generated_length=16))
    assert result["failed"] and "generated_length of at least 17" in result["msg"]
