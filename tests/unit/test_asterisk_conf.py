"""module_utils/asterisk_conf.py against real-world Asterisk configuration shapes."""
import os
import shutil
from pathlib import Path

import pytest

from ansible.module_utils.asterisk_conf import (
    AsteriskConfigError, acl_rules, defining_section, iter_sections, load, mask_secrets, parse, resolve)

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk_conf"
FACTORY = Path(__file__).resolve().parents[2] / "lab" / "factory" / "pbx" / "asterisk"

ALL_FIXTURES = sorted(p for p in FIXTURES.rglob("*.conf"))


def read(path):
    return Path(path).read_text(encoding="utf-8")


# -- round trip ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL_FIXTURES + sorted(FACTORY.glob("*.conf")),
                         ids=lambda p: str(p).split("/fixtures/")[-1])
def test_unmodified_file_renders_byte_for_byte(path):
    text = read(path)
    assert parse(text, str(path)).render() == text


@pytest.mark.parametrize("text", [
    "", "\n", "[a]\nx=1", "[a]\r\nx = 1\r\n; c\r\n", "[a]\n  x =>  1  ; c\n\n\n",
    "[a]\nx=1 ;-- block\nstill comment --; y=2\n",
])
def test_edge_texts_round_trip(text):
    assert parse(text).render() == text


# -- sample pjsip.conf (upstream examples) ---------------------------------------------------

@pytest.fixture(name="sample")
def fixture_sample():
    return parse(read(FIXTURES / "pjsip_sample.conf"), "pjsip.conf")


def test_same_name_sections_are_told_apart_by_type(sample):
    assert [s.type for s in sample.find("6001")] == ["endpoint", "auth", "aor"]
    (endpoint,) = sample.find("6001", type="endpoint")
    assert endpoint.get("context") == "from-internal"
    # The sample lists allow twice; with its examples uncommented, transport four times.
    assert endpoint.get_all("allow") == ["ulaw", "gsm"]
    assert endpoint.get_all("transport") == [
        "transport-udp", "transport-tls", "transport-udp-ipv6", "transport-udp-nat"]
    assert endpoint.get("transport") == "transport-udp-nat"
    (aor,) = sample.find("6001", type="aor")
    assert aor.get("max_contacts") == "1"


def test_trailing_comments_are_not_values(sample):
    (tcp,) = sample.find("transport-tcp")
    assert tcp.get("tcp_keepalive_idle_time") == "30"
    (udp,) = sample.find("transport-udp")
    assert udp.get("protocol") == "udp"


def test_find_is_case_insensitive_like_asterisk(sample):
    assert sample.find("TRANSPORT-UDP")[0].name == "transport-udp"
    assert sample.find("6001", type="ENDPOINT")


def test_iter_sections_by_type(sample):
    names = [s.name for s in iter_sections(sample, type="endpoint")]
    assert names == ["7000", "6001", "6002"]


# -- manager.conf: upstream sample with a ;-- --; block comment, Debian's include -------------

def test_block_comment_hides_its_content():
    config = parse(read(FIXTURES / "manager_sample.conf"), "manager.conf")
    assert [s.name for s in config.sections] == ["general"]
    general = config.sections[0]
    assert general.get("bindaddr") == "0.0.0.0"
    assert general.get("enabled") == "no"
    # "eventfilter(...) = ..." inside the block comment is not an option.
    assert general.get("eventfilter") is None and not config.warnings


def test_debian_manager_includes_glob_in_order():
    configs = load(str(FIXTURES / "debian" / "manager.conf"))
    assert [os.path.basename(c.filename) for c in configs] == [
        "manager.conf", "10-ops.conf", "20-crm.conf"]
    assert configs[0].includes == [("include", "manager.d/*.conf", 13)]
    users = [s.name for s in iter_sections(configs) if s.name != "general"]
    assert users == ["ops", "crm"]
    assert resolve(configs, "ops")["permit"] == ["198.18.0.0/255.255.255.0"]


