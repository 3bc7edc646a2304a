"""An addition to a category nobody defines any more: Asterisk stops reading its file there (seen
in the lab on Asterisk 22: a FreePBX extension deleted from pjsip.endpoint.conf cut the trunk's
loop, written after its addition in pjsip.endpoint_custom_post.conf, out of the running trunk).
The toolkit comments such an addition out in the files where it writes additions, nowhere else."""
import os
import re
import shutil

import pytest

from _pytest.outcomes import Failed

from ansible.module_utils.asterisk_conf import (
    PLACEHOLDER_KINDS, AsteriskConfigError, _all_sections, comment_out_section, load, load_as_asterisk_reads,
    mask_secrets, orphan_additions_commented_out, placeholder_type, placeholders_for_additions, resolve)
from ansible.module_utils.pbx_distribution import is_amendment_file
from audit.controls import test_core as core_controls
from audit.hostctx import HostContext
from audit.plugin import Evidence
from test_audit_gui import FilesHost

import asterisk_config_info
import asterisk_orphan_additions
from tests import module_runner

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


def test_asterisk_config_info_reads_past_an_orphan_as_asterisk_does_when_asked(tmp_path):
    """The guard's first read of pjsip.conf comes before asterisk_hardening repairs an orphan
    (lab, FreePBX: an extension deleted in the GUI); failing there stopped the run that repairs it."""
    root = pbx(tmp_path)
    failed = module_runner.run_module(asterisk_config_info, dict(path=root))
    assert failed["failed"] and "category '202' does not exist" in failed["msg"]
    read = module_runner.run_module(asterisk_config_info, dict(path=root, as_asterisk_reads=True))
    amended = str(tmp_path / "pjsip.endpoint_custom_post.conf")
    assert read["orphans"] == [{"file": amended, "lineno": 4, "category": "202"}]
    assert [s["name"] for s in read["sections"] if s["type"] == "endpoint" and not s["is_addition"]] == [
        "200", "carrier"]
    both = module_runner.run_module(asterisk_config_info, dict(paths=[root], as_asterisk_reads=True))
    assert both["configs"]["pjsip.conf"]["orphans"] == read["orphans"]


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


def nine_deleted_objects_layout(tmp_path, deleted=9):
    """One file per object, ``deleted`` of the objects gone from the generated file, the trunk's
    loop in the file included after theirs."""
    names = ["%d" % (300 + number) for number in range(deleted)] + ["carrier"]
    tmp_path.mkdir()
    root = pbx(tmp_path, additions="".join("#tryinclude pjsip.endpoint_custom_post.d/%s.conf\n" % name
                                           for name in names))
    (tmp_path / "pjsip.endpoint_custom_post.d").mkdir()
    for name in names:
        (tmp_path / "pjsip.endpoint_custom_post.d" / ("%s.conf" % name)).write_text(
            "[%s](+type=endpoint)\n%s\n" % (name, "outbound_proxy = sip:carrier@127.0.0.1:5060\\;lr"
                                             if name == "carrier" else "context = guarded"))
    return root


def test_each_file_asterisk_stops_reading_costs_an_include_level_it_never_gives_back(tmp_path):
    # config.c (ast_config_internal_load) gives the level back only to a file that loaded: the
    # custom_post file reads its object files at level 3, so after 9 failed ones every later
    # #tryinclude is beyond max_include_level (10) and skipped without a word.
    configs, orphans = load_as_asterisk_reads(nine_deleted_objects_layout(tmp_path / "nine"))
    assert len(orphans) == 9
    assert "outbound_proxy" not in resolve(configs, "carrier", "endpoint")
    # 8 still leave the trunk's loop read; the run's repair leaves all of them read again.
    root = nine_deleted_objects_layout(tmp_path / "eight", deleted=8)
    configs, orphans = load_as_asterisk_reads(root)
    assert len(orphans) == 8 and resolve(configs, "carrier", "endpoint")["outbound_proxy"] == [
        "sip:carrier@127.0.0.1:5060;lr"]
    texts, found = orphan_additions_commented_out(nine_deleted_objects_layout(tmp_path / "repaired"), is_amendment_file)
    assert len(found) == 9
    configs = load(str(tmp_path / "repaired" / "pjsip.conf"), read=lambda name: texts.get(name) or open(name).read())
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]


