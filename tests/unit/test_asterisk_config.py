"""library/asterisk_config.py: pure functions, then the module run in-process (tests/module_runner.py)."""
import json
import os
import stat
from pathlib import Path

import pytest

import asterisk_config
from tests import module_runner
from asterisk_config import ChangeError, apply_change, mask_secrets
from ansible.module_utils.asterisk_conf import AsteriskConfigError, load, parse, resolve

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "asterisk_conf"

PJSIP = """; phones
[phone-tpl](!)
type = endpoint
context = from-internal

[1001](phone-tpl)
auth = 1001
aors = 1001

[1001]
type = auth
auth_type = digest
username = 1001
password = 1001   ; weak

[1001]
type = aor
max_contacts = 10

[anonymous]
type = endpoint
context = from-internal
"""


def test_set_option_on_typed_section_inherited_type():
    after, result = apply_change(PJSIP, "pjsip.conf", section="1001", section_type="endpoint",
                                 option="allow_unauthenticated_options", value="no")
    assert "aors = 1001\nallow_unauthenticated_options = no\n\n[1001]\ntype = auth" in after
    assert result["sections"] == 1 and not result["created"]
    again, _ = apply_change(after, "pjsip.conf", section="1001", section_type="endpoint",
                            option="allow_unauthenticated_options", value="no")
    assert again == after


def test_ambiguous_name_needs_section_type():
    with pytest.raises(ChangeError, match="set section_type"):
        apply_change(PJSIP, "pjsip.conf", section="1001", option="x", value="1")


def test_replace_in_place_keeps_comment():
    after, _ = apply_change(PJSIP, "pjsip.conf", section="1001", section_type="aor",
                            option="max_contacts", value="1")
    assert after == PJSIP.replace("max_contacts = 10", "max_contacts = 1")


def test_values_for_repeated_keys_and_absent_by_value():
    text = "[admin]\nsecret = x\npermit = 0.0.0.0/0.0.0.0\n"
    after, _ = apply_change(text, "manager.conf", section="admin", option="permit",
                            values=["198.18.0.0/24", "10.0.0.0/8"])
    assert after == "[admin]\nsecret = x\npermit = 198.18.0.0/24\npermit = 10.0.0.0/8\n"
    after2, _ = apply_change(after, "manager.conf", section="admin", option="permit",
                             values=["10.0.0.0/8"], state="absent")
    assert after2 == "[admin]\nsecret = x\npermit = 198.18.0.0/24\n"


def test_remove_section_and_create_typed_section():
    after, result = apply_change(PJSIP, "pjsip.conf", section="anonymous", section_type="endpoint",
                                 state="absent")
    assert "[anonymous]" not in after and result["sections"] == 1
    after, result = apply_change(after, "pjsip.conf", section="global", section_type="global",
                                 option="unidentified_request_count", value="5")
    assert result["created"]
    assert after.endswith("\n[global]\ntype = global\nunidentified_request_count = 5\n")


def test_create_section_false_fails():
    with pytest.raises(ChangeError, match="create_section is false"):
        apply_change(PJSIP, "pjsip.conf", section="global", option="x", value="1",
                     create_section=False)


def test_malformed_file_reports_file_and_line():
    with pytest.raises(AsteriskConfigError) as err:
        apply_change("[general]\nenabled=yes\n[admin\n", "/etc/asterisk/manager.conf",
                     section="general", option="enabled", value="no")
    assert str(err.value).startswith("/etc/asterisk/manager.conf:3: ")


def test_no_section_only_checks_parsing():
    text = (FIXTURES / "manager_sample.conf").read_text()
    after, result = apply_change(text, "manager.conf")
    assert after == text and result["msg"] == "file parses"


def test_acl_on_a_file_without_a_final_newline_keeps_each_rule_on_its_line():
    after, _ = apply_change("[admin]\nsecret=x\ndeny=0.0.0.0/0", "manager.conf", section="admin",
                            acl=dict(deny=["0.0.0.0/0.0.0.0"], permit=["198.51.100.0/24"]))
    assert parse(after).find("admin")[0].options == [
        ("secret", "x"), ("deny", "0.0.0.0/0.0.0.0"), ("permit", "198.51.100.0/24")]


BLOCK_COMMENT = ("[office]\ndeny = 0.0.0.0/0.0.0.0 ;-- old rules, kept for reference:\ndeny = 10.0.0.0/8\n--;\n"
                 "permit = 198.51.100.0/24\n\n[other]\ntype=endpoint\n")


@pytest.mark.parametrize("change", [dict(option="deny", state="absent"), dict(acl=dict(deny=[], permit=["198.51.100.0/24"]))])
def test_a_change_that_would_break_a_block_comment_is_refused(change):
    # The ";--" opening the comment sits on the line the change removes: its "--;" would be left
    # closing nothing, and Asterisk would read the rest of the file as a comment.
    with pytest.raises(ChangeError, match="nothing was changed"):
        apply_change(BLOCK_COMMENT, "manager.conf", section="office", **change)
    # The whole section, comment and all, goes cleanly.
    assert apply_change(BLOCK_COMMENT, "manager.conf", section="office", state="absent")[0] == "\n[other]\ntype=endpoint\n"