def test_escaped_semicolon_is_part_of_the_value():
    configs = load(str(FIXTURES / "debian" / "manager.conf"))
    crm = configs[2].find("crm")[0]
    assert crm.get("secret") == "crm;semicolon"
    crm.set("secret", "new;one")
    assert "secret=new\\;one ; escaped semicolon is part of the secret\n" in configs[2].render()
    assert parse(configs[2].render()).find("crm")[0].get("secret") == "new;one"


def test_missing_include_is_an_error_tryinclude_is_not(tmp_path):
    (tmp_path / "a.conf").write_text("[a]\nx=1\n#tryinclude \"nothere.conf\"\n")
    assert len(load(str(tmp_path / "a.conf"))) == 1
    (tmp_path / "b.conf").write_text("[a]\nx=1\n#include <nothere.d/*.conf>\n")
    with pytest.raises(AsteriskConfigError) as err:
        load(str(tmp_path / "b.conf"))
    assert str(err.value).endswith("b.conf:3: The file 'nothere.d/*.conf' was listed as a "
                                   "#include but it does not exist")
    assert err.value.lineno == 3


def test_include_follows_off(tmp_path):
    (tmp_path / "a.conf").write_text("#include \"missing.conf\"\n[a]\n")
    assert [c.filename for c in load(str(tmp_path / "a.conf"), follow_includes=False)] == [
        str(tmp_path / "a.conf")]


def test_included_file_continues_the_current_section(tmp_path):
    (tmp_path / "main.conf").write_text("[admin]\nsecret = x\n#include \"extra.conf\"\n")
    (tmp_path / "extra.conf").write_text("; more rights\nwrite = all\n[other]\nread = all\n")
    configs = load(str(tmp_path / "main.conf"))
    assert resolve(configs, "admin") == {"secret": ["x"], "write": ["all"]}
    assert configs[1].render() == read(tmp_path / "extra.conf")
    # The continuation is not a section of its own.
    assert [s.name for s in configs[1].find("admin")] == []


def test_an_included_file_is_read_at_its_include_line(tmp_path):
    """Installer layouts include their templates at the top of pjsip.conf, then use them:
    Asterisk reads an included file where its #include line is (main/config.c), so the
    templates exist before the sections below. Read file by file, the endpoint's template did
    not exist yet, and every role stopped on "Inheritance requested"."""
    (tmp_path / "templates.conf").write_text("[phone](!)\ntype = endpoint\ncontext = from-internal\n")
    (tmp_path / "more.conf").write_text("allow = g722\n[1002](phone)\n")
    (tmp_path / "pjsip.conf").write_text(
        "#include templates.conf\n[1001](phone)\nallow = ulaw\n#include more.conf\n"
        "[1001](+)\nallow = alaw\n")
    configs = load(str(tmp_path / "pjsip.conf"))
    assert [s.name for s in iter_sections(configs, type="endpoint")] == ["1001", "1002"]
    # more.conf's first line continues [1001], the section open at its #include line, and the
    # (+) addition after that line comes after it.
    assert resolve(configs, "1001", "endpoint")["allow"] == ["ulaw", "g722", "alaw"]
    with pytest.raises(AsteriskConfigError, match="category 'phone' does not exist"):
        (tmp_path / "pjsip.conf").write_text("[1001](phone)\n#include templates.conf\n")
        load(str(tmp_path / "pjsip.conf"))


def test_braces_and_include_depth(tmp_path):
    (tmp_path / "a.conf").write_text("[x]\n#include \"{b,c}.conf\"\n")
    (tmp_path / "b.conf").write_text("[b]\n")
    (tmp_path / "c.conf").write_text("[c]\n")
    assert [os.path.basename(c.filename) for c in load(str(tmp_path / "a.conf"))] == [
        "a.conf", "b.conf", "c.conf"]
    (tmp_path / "loop.conf").write_text("[l]\n#include \"loop.conf\"\n")
    with pytest.raises(AsteriskConfigError, match="maximum include level"):
        load(str(tmp_path / "loop.conf"))


# -- FreePBX layout: generated files, custom includes, templates, (+) additions -------------

@pytest.fixture(name="freepbx")
def fixture_freepbx():
    return load(str(FIXTURES / "freepbx" / "pjsip.conf"))


