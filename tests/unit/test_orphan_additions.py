"""An addition to a category nobody defines any more: Asterisk stops reading its file there (seen
in the lab on Asterisk 22: a FreePBX extension deleted from pjsip.endpoint.conf cut the trunk's
loop, written after its addition in pjsip.endpoint_custom_post.conf, out of the running trunk).
The toolkit comments such an addition out in the files where it writes additions, nowhere else."""
import pytest

from _pytest.outcomes import Failed

from ansible.module_utils.asterisk_conf import (
    AsteriskConfigError, comment_out_section, load, load_as_asterisk_reads, mask_secrets,
    orphan_additions_commented_out, resolve)
from ansible.module_utils.pbx_distribution import is_amendment_file
from audit.controls import test_core as core_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from test_audit_gui import FilesHost

import asterisk_orphan_additions

PJSIP = "[0]\n#include pjsip.endpoint.conf\n#include pjsip.endpoint_custom_post.conf\n"
ENDPOINTS = "[200]\ntype = endpoint\ncontext = from-internal\n\n[carrier]\ntype = endpoint\ncontext = from-pstn\n"
ADDITIONS = ("[200](+type=endpoint)\ncontext = voipguard-guard-from-internal\n\n"
             "[202](+type=endpoint)\ndeny = 0.0.0.0/0.0.0.0\npermit = 198.51.100.0/24\n\n"
             "[carrier](+type=endpoint)\noutbound_proxy = sip:carrier@127.0.0.1:5060\\;lr\n")


def pbx(tmp_path, additions=ADDITIONS, endpoints=ENDPOINTS):
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    (tmp_path / "pjsip.endpoint.conf").write_text(endpoints)
    (tmp_path / "pjsip.endpoint_custom_post.conf").write_text(additions)
    return str(tmp_path / "pjsip.conf")


def test_the_files_where_the_toolkit_writes_additions_and_only_those():
    assert [is_amendment_file("/etc/asterisk/" + name) for name in (
        "pjsip.endpoint_custom_post.conf", "pjsip_custom_post.conf", "manager_custom.conf")] == [True] * 3
    assert [is_amendment_file("/etc/asterisk/" + name) for name in (
        "pjsip.endpoint.conf", "pjsip.conf", "pjsip.endpoint_custom.conf", "extensions_custom.conf")] == [False] * 4


def test_a_section_is_commented_out_to_the_next_header_and_nothing_else_changes():
    text = "[a]\nx = 1\n\n[b](+)\n; a note\ny = 2\n\n[c]\nz = 3\n"
    assert comment_out_section(text, 4, ["gone"]) == "[a]\nx = 1\n\n; gone\n;[b](+)\n; a note\n;y = 2\n\n[c]\nz = 3\n"
    with pytest.raises(ValueError):
        comment_out_section(text, 2, ["gone"])


def test_an_orphan_addition_is_commented_out_and_what_followed_it_is_read_again(tmp_path):
    root = pbx(tmp_path)
    with pytest.raises(AsteriskConfigError, match="category '202' does not exist"):
        load(root)
    texts, found = orphan_additions_commented_out(root, is_amendment_file)
    amended = str(tmp_path / "pjsip.endpoint_custom_post.conf")
    assert found == [(amended, 4, "202")] and list(texts) == [amended]
    assert ";[202](+type=endpoint)\n;deny = 0.0.0.0/0.0.0.0\n" in texts[amended]
    assert "Asterisk stopped reading this file" in texts[amended]
    # The operator's text is kept, and what followed the orphan counts again: the trunk's loop.
    configs = load(root, read=lambda name: texts.get(name) or open(name).read())
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
    # Nothing to do on a configuration Asterisk reads whole.
    assert orphan_additions_commented_out(pbx(tmp_path, ADDITIONS.replace("[202]", "[200]")),
                                          is_amendment_file) == ({}, [])


def test_in_the_layout_of_one_file_per_object_only_the_deleted_objects_file_is_commented_out(tmp_path):
    root = per_object_layout(tmp_path)
    texts, found = orphan_additions_commented_out(root, is_amendment_file)
    orphan = str(tmp_path / "pjsip.endpoint_custom_post.d" / "202.conf")
    assert found == [(orphan, 1, "202")] and list(texts) == [orphan]
    configs = load(root, read=lambda name: texts.get(name) or open(name).read())
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
    assert resolve(configs, "200", "endpoint")["context"][-1] == "voipguard-guard-from-internal"


def test_an_orphan_addition_outside_the_toolkits_files_is_an_error_naming_it(tmp_path):
    root = pbx(tmp_path, additions="", endpoints=ENDPOINTS + "\n[202](+type=endpoint)\ndeny = 0.0.0.0/0.0.0.0\n")
    with pytest.raises(AsteriskConfigError, match=r"pjsip\.endpoint\.conf:9: Category addition requested, "
                                                  r"but category '202' does not exist"):
        orphan_additions_commented_out(root, is_amendment_file)