def test_a_section_that_holds_an_include_is_not_removed():
    # Without its header, the included file's options would read as the section above's.
    text = "[transport-udp]\ntype=transport\n\n[anonymous]\ntype=endpoint\n#include anonymous-body.conf\n"
    with pytest.raises(ChangeError, match=r"\[anonymous\] holds an #include line"):
        apply_change(text, "pjsip.conf", section="anonymous", state="absent")


def test_a_value_ending_in_a_backslash_does_not_swallow_the_comment_after_it():
    after, _ = apply_change("[general]\nastspooldir=/old;moved\n", "asterisk.conf", section="general",
                            option="astspooldir", value="C:\\spool\\")
    assert parse(after).find("general")[0].get("astspooldir") == "C:\\spool\\"
    assert apply_change(after, "asterisk.conf", section="general", option="astspooldir",
                        value="C:\\spool\\")[0] == after


def test_mask_secrets_covers_all_secret_keys():
    text = ("[a]\npassword = p1 ; c\nsecret=s1\nmd5_cred = abc\npassword_digest=x\n"
            "inbound_auth/password = w p\nusername = 1001\n")
    masked = mask_secrets(text)
    assert masked == ("[a]\npassword = ******** ; c\nsecret=********\nmd5_cred = ********\n"
                      "password_digest=********\ninbound_auth/password = ********\n"
                      "username = 1001\n")


# -- the module, run in-process (tests/module_runner.py) -------------------------------------

def run_module(args, *flags):
    """The module's result for args; flags as on the command line: --check, --diff."""
    return module_runner.run_module(asterisk_config, args, check_mode="--check" in flags, diff="--diff" in flags)


@pytest.fixture(name="pjsip_file")
def fixture_pjsip_file(tmp_path):
    path = tmp_path / "pjsip.conf"
    path.write_text(PJSIP)
    os.chmod(path, 0o640)
    return path


def test_module_check_mode_with_masked_diff(pjsip_file):
    result = run_module(dict(path=str(pjsip_file), section="1001", section_type="auth",
                             option="password", value="N3w-Str0ng-Secret"), "--check", "--diff")
    assert result["changed"] is True
    assert pjsip_file.read_text() == PJSIP
    diff = result["diff"]
    assert "password = ********   ; weak" in diff["before"]
    assert "password = ********   ; weak" in diff["after"]
    assert "1001   ; weak" not in diff["before"] + diff["after"]
    assert "N3w-Str0ng-Secret" not in json.dumps(diff)


def test_a_diff_shows_no_secret_of_the_file_whatever_its_option_is_called(tmp_path):
    # A trunk's OAuth auth (Google Voice) beside the change, an old password in a block comment.
    path = tmp_path / "pjsip.conf"
    path.write_text("[trunk-auth]\ntype=auth\nauth_type=oauth\noauth_clientid=vgtest\noauth_secret=LEAK1\n"
                    "refresh_token=LEAK2\nusername=u\n;-- old\npassword=LEAK3\n--;\n")
    for option, value in (("username", "u2"), ("oauth_secret", "LEAK4")):
        result = run_module(dict(path=str(path), section="trunk-auth", section_type="auth", option=option,
                                 value=value), "--check", "--diff")
        assert result["changed"] is True
        assert "LEAK" not in json.dumps(result["diff"]) and "username=u" in result["diff"]["before"]


def test_module_changes_once_and_keeps_mode(pjsip_file):
    args = dict(path=str(pjsip_file), section="1001", section_type="aor",
                option="max_contacts", value="1", backup=True)
    first = run_module(args, "--diff")
    assert first["changed"] is True and os.path.exists(first["backup_file"])
    assert pjsip_file.read_text() == PJSIP.replace("max_contacts = 10", "max_contacts = 1")
    assert stat.S_IMODE(os.stat(pjsip_file).st_mode) == 0o640
    second = run_module(args, "--diff")
    assert second["changed"] is False


def test_module_fails_on_malformed_file_without_touching_it(tmp_path):
    path = tmp_path / "manager.conf"
    text = "[general]\nenabled = yes\n[admin](!, tpl)\nsecret = admin\n"
    path.write_text(text)
    result = run_module(dict(path=str(path), section="general", option="enabled", value="no"))
    assert result.get("failed") is True
    assert result["msg"].startswith("%s:3: template name" % path)
    assert path.read_text() == text


# -- asterisk_config_info -------------------------------------------------------------------

def test_info_describes_sections_and_masks_secrets():
    from asterisk_config_info import describe
    from ansible.module_utils.asterisk_conf import load
    result = describe(load(str(FIXTURES / "debian" / "manager.conf")))
    assert [os.path.basename(f) for f in result["files"]] == [
        "manager.conf", "10-ops.conf", "20-crm.conf"]
    ops = [s for s in result["sections"] if s["name"] == "ops"][0]
    assert ops["options"][0] == {"key": "secret", "value": "********"}
    assert ops["effective"]["secret"] == ["********"]
    assert ops["effective"]["permit"] == ["198.18.0.0/255.255.255.0"]
    assert result["includes"][0]["pattern"] == "manager.d/*.conf"
    assert "0ps-Dashb0ard" not in repr(result)