def test_freepbx_load_order(freepbx):
    assert [os.path.basename(c.filename) for c in freepbx] == [
        "pjsip.conf", "pjsip_custom.conf", "pjsip.transports.conf",
        "pjsip.transports_custom.conf", "pjsip.endpoint.conf", "pjsip.endpoint_custom.conf",
        "pjsip.aor.conf", "pjsip.auth.conf", "pjsip.identify.conf", "pjsip_custom_post.conf"]


def test_freepbx_template_inheritance_across_files(freepbx):
    custom = freepbx[5]
    (local,) = custom.find("2001")
    assert local.templates == ["secure-phone"] and not local.is_template
    assert local.type == "endpoint"  # inherited: the section itself has no type=
    assert custom.find("2001", type="endpoint") == [local]
    effective = resolve(freepbx, "2001", type="endpoint")
    assert effective["deny"] == ["0.0.0.0/0.0.0.0"]
    assert effective["permit"] == ["198.51.100.0/255.255.255.0"]
    assert effective["context"] == ["from-internal"]
    template = freepbx[3].find("secure-phone")[0]
    assert template.is_template and template.templates == []
    assert [s.name for s in iter_sections(freepbx, type="endpoint")] == [
        "dpma_endpoint", "1001", "carrier", "2001"]


def test_freepbx_addition_merges_into_the_filtered_section(freepbx):
    effective = resolve(freepbx, "1001", type="endpoint")
    assert effective["allow_unauthenticated_options"] == ["no"]
    assert effective["direct_media"] == ["yes", "no"]
    assert resolve(freepbx, "1001", type="aor")["max_contacts"] == ["3"]
    assert "allow_unauthenticated_options" not in resolve(freepbx, "1001", type="aor")


def test_defining_section_follows_templates_and_filtered_additions():
    # The same PJSIP name is an endpoint and an auth; the (+type=auth) addition belongs to the
    # auth only, as Asterisk merges it.
    config = parse("[phone](!)\ntype=auth\npassword=fromtemplate\nusername=u\n"
                   "[1001]\ntype=endpoint\ncontext=internal\n"
                   "[1001](phone)\n"
                   "[1001](+type=auth)\npassword=fromaddition\n"
                   "[1002](phone)\n")
    template, endpoint, auth, addition, other = config.sections
    assert defining_section(config, auth, "password") is addition
    assert defining_section(config, auth, "USERNAME") is template
    assert defining_section(config, endpoint, "password") is None
    assert defining_section(config, other, "password") is template
    assert defining_section(config, endpoint, "context") is endpoint


def test_defining_section_the_last_template_wins():
    config = parse("[a](!)\nallow=ulaw\n[b](!)\nallow=alaw\n[x](a,b)\ntype=endpoint\n")
    assert defining_section(config, config.sections[2], "allow") is config.sections[1]


def test_repeated_keys(freepbx):
    assert resolve(freepbx, "carrier", type="identify")["match"] == [
        "198.51.100.20", "198.51.100.21"]


def test_unknown_template_across_the_set_is_an_error(tmp_path):
    shutil.copytree(FIXTURES / "freepbx", tmp_path / "fp")
    custom = tmp_path / "fp" / "pjsip.endpoint_custom.conf"
    custom.write_text(custom.read_text().replace("secure-phone", "nonexistent"))
    with pytest.raises(AsteriskConfigError) as err:
        load(str(tmp_path / "fp" / "pjsip.conf"))
    assert err.value.filename.endswith("pjsip.endpoint_custom.conf") and err.value.lineno == 2
    assert "Inheritance requested, but category 'nonexistent' does not exist" in str(err.value)


# -- wizard ----------------------------------------------------------------------------------

def test_wizard_keys_with_object_prefixes():
    config = parse(read(FIXTURES / "pjsip_wizard.conf"), "pjsip_wizard.conf")
    (phone,) = config.find("myphone", type="wizard")
    assert phone.get("inbound_auth/password") == "test password"
    assert phone.get("endpoint/context") == "default"
    trunk = resolve(config, "mytrunk")
    assert trunk["remote_hosts"] == ["sip1.myitsp.com:5060,sip2.myitsp.com:5060"]
    phone.set("inbound_auth/password", "S3cure-long-passphrase")
    assert "inbound_auth/password = S3cure-long-passphrase\n" in config.render()