def test_the_module_comments_out_backs_up_and_shows_no_secret(tmp_path):
    secret = "not-a-real-secret-7f3a"
    root = pbx(tmp_path, additions=ADDITIONS + "\n[202-auth](+type=auth)\npassword = %s\n" % secret)
    amended = tmp_path / "pjsip.endpoint_custom_post.conf"
    before = amended.read_text()
    plan = asterisk_orphan_additions.plan([root], config_dir=str(tmp_path))
    assert [(entry["path"], entry["sections"]) for entry in plan] == [(str(amended), ["202", "202-auth"])]
    assert amended.read_text() == before  # planning writes nothing
    shown = repr([entry["diff"] for entry in plan])
    assert secret not in shown and ";password = ********" in shown
    assert secret in plan[0]["after"]  # the file keeps it, as a comment
    assert mask_secrets(plan[0]["after"]).count(secret) == 0


def test_a_wrong_config_dir_is_an_error_naming_the_include_and_nothing_is_written(tmp_path):
    root = pbx(tmp_path)
    amended = tmp_path / "pjsip.endpoint_custom_post.conf"
    before = amended.read_text()
    # The includes resolve against config_dir: a wrong one finds none of them.
    with pytest.raises(AsteriskConfigError, match=r"pjsip\.endpoint\.conf.*does not exist"):
        asterisk_orphan_additions.plan([root], config_dir=str(tmp_path / "no-such-dir"))
    assert amended.read_text() == before
    # A root that does not exist is skipped (a PBX without manager.conf), not an error.
    assert asterisk_orphan_additions.plan([str(tmp_path / "manager.conf")], config_dir=str(tmp_path)) == []


def per_object_layout(tmp_path):
    """What asterisk_config writes since 0.3.0, extension 202 deleted from the generated file."""
    root = pbx(tmp_path, additions="".join("#tryinclude pjsip.endpoint_custom_post.d/%s.conf\n" % name
                                           for name in ("200", "202", "carrier")))
    (tmp_path / "pjsip.endpoint_custom_post.d").mkdir()
    for name, text in zip(("200", "202", "carrier"), ADDITIONS.split("\n\n")):
        (tmp_path / "pjsip.endpoint_custom_post.d" / ("%s.conf" % name)).write_text(text.rstrip("\n") + "\n")
    return root


def test_the_configuration_as_asterisk_reads_it_ends_each_file_at_its_orphan_addition(tmp_path):
    # One file for every addition (before 0.3.0): the trunk's loop after the orphan is not read.
    configs, orphans = load_as_asterisk_reads(pbx(tmp_path))
    amended = str(tmp_path / "pjsip.endpoint_custom_post.conf")
    assert orphans == [(amended, 4, "202")]
    assert resolve(configs, "200", "endpoint")["context"][-1] == "voipguard-guard-from-internal"
    assert "outbound_proxy" not in resolve(configs, "carrier", "endpoint")
    # One file per object: only the orphan's own file ends early.
    configs, orphans = load_as_asterisk_reads(per_object_layout(tmp_path))
    assert [(line, category) for _path, line, category in orphans] == [(1, "202")]
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
    # In the top file Asterisk refuses the whole configuration.
    (tmp_path / "pjsip.conf").write_text(PJSIP + "[202](+type=endpoint)\ndeny = 0.0.0.0/0.0.0.0\n")
    with pytest.raises(AsteriskConfigError, match="category '202' does not exist"):
        load_as_asterisk_reads(str(tmp_path / "pjsip.conf"))


def test_the_audit_names_where_asterisk_stops_reading(tmp_path):
    per_object_layout(tmp_path)
    files = dict(("/etc/asterisk/" + str(path.relative_to(tmp_path)), path.read_text())
                 for path in tmp_path.rglob("*.conf"))
    with pytest.raises(Failed, match=r"pjsip\.endpoint_custom_post\.d/202\.conf line 1: \[202\] is defined "
                                     r"nowhere, and nothing after it is read"):
        core_controls.test_every_file_is_read_to_its_end(HostContext(FilesHost(files), "pbx"), Evidence())
    files["/etc/asterisk/pjsip.endpoint_custom_post.conf"] = files[
        "/etc/asterisk/pjsip.endpoint_custom_post.conf"].replace("#tryinclude pjsip.endpoint_custom_post.d/202.conf\n", "")
    core_controls.test_every_file_is_read_to_its_end(HostContext(FilesHost(files), "pbx"), Evidence())