def test_info_names_the_programs_asterisk_runs_and_never_runs_them(tmp_path):
    """#exec: a provisioning program prints endpoints when Asterisk loads pjsip.conf (with
    execincludes on); the reading names the line and never runs the program."""
    from asterisk_config_info import describe
    ran = tmp_path / "ran"
    program = tmp_path / "provision-phones"
    program.write_text("#!/bin/sh\ntouch %s\nprintf '[2201]\\ntype = endpoint\\n'\n" % ran)
    program.chmod(0o755)
    conf = tmp_path / "pjsip.conf"
    conf.write_text("[1001]\ntype = endpoint\n\n#exec %s\n" % program)
    result = describe(load(str(conf), config_dir=str(tmp_path)))
    assert result["execs"] == ["%s:4: #exec %s" % (conf, program)]
    assert [s["name"] for s in result["sections"]] == ["1001"]
    assert not ran.exists()


def test_acl_rules_deny_first():
    text = "[admin]\nsecret = x\npermit = 10.0.0.0/8\ndeny = 0.0.0.0/0.0.0.0\nwrite = all\n"
    acl = dict(deny=["0.0.0.0/0.0.0.0"], permit=["198.18.0.0/24", "127.0.0.1/32"])
    after, result = apply_change(text, "manager.conf", section="admin", acl=acl)
    assert after == ("[admin]\nsecret = x\ndeny = 0.0.0.0/0.0.0.0\npermit = 198.18.0.0/24\n"
                     "permit = 127.0.0.1/32\nwrite = all\n")
    assert apply_change(after, "manager.conf", section="admin", acl=acl)[0] == after
    with pytest.raises(ChangeError):
        apply_change(text, "manager.conf", section="admin", acl=acl, state="absent")


def test_template_in_another_file_needs_include_root(tmp_path):
    import shutil
    shutil.copytree(FIXTURES / "freepbx", tmp_path / "fp")
    custom = tmp_path / "fp" / "pjsip.endpoint_custom.conf"
    text = custom.read_text()
    with pytest.raises(ChangeError, match="include_root"):
        apply_change(text, str(custom), section="2001", section_type="endpoint",
                     option="allow_unauthenticated_options", value="no")
    after, result = apply_change(text, str(custom), section="2001", section_type="endpoint",
                                 option="allow_unauthenticated_options", value="no",
                                 include_root=str(tmp_path / "fp" / "pjsip.conf"))
    assert not result["created"] and result["sections"] == 1
    assert after == text + "allow_unauthenticated_options=no\n"  # style of its neighbours
    with pytest.raises(ChangeError, match="nor a file it includes"):
        apply_change("[x]\n", str(tmp_path / "other.conf"), section="x", option="a", value="1",
                     include_root=str(tmp_path / "fp" / "pjsip.conf"))


FREEPBX_HEADER = (
    ";--------------------------------------------------------------------------------;\n"
    ";          Do NOT edit this file as it is auto-generated by FreePBX.             ;\n"
    ";--------------------------------------------------------------------------------;\n")


@pytest.fixture(name="freepbx_dir")
def fixture_freepbx_dir(tmp_path):
    """FreePBX 17's pjsip layout, reduced: generated files (framework BMO/WriteConfig.class.php's
    header) and the operator's *_custom_post.conf read after each (core PJSip.class.php)."""
    (tmp_path / "pjsip.conf").write_text(
        FREEPBX_HEADER + "[0]\n#include pjsip.endpoint.conf\n#include pjsip.endpoint_custom_post.conf\n"
        "#include pjsip.aor.conf\n#tryinclude pjsip.aor_custom_post.conf\n#tryinclude pjsip_custom_post.conf\n")
    (tmp_path / "pjsip.endpoint.conf").write_text(
        FREEPBX_HEADER + "[200]\ntype=endpoint\ncontext=from-internal\naors=200\n"
        "deny=0.0.0.0/0.0.0.0\npermit=0.0.0.0/0.0.0.0\n\n[anonymous]\ntype=endpoint\ncontext=from-sip-external\n")
    (tmp_path / "pjsip.aor.conf").write_text(FREEPBX_HEADER + "[200]\ntype=aor\nmax_contacts=1\n")
    os.chmod(tmp_path / "pjsip.aor.conf", 0o640)
    (tmp_path / "pjsip.endpoint_custom_post.conf").write_text("")
    (tmp_path / "pjsip_custom_post.conf").write_text("; the operator's\n")
    return tmp_path


def placeholder(name, kind):
    """What precedes an object's first addition of a type in its own file: the section that addition
    goes to once the GUI deletes the object (written out here, not taken from the module)."""
    return ("; voipguard: where the addition below goes if [%s] is deleted\n[%s]\n"
            "type = voipguard-placeholder-%s\n\n" % (name, name, kind))