# -- the lab factory files -------------------------------------------------------------------

@pytest.mark.skipif(not (FACTORY / "pjsip.conf").exists(), reason="lab factory not present")
def test_factory_phone_template():
    config = parse(read(FACTORY / "pjsip.conf"), "pjsip.conf")
    endpoints = [s.name for s in iter_sections(config, type="endpoint")]
    assert endpoints == ["1001", "1002", "1003", "anonymous", "carrier"]
    assert resolve(config, "1001", "endpoint")["allow_unauthenticated_options"] == ["yes"]


# -- operators: templates, =>, +=, case ------------------------------------------------------

def test_header_forms():
    config = parse("[tpl](!)\na=1\n[tpl2](!,tpl)\nb=2\n[x](tpl,tpl2)\nc=3\n[x](+)\nd=4\n")
    tpl, tpl2, x, addition = config.sections
    assert tpl.is_template and tpl.templates == []
    assert tpl2.is_template and tpl2.templates == ["tpl"]
    assert not x.is_template and x.templates == ["tpl", "tpl2"]
    assert addition.is_addition
    assert resolve(config, "x") == {"a": ["1", "1"], "b": ["2"], "c": ["3"], "d": ["4"]}


def test_object_and_append_operators():
    # config.c's "+=": the last variable of exactly that name (case counts) gets the text after
    # the '=' as written, blanks too; with none, it is a new variable.
    config = parse("[ctx]\nexten => _X.,1,NoOp(${EXTEN})\n same => n,Hangup()\n"
                   "[vars]\nPATH = /a\npath += :/b\nPATH +=:/c\nPATH += ;d\nPATH+= \\;e \n")
    ctx, variables = config.sections
    assert ctx.options == [("exten", "_X.,1,NoOp(${EXTEN})"), ("same", "n,Hangup()")]
    assert config.lines[1].op == "=>"
    assert variables.get_all("path") == ["/a:/c ;e", ":/b"]
    assert resolve(config, "vars") == {"path": ["/a:/c ;e", ":/b"]}


def test_a_child_inherits_its_template_as_it_was_when_the_child_was_read():
    # config.c's ast_category_inherit copies the template's variables at the child's header: a later
    # [tpl](+TEMPLATES=include) reaches the children read after it only.
    config = parse("[tpl](!)\ntype = endpoint\ncontext = from-internal\n\n[1001](tpl)\n\n"
                   "[tpl](+TEMPLATES=include)\ncontext = guarded\ndeny = 0.0.0.0/0.0.0.0\n\n[1002](tpl)\n")
    assert resolve(config, "1001")["context"] == ["from-internal"]
    assert resolve(config, "1002")["context"] == ["from-internal", "guarded"]
    assert acl_rules(config, config.find("1001")[0]) == []
    assert defining_section(config, config.find("1001")[0], "context").lineno == 1
    # A "+=" appends to the inherited copy too.
    config = parse("[tpl](!)\nallow = ulaw\n[1001](tpl)\nallow += ,alaw\n")
    assert resolve(config, "1001")["allow"] == ["ulaw ,alaw"]


# -- editing ---------------------------------------------------------------------------------

EDIT_TEXT = """; header comment
[general]   ; general settings
enabled = yes   ; keep me
bindaddr=0.0.0.0

; Users
[admin]
secret = admin
deny=0.0.0.0/0.0.0.0
permit=10.0.0.0/8   ; office
permit=10.1.0.0/16
read = all
; trailing comment of admin, describing the next user

[other]
read = system
"""


def test_set_rewrites_in_place_and_keeps_comments():
    config = parse(EDIT_TEXT)
    general = config.find("general")[0]
    assert general.set("enabled", "no") is True
    assert general.set("enabled", "no") is False
    assert general.set("bindaddr", "127.0.0.1")
    assert general.set("authtimeout", "10")
    out = config.render()
    assert out == EDIT_TEXT.replace("enabled = yes   ; keep me", "enabled = no   ; keep me").replace(
        "bindaddr=0.0.0.0\n", "bindaddr=127.0.0.1\nauthtimeout=10\n")
    assert config.changed