def test_a_glob_include_stops_at_the_file_asterisk_stops_reading(tmp_path):
    # config.c's glob loop ends at a file that fails: the files after it in the glob are not read.
    (tmp_path / "pjsip.conf").write_text("[office]\ntype = endpoint\ncontext = from-internal\n#include pjsip.d/*.conf\n")
    (tmp_path / "pjsip.d").mkdir()
    (tmp_path / "pjsip.d" / "a.conf").write_text("[gone](+type=endpoint)\nallow = ulaw\n")
    (tmp_path / "pjsip.d" / "b.conf").write_text("[office](+type=endpoint)\ncontext = guarded\n")
    configs, orphans = load_as_asterisk_reads(str(tmp_path / "pjsip.conf"))
    assert [category for _path, _line, category in orphans] == ["gone"]
    assert resolve(configs, "office", "endpoint")["context"] == ["from-internal"]


@pytest.mark.parametrize("defined, addition", [
    ("[carrier]\ntype = aor\ncontact = sip:198.51.100.20\n", "[carrier](+type=endpoint)"),  # another object's name
    ("[tpl](!)\ntype = endpoint\n", "[tpl](+)"),  # a template, without TEMPLATES=include
    ("[carrier]\ntype = endpoint\n", "[carrier](+type=[)"),  # a filter regcomp refuses
])
def test_an_addition_whose_filter_matches_no_category_is_an_orphan(tmp_path, defined, addition):
    # config.c's ast_category_get(cfg, name, filter): the name alone does not make a category.
    (tmp_path / "pjsip.conf").write_text(defined + "#include more.conf\n")
    (tmp_path / "more.conf").write_text(addition + "\nallow = ulaw\n")
    with pytest.raises(AsteriskConfigError, match="does not exist"):
        load(str(tmp_path / "pjsip.conf"))
    assert len(load_as_asterisk_reads(str(tmp_path / "pjsip.conf"))[1]) == 1


def test_an_addition_to_a_template_needs_templates_include(tmp_path):
    (tmp_path / "pjsip.conf").write_text("[tpl](!)\ntype = endpoint\n[tpl](+TEMPLATES=include)\nallow = ulaw\n"
                                         "[1001](tpl)\n")
    assert resolve(load(str(tmp_path / "pjsip.conf")), "1001", "endpoint")["allow"] == ["ulaw"]


def test_an_orphan_commented_out_in_a_latin_1_file_keeps_its_bytes(tmp_path):
    root = pbx(tmp_path)
    amended = tmp_path / "pjsip.endpoint_custom_post.conf"
    amended.write_bytes(b"; Ger\xe4te im B\xfcro\n" + ADDITIONS.encode())
    result = run_orphan_module(dict(paths=[root], config_dir=str(tmp_path), backup=False))
    assert result["changed"] is True
    written = amended.read_bytes()
    assert written.startswith(b"; Ger\xe4te im B\xfcro\n") and b";[202](+type=endpoint)" in written


def run_orphan_module(args):
    from tests import module_runner
    return module_runner.run_module(asterisk_orphan_additions, args)


FREEPBX_FACTORY = os.path.join(os.path.dirname(__file__), "..", "..", "lab", "factory", "freepbx", "asterisk")