def test_a_change_to_a_generated_file_goes_to_its_custom_post_file(freepbx_dir):
    generated = freepbx_dir / "pjsip.endpoint.conf"
    before = generated.read_text()
    args = dict(path=str(generated), section="200", section_type="endpoint", option="context",
                value="voipguard-guard-from-internal", include_root=str(freepbx_dir / "pjsip.conf"))
    result = run_module(args, "--diff")
    assert not result.get("failed"), result
    assert result["changed"] and result["amended"] == str(generated)
    # Two files changed, both in the diff and the files a rollback reads.
    changed = [str(freepbx_dir / "pjsip_custom_post.conf"),
               str(freepbx_dir / "pjsip_custom_post.d" / "200.conf")]
    assert [d["after_header"] for d in result["diff"]] == changed
    assert [f["path"] for f in result["files"]] == changed
    assert result["files"][1]["created_directory"] == str(freepbx_dir / "pjsip_custom_post.d")
    # The addition has a file of its own, which the operator's file read last includes.
    assert result["path"] == str(freepbx_dir / "pjsip_custom_post.d" / "200.conf")
    assert generated.read_text() == before  # the GUI's file is never edited
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == \
        placeholder("200", "endpoint") + "[200](+type=endpoint)\ncontext = voipguard-guard-from-internal\n"
    assert (freepbx_dir / "pjsip_custom_post.conf").read_text() == \
        "; the operator's\n#tryinclude pjsip_custom_post.d/200.conf\n"
    assert (freepbx_dir / "pjsip.endpoint_custom_post.conf").read_text() == ""
    # Asterisk reads the addition last: the effective context is the guard's; a rerun changes nothing.
    effective = resolve(load(str(freepbx_dir / "pjsip.conf")), "200", type="endpoint")
    assert effective["context"][-1] == "voipguard-guard-from-internal"
    assert run_module(args)["changed"] is False
    # What the generated file already says needs no addition.
    same = run_module(dict(args, section_type="aor", option="max_contacts", value="1",
                           path=str(freepbx_dir / "pjsip.aor.conf")))
    assert same["changed"] is False and "aor" not in (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text()


def test_an_addition_file_that_does_not_exist_yet_is_created(freepbx_dir):
    (freepbx_dir / "pjsip_custom_post.conf").unlink()
    result = run_module(dict(path=str(freepbx_dir / "pjsip.aor.conf"), section="200",
                             section_type="aor", option="max_contacts", value="3",
                             include_root=str(freepbx_dir / "pjsip.conf")))
    assert result["changed"] and result["created"], result
    assert (freepbx_dir / "pjsip_custom_post.conf").read_text() == "#tryinclude pjsip_custom_post.d/200.conf\n"
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == \
        placeholder("200", "aor") + "[200](+type=aor)\nmax_contacts = 3\n"
    # Readable as the generated file (mode 0640 here): the file, and the directory Asterisk enters.
    assert stat.S_IMODE(os.stat(freepbx_dir / "pjsip_custom_post.conf").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(freepbx_dir / "pjsip_custom_post.d" / "200.conf").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(freepbx_dir / "pjsip_custom_post.d").st_mode) == 0o750


def test_each_object_gets_its_own_addition_file_and_one_include_line(freepbx_dir):
    root, endpoint = str(freepbx_dir / "pjsip.conf"), str(freepbx_dir / "pjsip.endpoint.conf")
    args = dict(include_root=root, changes=[
        dict(path=endpoint, section=name, section_type="endpoint", option="context", value="guarded")
        for name in ("200", "anonymous")])
    assert run_module(args, "--check")["changed"] is True
    assert not (freepbx_dir / "pjsip_custom_post.d").exists()  # check mode creates nothing
    result = run_module(args)
    assert sorted(f["path"] for f in result["files"]) == [str(freepbx_dir / name) for name in (
        "pjsip_custom_post.conf", "pjsip_custom_post.d/200.conf", "pjsip_custom_post.d/anonymous.conf")]
    assert (freepbx_dir / "pjsip_custom_post.conf").read_text() == (
        "; the operator's\n#tryinclude pjsip_custom_post.d/200.conf\n"
        "#tryinclude pjsip_custom_post.d/anonymous.conf\n")
    assert (freepbx_dir / "pjsip_custom_post.d" / "anonymous.conf").read_text() == \
        placeholder("anonymous", "endpoint") + "[anonymous](+type=endpoint)\ncontext = guarded\n"
    assert run_module(args)["changed"] is False


def test_an_addition_already_in_the_operators_file_moves_to_its_own_file_where_it_was_read(freepbx_dir):
    # The operator's: moved, its text kept, the include at its place; the comment above it and
    # the other object's addition stay.
    custom_post = freepbx_dir / "pjsip_custom_post.conf"
    custom_post.write_text("; mine\n[200](+type=endpoint)\ncontext = old-guard\n; set by hand\n"
                           "deny = 0.0.0.0/0.0.0.0\n\n; theirs\n[anonymous](+type=endpoint)\nallow = ulaw\n")
    args = dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200", section_type="endpoint",
                option="context", value="guarded", include_root=str(freepbx_dir / "pjsip.conf"))
    result = run_module(args)
    assert result["changed"] and result["path"] == str(freepbx_dir / "pjsip_custom_post.d" / "200.conf")
    assert custom_post.read_text() == ("; mine\n#tryinclude pjsip_custom_post.d/200.conf\n\n"
                                       "; theirs\n[anonymous](+type=endpoint)\nallow = ulaw\n")
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == \
        placeholder("200", "endpoint") + "[200](+type=endpoint)\ncontext = guarded\n; set by hand\ndeny = 0.0.0.0/0.0.0.0\n"
    assert run_module(args)["changed"] is False
    # Moving alone is a change: the same lines read in the same order, now contained.
    custom_post.write_text("[200](+type=endpoint)\ncontext = guarded\n")
    (freepbx_dir / "pjsip_custom_post.d" / "200.conf").unlink()
    assert run_module(args)["changed"] is True
    assert custom_post.read_text() == "#tryinclude pjsip_custom_post.d/200.conf\n"