def test_set_all_on_repeated_keys():
    config = parse(EDIT_TEXT)
    admin = config.find("admin")[0]
    assert admin.set_all("permit", ["10.0.0.0/8", "10.1.0.0/16"]) is False
    assert admin.set_all("permit", ["198.18.0.0/24"])
    out = config.render()
    assert "deny=0.0.0.0/0.0.0.0\npermit=198.18.0.0/24   ; office\nread = all\n" in out
    assert admin.set_all("permit", ["a", "b", "c"])
    assert admin.get_all("permit") == ["a", "b", "c"]
    assert "permit=a   ; office\npermit=b\npermit=c\nread = all\n" in config.render()
    assert admin.set_all("permit", []) and admin.get_all("permit") == []


def test_remove_and_add_keys():
    config = parse(EDIT_TEXT)
    admin = config.find("admin")[0]
    assert admin.remove("read") and not admin.remove("read")
    admin.add("permit", "192.0.2.0/24")
    assert admin.get_all("permit")[-1] == "192.0.2.0/24"
    # New options go after the last option, before the comment that belongs to [other].
    assert "permit=10.1.0.0/16\npermit=192.0.2.0/24\n; trailing comment" in config.render()


def test_add_and_remove_sections():
    config = parse(EDIT_TEXT)
    new = config.add_section("1001", templates=["phone"], is_template=False)
    new.set("type", "endpoint")
    new.set("context", "from-internal")
    assert config.render().endswith("read = system\n\n[1001](phone)\ntype = endpoint\ncontext = from-internal\n")
    tpl = config.add_section("tpl", is_template=True, templates=["base"])
    assert tpl.header.raw == "[tpl](!,base)\n"
    config.remove_section(config.find("admin")[0])
    out = config.render()
    assert "[admin]" not in out and "secret = admin" not in out
    # "; Users" sat right above [admin]: it goes with it; the comment after its options stays.
    assert "; Users" not in out and "\n; trailing comment of admin" in out
    assert parse(out).render() == out


def test_remove_last_section_and_add_to_file_without_final_newline():
    config = parse("[a]\nx=1\n\n[b]\ny=2")
    config.find("b")[0].set("z", "3")
    assert config.render() == "[a]\nx=1\n\n[b]\ny=2\nz=3\n"
    config.remove_section(config.find("b")[0])
    assert config.render() == "[a]\nx=1\n\n"


def test_set_on_empty_value_and_arrow_separator():
    config = parse("[a]\nx =\nexten => 1,1,NoOp()\n")
    section = config.sections[0]
    section.set("x", "5")
    section.set("exten", "2,1,NoOp()")
    assert config.render() == "[a]\nx = 5\nexten => 2,1,NoOp()\n"


def test_edit_keeps_crlf():
    config = parse("[a]\r\nx = 1\r\n")
    config.sections[0].set("y", "2")
    assert config.render() == "[a]\r\nx = 1\r\ny = 2\r\n"


# -- malformed input -------------------------------------------------------------------------

@pytest.mark.parametrize("text,lineno,message", [
    ("[general]\nx=1\n[users\n", 3, "no closing ']'"),
    ("; comment\nx = 1\n[a]\n", 2, "No category context"),
    ("[a](!\n", 1, "no closing ')'"),
    ("[a](!,)\n", 1, "empty template name"),
    ("[a]()\n", 1, "empty template name"),
    ("[a](!, tpl)\n", 1, "spaces around"),
    ("[a] (!)\n", 1, "after section header"),
    ("[]\n", 1, "empty section name"),
    ("[a]\nx=1\n;-- never closed\ny=2\n", 3, "unterminated block comment"),
    ("[a]\nx=1 ;-- outer ;-- inner --; still outer\n", 2, "unterminated block comment"),
    ("[a]\nx=NoOp(--;)\n", 2, "without a start"),
])
def test_malformed_input_names_file_and_line(text, lineno, message):
    with pytest.raises(AsteriskConfigError) as err:
        parse(text, "/etc/asterisk/x.conf")
    assert err.value.filename == "/etc/asterisk/x.conf"
    assert err.value.lineno == lineno
    assert str(err.value).startswith("/etc/asterisk/x.conf:%d: " % lineno)
    assert message in str(err.value)