def freepbx_after_gui_deletions(tmp_path, amendment, deleted, placeholders=False):
    """The lab's FreePBX 17 files (what its genConfig() writes) hardened with one file per object
    read through ``amendment``: the trunk's first, then ``deleted`` extensions' that the GUI has
    deleted since, then 201's; its pjsip.conf. With ``placeholders``, each object file as
    asterisk_config writes it since 0.3.0 (a placeholder before the addition)."""
    shutil.copytree(FREEPBX_FACTORY, str(tmp_path), dirs_exist_ok=True)
    stem = amendment[:-len(".conf")]
    os.mkdir(str(tmp_path / (stem + ".d")))
    names = ["carrier"] + ["%d" % (300 + number) for number in range(deleted)] + ["201"]
    with open(str(tmp_path / amendment), "a") as including:
        for name in names:
            including.write("#tryinclude %s.d/%s.conf\n" % (stem, name))
            option = "outbound_proxy = sip:carrier@127.0.0.1:5060\\;lr" if name == "carrier" else "context = guarded"
            text = "[%s](+type=endpoint)\n%s\n" % (name, option)
            if placeholders:
                text = placeholders_for_additions(text, "%s.conf" % name)
            (tmp_path / (stem + ".d") / ("%s.conf" % name)).write_text(text)
    return str(tmp_path / "pjsip.conf")


def test_nine_gui_deletions_past_freepbxs_own_includes_make_asterisk_refuse_pjsip_conf(tmp_path):
    # 0.3.0-dev's layout, seen in the lab on Asterisk 22: object files read from
    # pjsip.endpoint_custom_post.conf, before pjsip.aor.conf and the rest; nine of them failing take
    # FreePBX's own includes beyond the level, and a restart starts without any PJSIP object.
    with pytest.raises(AsteriskConfigError, match="maximum include level"):
        load_as_asterisk_reads(freepbx_after_gui_deletions(tmp_path, "pjsip.endpoint_custom_post.conf", 9))


@pytest.mark.parametrize("deleted", [8, 9, 12])
def test_gui_deletions_past_pjsip_custom_post_conf_never_cost_freepbxs_objects(tmp_path, deleted):
    # Read last of pjsip.conf, failed object files can only cost the object files after them: every
    # object FreePBX defines stays, and so does the trunk's loop, read first; a phone's addition
    # after 9 failed files is skipped until the next run comments them out.
    configs, orphans = load_as_asterisk_reads(freepbx_after_gui_deletions(tmp_path, "pjsip_custom_post.conf", deleted))
    assert len(orphans) == min(deleted, 9)  # the files after the ninth are not even opened
    defined = [(s.name, s.get("type")) for s in _all_sections(configs) if s.header is not None and not s.is_addition]
    for name, kind in (("200", "endpoint"), ("201", "aor"), ("202-auth", "auth"), ("carrier", "identify")):
        assert (name, kind) in defined
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
    assert resolve(configs, "201", "endpoint")["context"][-1] == ("guarded" if deleted <= 8 else "from-internal")


@pytest.mark.parametrize("deleted", [9, 12])
def test_with_a_placeholder_before_each_addition_gui_deletions_cost_nothing(tmp_path, deleted):
    # The addition of an object the GUI deleted goes to its placeholder (config.c matches the filter
    # as a regular expression): no orphan, so no file stops and no include level is lost; 201's
    # guard, read after them, is in force, and the placeholders make no PJSIP object.
    configs, orphans = load_as_asterisk_reads(
        freepbx_after_gui_deletions(tmp_path, "pjsip_custom_post.conf", deleted, placeholders=True))
    assert orphans == []
    assert resolve(configs, "201", "endpoint")["context"][-1] == "guarded"
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
    endpoints = [s.name for s in _all_sections(configs) if s.header is not None and not s.is_addition
                 and s.get("type") == "endpoint"]
    assert "201" in endpoints and not [name for name in endpoints if name.startswith("30")], endpoints
    # While the GUI defines the object, its addition goes to it, not to the placeholder.
    placeholder = [s for s in _all_sections(configs) if s.name == "201" and s.get("type") == "voipguard-placeholder-endpoint"]
    assert len(placeholder) == 1 and [key for key, _value in placeholder[0].options] == ["type"]