def test_additions_written_by_0_2_0_move_from_the_file_read_after_the_generated_one(freepbx_dir):
    # 0.2.0 wrote every addition into pjsip.<type>_custom_post.conf, read right after its generated
    # file and before FreePBX's other includes: they move to the object's file, read last, first
    # in it (Asterisk read them before the operator's file); the other objects' stay.
    earlier = freepbx_dir / "pjsip.endpoint_custom_post.conf"
    earlier.write_text("[200](+type=endpoint)\ncontext = guarded\nallow = ulaw\n\n"
                       "[anonymous](+type=endpoint)\nallow = alaw\n")
    custom_post = freepbx_dir / "pjsip_custom_post.conf"
    custom_post.write_text("[200](+type=endpoint)\nlanguage = fr\n")
    args = dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200", section_type="endpoint",
                option="context", value="guarded", include_root=str(freepbx_dir / "pjsip.conf"))
    before = resolve(load(str(freepbx_dir / "pjsip.conf")), "200", type="endpoint")
    result = run_module(args)
    assert result["changed"] is True, result
    assert earlier.read_text() == "\n[anonymous](+type=endpoint)\nallow = alaw\n"
    assert custom_post.read_text() == "#tryinclude pjsip_custom_post.d/200.conf\n"
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == (
        placeholder("200", "endpoint") +
        "[200](+type=endpoint)\ncontext = guarded\nallow = ulaw\n\n[200](+type=endpoint)\nlanguage = fr\n")
    assert resolve(load(str(freepbx_dir / "pjsip.conf")), "200", type="endpoint") == before
    assert run_module(args)["changed"] is False


def test_an_addition_moved_out_of_a_latin_1_file_keeps_its_bytes(freepbx_dir):
    (freepbx_dir / "pjsip.endpoint_custom_post.conf").write_bytes(b"[200](+type=endpoint)\ncallerid = M\xfcller <200>\n")
    (freepbx_dir / "pjsip_custom_post.conf").write_text("; the operator's, in UTF-8: M\u00fcller\n")
    result = run_module(dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200", section_type="endpoint",
                             option="context", value="guarded", include_root=str(freepbx_dir / "pjsip.conf")))
    assert result["changed"] is True, result
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_bytes() == \
        placeholder("200", "endpoint").encode() + b"[200](+type=endpoint)\ncallerid = M\xfcller <200>\ncontext = guarded\n"


def test_acl_in_an_addition_comes_after_the_generated_rules(freepbx_dir):
    args = dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200", section_type="endpoint",
                acl=dict(deny=["0.0.0.0/0.0.0.0"], permit=["198.51.100.0/24"]),
                include_root=str(freepbx_dir / "pjsip.conf"))
    assert run_module(args)["changed"] is True
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == \
        placeholder("200", "endpoint") + "[200](+type=endpoint)\ndeny = 0.0.0.0/0.0.0.0\npermit = 198.51.100.0/24\n"
    assert run_module(args)["changed"] is False


def test_what_only_the_gui_can_remove_fails_and_changes_nothing(freepbx_dir):
    result = run_module(dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="anonymous",
                             section_type="endpoint", state="absent",
                             include_root=str(freepbx_dir / "pjsip.conf")))
    assert result.get("failed") is True and "remove it in the GUI" in result["msg"]
    refused = run_module(dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200",
                              section_type="endpoint", option="context", value="x",
                              gui_files="refuse", include_root=str(freepbx_dir / "pjsip.conf")))
    assert refused.get("failed") is True and "would not last" in refused["msg"]
    # Without a section there is no object to amend: an addition needs its [name](+type=...).
    nameless = run_module(dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), changes=[dict(option="context", value="x")],
                               include_root=str(freepbx_dir / "pjsip.conf")))
    assert nameless.get("failed") is True and "needs section" in nameless["msg"], nameless
    assert not (freepbx_dir / "pjsip_custom_post.d").exists()
    # A file the GUI leaves no addition file for stays refused.
    odd = freepbx_dir / "extensions_additional.conf"
    odd.write_text(FREEPBX_HEADER + "[globals]\nA=1\n")
    assert run_module(dict(path=str(odd), section="globals", option="A", value="2"))["failed"] is True
    assert (freepbx_dir / "pjsip.endpoint_custom_post.conf").read_text() == ""


def test_removing_an_option_takes_it_out_of_the_addition_only(freepbx_dir):
    args = dict(path=str(freepbx_dir / "pjsip.endpoint.conf"), section="200", section_type="endpoint",
                option="outbound_proxy", value="sip:carrier@127.0.0.1:5060;lr",
                include_root=str(freepbx_dir / "pjsip.conf"))
    assert run_module(args)["changed"] is True
    removed = run_module(dict(args, state="absent", value=None))
    assert removed["changed"] is True, removed
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == ""
    # The generated file's own option cannot be removed from outside.
    kept = run_module(dict(args, state="absent", option="context", value="from-internal"))
    assert kept.get("failed") is True and "change it in the GUI" in kept["msg"]


# -- several changes in one call (one round trip per file and purpose) -----------------------