def test_lines_asterisk_ignores_are_warnings_not_options():
    config = parse("[a]\npermit 10.0.0.0/8\n#frobnicate x\n= novalue\n")
    assert config.sections[0].options == []
    assert [w[0] for w in config.warnings] == [2, 3, 4]


def test_set_sequence_puts_deny_before_permit():
    config = parse("[u]\nsecret = x\npermit=10.0.0.0/8 ; office\nread = all\ndeny=0.0.0.0/0.0.0.0\n")
    section = config.sections[0]
    acl = [("deny", "0.0.0.0/0.0.0.0"), ("permit", "198.18.0.0/24")]
    assert section.set_sequence(["deny", "permit"], acl)
    assert config.render() == ("[u]\nsecret = x\ndeny = 0.0.0.0/0.0.0.0\n"
                               "permit=198.18.0.0/24 ; office\nread = all\n")
    assert not section.set_sequence(["deny", "permit"], acl)
    fresh = parse("[u]\nsecret = x\n")
    fresh.sections[0].set_sequence(["deny", "permit"], acl)
    assert fresh.render() == "[u]\nsecret = x\ndeny = 0.0.0.0/0.0.0.0\npermit = 198.18.0.0/24\n"


def test_new_options_go_before_a_trailing_include():
    config = parse("[general]\nenabled = yes\n\n[admin]\nsecret = x\n\n#include \"manager.d/*.conf\"\n")
    config.find("admin")[0].set("deny", "0.0.0.0/0.0.0.0")
    assert config.render() == ("[general]\nenabled = yes\n\n[admin]\nsecret = x\n"
                               "deny = 0.0.0.0/0.0.0.0\n\n#include \"manager.d/*.conf\"\n")


def test_remove_section_takes_its_leading_comment():
    config = parse("[a]\nx=1\n\n; Left over: remove me\n[anonymous]\ntype=endpoint\n\n[b]\ny=2\n")
    config.remove_section(config.find("anonymous")[0])
    assert config.render() == "[a]\nx=1\n\n[b]\ny=2\n"


def test_acl_rules_come_in_the_order_asterisk_applies_them():
    from ansible.module_utils.asterisk_conf import acl_open_families, acl_rules
    configs = [parse("[tpl](!)\npermit = 10.0.0.0/8\n\n[anonymous](tpl)\ntype = endpoint\n"
                     "deny = 0.0.0.0/0.0.0.0\n\n[anonymous](+type=endpoint)\ndeny = ::/0\n", "pjsip.conf")]
    section = [s for s in configs[0].sections if s.name == "anonymous" and not s.is_addition][0]
    rules = acl_rules(configs, section)
    assert rules == [("permit", "10.0.0.0/8"), ("deny", "0.0.0.0/0.0.0.0"), ("deny", "::/0")]
    # The last match wins: a deny of everything after the permit shuts both families...
    assert acl_open_families(rules) == []
    # ...a permit after it opens its family again, and no rule at all lets everyone in.
    assert acl_open_families(rules + [("permit", "198.51.100.0/24")]) == ["IPv4"]
    assert acl_open_families(rules[:2]) == ["IPv6"]
    assert acl_open_families([]) == ["IPv4", "IPv6"]