PJSIP_OBJECT_TYPES = ["endpoint", "aor", "auth", "identify", "registration", "transport", "global", "system",
                      "domain_alias", "contact", "acl", "phoneprov", "outbound-publish", "inbound-publication",
                      "resource_list", "asterisk-publication"]


@pytest.mark.parametrize("kind", PLACEHOLDER_KINDS)
def test_a_placeholder_takes_the_additions_of_its_own_type_and_no_other(kind):
    # config.c matches "type=<kind>" as a regular expression; res_sorcery_config matches exactly.
    placeholder = placeholder_type("type=%s" % kind)
    assert [other for other in PJSIP_OBJECT_TYPES if re.search(other, placeholder)] == [kind]
    assert placeholder not in PJSIP_OBJECT_TYPES


def test_a_singleton_gets_no_placeholder():
    # Asterisk 22 refused pjsip.conf for a second [global], whatever its type (lab).
    assert placeholder_type("type=global") is None and placeholder_type("type=system") is None
    assert placeholder_type("type=endpoint&context=x") is None  # not a plain type filter


def test_placeholders_follow_the_additions_of_their_file():
    one = "[201](+type=endpoint)\ncontext = guarded\n"
    placed = placeholders_for_additions(one, "201.conf")
    assert placed == ("; voipguard: where the addition below goes if [201] is deleted\n[201]\n"
                      "type = voipguard-placeholder-endpoint\n\n" + one)
    assert placeholders_for_additions(placed, "201.conf") == placed
    # The addition gone (its options removed): its placeholder goes too.
    assert placeholders_for_additions(placed.replace(one, ""), "201.conf") == ""
    # One 0.3.0-dev wrote, with its first note, no longer needed: it goes with that note.
    earlier = ("; voipguard: where the addition below goes once the GUI deletes [202]\n[202]\n"
               "type = voipguard-placeholder-endpoint\n\n")
    assert placeholders_for_additions(earlier + "; kept\n", "202.conf") == "; kept\n"
    # A placeholder after its addition is none: it moves before it.
    assert placeholders_for_additions(one + "\n" + placed[:-len(one)], "201.conf") == placed
    # The operator's comment right above the addition stays with it.
    commented = "; 201 rings the reception\n" + one
    assert placeholders_for_additions(commented, "201.conf") == placed[:-len(one)] + commented
    # A manager.conf user's addition has no type filter: a section there would be a user.
    assert placeholders_for_additions("[admin](+)\nread = system\n", "admin.conf") == "[admin](+)\nread = system\n"
    assert placeholders_for_additions("[global](+type=global)\nx = 1\n", "global.conf") == "[global](+type=global)\nx = 1\n"


def test_an_include_refused_for_its_level_fails_only_the_file_that_holds_it(tmp_path):
    # config.c: a plain #include refused makes process_text_line return -1 for the file holding it;
    # that file stops there (and keeps its level), the file that included it reads on.
    root = freepbx_after_gui_deletions(tmp_path, "pjsip_custom_post.conf", 9)
    with open(str(tmp_path / "pjsip_custom_post.conf"), "a") as including:
        including.write("#include pjsip_voipguard.conf\n[carrier](+type=endpoint)\nlanguage = fr\n")
    (tmp_path / "pjsip_voipguard.conf").write_text("[voipguard-egress]\ntype = endpoint\n")
    configs, _orphans = load_as_asterisk_reads(root)
    names = [s.name for s in _all_sections(configs) if s.header is not None]
    assert "voipguard-egress" not in names and "language" not in resolve(configs, "carrier", "endpoint")
    assert "global" in names  # pjsip.conf itself read to its end
    assert resolve(configs, "carrier", "endpoint")["outbound_proxy"] == ["sip:carrier@127.0.0.1:5060;lr"]