def test_changes_are_made_in_one_call_with_one_backup_per_file(tmp_path, pjsip_file):
    other = tmp_path / "manager.conf"
    other.write_text("[general]\nenabled = yes\n")
    args = dict(path=str(pjsip_file), backup=True, changes=[
        dict(section="1001", section_type="aor", option="max_contacts", value="1"),
        dict(section="1001", section_type="aor", option="remove_existing", value="yes"),
        dict(section="1001", section_type="endpoint", acl=dict(deny=["0.0.0.0/0.0.0.0"],
                                                              permit=["198.51.100.0/24"])),
        dict(path=str(other), section="general", option="bindaddr", value="127.0.0.1"),
    ])
    first = run_module(args, "--diff")
    assert first["changed"] is True, first
    assert [r["changed"] for r in first["results"]] == [True, True, True, True]
    assert sorted(f["path"] for f in first["files"]) == sorted([str(pjsip_file), str(other)])
    assert all(os.path.exists(f["backup_file"]) for f in first["files"])
    assert len(list(tmp_path.glob("pjsip.conf.*~"))) == 1
    assert "max_contacts = 1\nremove_existing = yes\n" in pjsip_file.read_text()
    assert "deny = 0.0.0.0/0.0.0.0\npermit = 198.51.100.0/24" in pjsip_file.read_text()
    assert [d["before_header"] for d in first["diff"]] == [str(pjsip_file), str(other)]
    again = run_module(args)
    assert again["changed"] is False and again["files"] == []
    assert len(list(tmp_path.glob("pjsip.conf.*~"))) == 1


def test_one_impossible_change_fails_the_call_and_writes_nothing(pjsip_file):
    result = run_module(dict(path=str(pjsip_file), changes=[
        dict(section="1001", section_type="aor", option="max_contacts", value="1"),
        dict(section="nobody", section_type="aor", option="max_contacts", value="1", create_section=False),
    ]))
    assert result.get("failed") is True and "no section [nobody]" in result["msg"]
    assert pjsip_file.read_text() == PJSIP


def test_changes_in_check_mode_write_nothing(pjsip_file):
    result = run_module(dict(path=str(pjsip_file), changes=[
        dict(section="1001", section_type="auth", option="password", value="N3w-Str0ng-Secret")]),
        "--check", "--diff")
    assert result["changed"] is True and result["files"][0]["path"] == str(pjsip_file)
    assert pjsip_file.read_text() == PJSIP
    assert "N3w-Str0ng-Secret" not in json.dumps(result["diff"])


def test_changes_to_generated_files_share_one_addition_file(freepbx_dir):
    root = str(freepbx_dir / "pjsip.conf")
    endpoint = str(freepbx_dir / "pjsip.endpoint.conf")
    args = dict(include_root=root, changes=[
        dict(path=endpoint, section="200", section_type="endpoint", option="context", value="guarded"),
        dict(path=endpoint, section="200", section_type="endpoint",
             acl=dict(deny=["0.0.0.0/0.0.0.0"], permit=["198.51.100.0/24"])),
        dict(path=str(freepbx_dir / "pjsip.aor.conf"), section="200", section_type="aor",
             option="max_contacts", value="2"),
    ])
    result = run_module(args)
    assert not result.get("failed"), result
    # The second change sees the first one's addition, not yet written: one section, not two,
    # and one include line.
    # An object name's endpoint and aor share its file: one include, one file the GUI's deletion stops.
    assert (freepbx_dir / "pjsip_custom_post.d" / "200.conf").read_text() == (
        placeholder("200", "endpoint") +
        "[200](+type=endpoint)\ncontext = guarded\ndeny = 0.0.0.0/0.0.0.0\npermit = 198.51.100.0/24\n\n" +
        placeholder("200", "aor") + "[200](+type=aor)\nmax_contacts = 2\n")
    assert (freepbx_dir / "pjsip_custom_post.conf").read_text() == \
        "; the operator's\n#tryinclude pjsip_custom_post.d/200.conf\n"
    assert run_module(args)["changed"] is False


def test_changed_files_carry_what_a_rollback_restores(pjsip_file):
    result = run_module(dict(path=str(pjsip_file), backup=True, changes=[
        dict(section="1001", section_type="aor", option="max_contacts", value="2")]))
    assert result["files"][0]["mode"] == "0640"
    assert {"owner", "group"} <= set(result["files"][0])


def test_info_reads_several_files_in_one_call(tmp_path, pjsip_file):
    import asterisk_config_info
    (tmp_path / "bad.conf").write_text("[a](!, tpl)\nx = 1\n")
    result = module_runner.run_module(asterisk_config_info, dict(
        paths=[str(pjsip_file), str(tmp_path / "http.conf")]))
    assert list(result["configs"]) == ["pjsip.conf"] and result["missing"] == [str(tmp_path / "http.conf")]
    assert "1001" in [s["name"] for s in result["configs"]["pjsip.conf"]["sections"]]
    failed = module_runner.run_module(asterisk_config_info, dict(paths=[str(pjsip_file), str(tmp_path / "bad.conf")]))
    assert failed.get("failed") is True and failed["msg"].startswith("%s:1:" % (tmp_path / "bad.conf"))