def test_voipguards_own_addition_to_an_object_gone_says_what_to_do(tmp_path):
    (tmp_path / "pjsip.conf").write_text("[1001]\ntype = endpoint\n#include pjsip_voipguard.conf\n")
    (tmp_path / "pjsip_voipguard.conf").write_text("[carrier](+type=endpoint)\ndirect_media = no\n")
    with pytest.raises(AsteriskConfigError, match=r"category 'carrier' does not exist \(voipguard's own file "
                                                  r"adds to carrier.*Asterisk stops reading the file there.*delete the section \[carrier\]\(\+\.\.\.\)"):
        load(str(tmp_path / "pjsip.conf"), config_dir=str(tmp_path))
    # An operator's own file gets Asterisk's message alone.
    (tmp_path / "pjsip.conf").write_text("[1001]\ntype = endpoint\n[carrier](+type=endpoint)\n")
    with pytest.raises(AsteriskConfigError, match=r"category 'carrier' does not exist$"):
        load(str(tmp_path / "pjsip.conf"), config_dir=str(tmp_path))


def test_lines_too_long_for_asterisks_read_buffer_are_skipped_as_it_skips_them():
    # config.c reads with fgets() into 8192 bytes: a line of 8191 bytes or more before its newline
    # is "too long" and skipped to its end (the lab's Asterisk 22 skips 8191, reads 8190).
    def endpoint(*middle):
        return "[1001]\ntype = endpoint\ncontext = from-internal\n" + "".join(middle) + "language = fr\n"
    assert resolve(parse(endpoint("context = guarded" + " " * 8173 + "\n")), "1001")["context"][-1] == "guarded"
    config = parse(endpoint("context = guarded" + " " * 8174 + "\n"))  # 8191 bytes
    assert resolve(config, "1001")["context"] == ["from-internal"]
    assert resolve(config, "1001")["language"] == ["fr"]  # the next line is read
    assert [n for n, _why in config.warnings] == [4]
    # Bytes, not characters: 4096 two-byte characters are 8192 bytes.
    assert "callerid" not in resolve(parse(endpoint("callerid = " + "\u00e9" * 4096 + "\n")), "1001")
    # A skipped secret is never shown.
    masked = mask_secrets(endpoint("password = " + "s" * 9000 + "\n"))
    assert "sss" not in masked


# Asterisk 22's options that hold a credential (their modules' sources), and secrets written where
# no option is read: commented out, in a block comment, after an option, in a register line.
@pytest.mark.parametrize("text", [
    "[trunk-auth]\ntype=auth\nauth_type=oauth\noauth_secret=LEAK1\nrefresh_token=LEAK2\nusername=u\n",
    "[general]\ndbpass=LEAK1\n[ldap]\npass=LEAK2\n[hep]\ncapture_password=LEAK3\n",
    "[general]\nauth_password=LEAK1\nturnpassword=LEAK2\nssl_keypasswd=LEAK3\nproxy_password=LEAK4\n",
    "[general]\nimappassword=LEAK1\nimapsecret=LEAK2\nauthpassword=LEAK3\n",
    "[a]\ntype=auth\nusername=u\n;-- old credentials\npassword=LEAK1\n--;\n",
    "[a]\ntype=auth ;-- disabled:\nsecret=LEAK1\n--;\n;-- password = LEAK2 --;\n",
    "[a]\ntype=auth\nusername=v ; old password = LEAK1\n; old secret=LEAK2\n",
    "[general]\nbindport=4569\nregister => 1234:LEAK1@iax.example.com\n",
    "[general]\n#exec /usr/local/bin/mkusers --db-password=LEAK1\n",
    # Unparseable (a stray '--;'): every line that looks like a secret is hidden all the same.
    "[a]\nsecret += LEAK1\n--;\n;-- password = LEAK2\n",
])
def test_every_secret_of_a_file_is_masked_and_the_rest_kept(text):
    masked = mask_secrets(text, "x.conf")
    assert "LEAK" not in masked, masked
    assert "********" in masked
    kept = [line for line in text.splitlines() if "LEAK" not in line]
    assert [line for line in masked.splitlines() if "********" not in line] == kept


def test_settings_that_only_sound_secret_are_shown():
    text = "[general]\npassword_format = plain\ntoken_lifetime = 60\nusername = u\n"
    assert mask_secrets(text) == text


def test_a_secret_is_not_quoted_in_a_parse_error():
    with pytest.raises(AsteriskConfigError) as raised:
        parse("[a]password=LEAK1\ntype=auth\n", "pjsip.conf")
    assert "LEAK" not in str(raised.value) and "password=********" in str(raised.value)