def test_a_malformed_change_fails_before_any_file_is_read_or_written(pjsip_file):
    both = run_module(dict(path=str(pjsip_file), changes=[
        dict(section="1001", section_type="aor", option="max_contacts", value="1", values=["2"])]))
    assert both.get("failed") is True and "change 1: value and values are mutually exclusive" in both["msg"]
    nowhere = run_module(dict(changes=[dict(section="general", option="enabled", value="no")]))
    assert nowhere.get("failed") is True and "change 1 has no path" in nowhere["msg"]
    mixed = run_module(dict(path=str(pjsip_file), section="1001", changes=[dict(section="1001")]))
    assert mixed.get("failed") is True and "mutually exclusive" in mixed["msg"]
    assert pjsip_file.read_text() == PJSIP


def test_a_hand_added_addition_that_sets_the_option_again_loses_it():
    """Asterisk reads [1001](+type=endpoint) after [1001]: its line would win over the value set."""
    text = ("[1001]\ntype = endpoint\nallow_unauthenticated_options = no\n\n[1001]\ntype = aor\n\n"
            "[1001](+type=endpoint)\nallow_unauthenticated_options = yes\ncontext = office\n")
    new, result = apply_change(text, "pjsip.conf", section="1001", section_type="endpoint",
                               option="allow_unauthenticated_options", value="no")
    assert result["sections"] == 1
    assert new.count("allow_unauthenticated_options") == 1 and "context = office" in new
    assert resolve([parse(new, "pjsip.conf")], "1001", "endpoint")["allow_unauthenticated_options"] == ["no"]
    # The aor's addition filter does not admit the endpoint: left alone.
    other = "[1001]\ntype = endpoint\n[1001]\ntype = aor\n[1001](+type=aor)\nmax_contacts = 5\n"
    assert apply_change(other, "pjsip.conf", section="1001", section_type="endpoint",
                        option="max_contacts", value="1")[0].count("max_contacts = 5") == 1


def test_an_addition_in_another_file_that_sets_the_option_again_is_refused(tmp_path):
    root = tmp_path / "pjsip.conf"
    root.write_text("[1001]\ntype = endpoint\nallow_unauthenticated_options = yes\n#include pjsip_extra.conf\n")
    (tmp_path / "pjsip_extra.conf").write_text("[1001](+)\nallow_unauthenticated_options = yes\n")
    with pytest.raises(ChangeError, match=r"pjsip_extra.conf line 1 sets allow_unauthenticated_options again"):
        apply_change(root.read_text(), str(root), section="1001", section_type="endpoint",
                     option="allow_unauthenticated_options", value="no", include_root=str(root))


def test_each_change_may_name_its_own_include_root(tmp_path, pjsip_file):
    """The guard edits pjsip.conf's include set and pjsip_wizard.conf's in one call: a wizard
    whose template is in a file pjsip_wizard.conf includes is found through its own root."""
    (tmp_path / "wizard_templates.conf").write_text("[phone](!)\ntype = wizard\naccepts_auth = yes\n")
    wizard = tmp_path / "pjsip_wizard.conf"
    wizard.write_text("#include wizard_templates.conf\n\n[2101](phone)\nendpoint/context = from-internal\n")
    change = dict(path=str(wizard), section="2101", section_type="wizard",
                  option="endpoint/context", value="voipguard-guard-from-internal", create_section=False)
    task = dict(include_root=str(pjsip_file), changes=[
        dict(section="1001", section_type="aor", option="max_contacts", value="1", path=str(pjsip_file))])
    # The task's root does not include the wizard file: refused, nothing written.
    refused = run_module(dict(task, changes=task["changes"] + [change]))
    assert refused["failed"] is True and "nor a file it includes" in refused["msg"]
    assert "voipguard" not in wizard.read_text()
    done = run_module(dict(task, changes=task["changes"] + [dict(change, include_root=str(wizard))]))
    assert done.get("changed") is True, done.get("msg")
    assert wizard.read_text().endswith("[2101](phone)\nendpoint/context = voipguard-guard-from-internal\n")


def test_a_trunks_addition_file_is_read_before_the_phones(freepbx_dir):
    # Phones deleted in the GUI leave files Asterisk stops reading, each costing every later include
    # its level (config.c): the trunk's loop, read first, is never among the skipped.
    generated = str(freepbx_dir / "pjsip.endpoint.conf")
    root = str(freepbx_dir / "pjsip.conf")
    (freepbx_dir / "pjsip.endpoint.conf").write_text(
        FREEPBX_HEADER + "[200]\ntype=endpoint\ncontext=from-internal\n\n[carrier]\ntype=endpoint\ncontext=from-pstn\n")
    custom_post = freepbx_dir / "pjsip_custom_post.conf"
    custom_post.write_text("; the operator's\n#include my-own.conf\n")
    (freepbx_dir / "my-own.conf").write_text("")
    phone = dict(path=generated, section="200", section_type="endpoint", option="context", value="guarded",
                 include_root=root)
    trunk = dict(phone, section="carrier", option="outbound_proxy", value="sip:carrier@127.0.0.1:5060\\;lr",
                 gui_read_first=True)
    assert run_module(phone)["changed"] is True
    assert run_module(trunk)["changed"] is True
    assert custom_post.read_text() == (
        "; the operator's\n#tryinclude pjsip_custom_post.d/carrier.conf\n#include my-own.conf\n"
        "#tryinclude pjsip_custom_post.d/200.conf\n")
    assert run_module(trunk)["changed"] is False and run_module(phone)["changed"] is False
    # A trunk whose include an earlier run left after the phones' moves first.
    custom_post.write_text("#tryinclude pjsip_custom_post.d/200.conf\n"
                           "#tryinclude pjsip_custom_post.d/carrier.conf")
    moved = run_module(trunk)
    assert moved.get("changed") is True, moved
    assert custom_post.read_text() == ("#tryinclude pjsip_custom_post.d/carrier.conf\n"
                                       "#tryinclude pjsip_custom_post.d/200.conf\n")


def test_a_tls_trunk_the_gui_generates_gets_the_loops_empty_transport_in_its_addition(freepbx_dir):
    """The trunk boundary appends ``transport =`` to a TCP or TLS trunk (module_utils/trunk_boundary):
    on a GUI's file, in the trunk's addition, after the GUI's own line, which stays; switched off,
    it leaves the addition and the GUI's line is what Asterisk reads again."""
    generated = freepbx_dir / "pjsip.endpoint.conf"
    generated.write_text(FREEPBX_HEADER + "[carrier]\ntype=endpoint\ncontext=from-pstn\ntransport=0.0.0.0-tls\n")
    root = str(freepbx_dir / "pjsip.conf")
    where = dict(path=str(generated), section="carrier", section_type="endpoint", include_root=root, gui_read_first=True)
    loop = dict(where, option="outbound_proxy", value="sip:carrier@127.0.0.1:5060\\;lr")
    cleared = dict(where, option="transport", values=[""], values_mode="append")
    assert run_module(dict(changes=[loop, cleared]))["changed"] is True
    addition = (freepbx_dir / "pjsip_custom_post.d" / "carrier.conf").read_text()
    assert "transport = \n" in addition or "transport =\n" in addition, addition
    group = load(root)
    assert resolve(group, "carrier", "endpoint")["transport"] == ["0.0.0.0-tls", ""]
    assert run_module(dict(changes=[loop, cleared]))["changed"] is False
    # Switched off: the empty line goes, the GUI's file is untouched.
    assert run_module(dict(cleared, state="absent"))["changed"] is True
    assert resolve(load(root), "carrier", "endpoint")["transport"] == ["0.0.0.0-tls"]
    assert "transport=0.0.0.0-tls" in generated.read_text()

def test_a_template_named_as_the_section_that_inherits_it_is_left_to_its_other_heirs(tmp_path):
    root = tmp_path / "pjsip.conf"
    root.write_text("[office](!)\ntype=endpoint\ncontext=from-internal\n\n[office](office)\n\n[lobby](office)\n")
    args = dict(path=str(root), section="office", section_type="endpoint", option="context", value="guarded")
    assert run_module(args)["changed"] is True
    assert root.read_text() == ("[office](!)\ntype=endpoint\ncontext=from-internal\n\n[office](office)\n"
                                "context=guarded\n\n[lobby](office)\n")
    assert run_module(args)["changed"] is False


def test_a_section_whose_type_comes_from_an_addition_is_found_not_duplicated(tmp_path):
    # config.c merges "[1001](+)" into [1001] before res_sorcery_config reads its type.
    root = tmp_path / "pjsip.conf"
    root.write_text("[1001]\ncontext=from-internal\n\n[1001](+)\ntype=endpoint\n")
    args = dict(path=str(root), section="1001", section_type="endpoint", option="context", value="guarded")
    assert run_module(args)["changed"] is True
    assert root.read_text() == "[1001]\ncontext=guarded\n\n[1001](+)\ntype=endpoint\n"
    assert run_module(args)["changed"] is False
    # An addition of another type gives it none of this one.
    assert run_module(dict(args, section_type="aor", create_section=False)).get("failed") is True


def test_a_section_whose_type_comes_from_a_file_it_includes_is_found_not_duplicated(tmp_path):
    # "[1001]\n#include body.conf" with type= at the top of body.conf: Asterisk continues [1001]
    # there (config.c), so it is an endpoint; another [1001] appended would be a second object.
    root = tmp_path / "pjsip.conf"
    root.write_text("[1001]\n#include body.conf\n\n[1002]\ntype=endpoint\n")
    (tmp_path / "body.conf").write_text("type=endpoint\ncontext=from-internal\n")
    args = dict(path=str(root), section="1001", section_type="endpoint", option="language", value="fr",
                include_root=str(root))
    assert run_module(args)["changed"] is True
    assert root.read_text() == "[1001]\nlanguage=fr\n#include body.conf\n\n[1002]\ntype=endpoint\n"
    # What the included file sets, read after, cannot be changed from here: said, nothing written.
    clash = run_module(dict(args, option="context", value="guarded"))
    assert clash.get("failed") is True and "body.conf line 1 sets context again" in clash["msg"], clash
    # Without include_root the included file is not read: its type is unknown, and it is refused.
    unread = run_module(dict(args, include_root=None, value="de"))
    assert unread.get("failed") is True and "includes a file" in unread["msg"], unread
    # Read, and typeless there too: not an endpoint to edit, nor a name to use twice.
    (tmp_path / "body.conf").write_text("context=from-internal\n")
    typeless = run_module(dict(args, value="de"))
    assert typeless.get("failed") is True and "has no type" in typeless["msg"], typeless
    assert root.read_text().count("[1001]") == 1
