"""The running Asterisk against its files (module_utils/asterisk_live.py). The CLI answers are
real ones, captured from the lab's Asterisk 22 (password replaced by a placeholder); the fake
CLI below serves them, since no Asterisk runs in a unit test. The lab test
tests/lab/test_live_state.py runs the same code against the real one."""
from pathlib import Path

from ansible.module_utils.asterisk_conf import parse
from ansible.module_utils.asterisk_live import (
    dialplan_drift, drift_by_area, endpoints_outside_files, manager_drift, parse_aor_limits, parse_auth_names, parse_manager_user, parse_config_contexts,
    parse_endpoint_names, parse_manager_settings, parse_manager_users, parse_parameters, pjsip_drift,
    realtime_objects, running_dialplan, CUT_SHORT)

CAPTURED = Path(__file__).parent / "fixtures" / "asterisk_live"
PLACEHOLDER = "PASSWORD-PLACEHOLDER"


def captured(name):
    return (CAPTURED / name).read_text()


def identifies_with(identify, endpoint, *matches):
    """The lab's ``pjsip show identifies`` (the guard's egress loaded) with one identify more, as
    Asterisk 22 prints one (res_pjsip_endpoint_identifier_ip.c, cli_print_body): a host name
    resolved, the port where one is given, "!" before an excluding entry."""
    added = " Identify:  %s/%s\n%s" % (identify, endpoint, "".join("      Match: %s\n" % m for m in matches))
    return captured("pjsip_show_identifies.txt").replace("\n\nObjects found", "\n" + added + "\nObjects found")


def lab_cli(overrides=None):
    """A CLI answering from the captured outputs; auths 1002/1003 answer like 1001."""
    answers = {
        "pjsip show endpoints": captured("pjsip_show_endpoints.txt"),
        "pjsip show auths": captured("pjsip_show_auths.txt"),
        "manager show settings": captured("manager_show_settings.txt"),
        "manager show users": captured("manager_show_users.txt"),
        "dialplan show": captured("dialplan_show.txt"),
    }
    for name in ("1001", "1002", "1003", "carrier"):
        answers["pjsip show endpoint %s" % name] = captured("pjsip_show_endpoint_1001.txt")
    for name in ("1001", "1002", "1003"):
        answers["pjsip show auth %s" % name] = captured("pjsip_show_auth_1001.txt").replace(
            "username                 : 1001", "username                 : %s" % name)
    answers.update(overrides or {})
    return answers.get


def pjsip_text(password=PLACEHOLDER, context="voipguard-guard-from-internal", extra=""):
    text = "[phone](!)\ntype = endpoint\ncontext = %s\n" % context
    for name in ("1001", "1002", "1003"):
        text += "[%s](phone)\nauth = %s\naors = %s\n" % (name, name, name)
        text += "[%s]\ntype = auth\nusername = %s\npassword = %s\n" % (name, name, password)
        text += "[%s]\ntype = aor\n" % name
    text += "[carrier]\ntype = endpoint\ncontext = voipguard-guard-from-internal\n" + extra
    return [parse(text, "/etc/asterisk/pjsip.conf")]


def test_parsers_read_the_real_cli_output():
    assert parse_endpoint_names(captured("pjsip_show_endpoints.txt")) == ["1001", "1002", "1003", "carrier"]
    assert parse_auth_names(captured("pjsip_show_auths.txt")) == ["1001", "1002", "1003"]
    params = parse_parameters(captured("pjsip_show_endpoint_1001.txt"))
    assert params["context"] == "voipguard-guard-from-internal" and params["aors"] == "1001"
    assert parse_parameters(captured("pjsip_show_auth_1001.txt"))["password"] == PLACEHOLDER
    assert parse_manager_users(captured("manager_show_users.txt")) == ["admin"]
    assert parse_manager_settings(captured("manager_show_settings.txt")) == {"enabled": True, "bind": "198.18.0.10:5038"}
    contexts = parse_config_contexts(captured("dialplan_show.txt"))
    assert "voipguard-guard-from-internal" in contexts and "demo" not in contexts  # demo is pbx_lua's


def test_aor_limits_from_the_listing():
    assert parse_aor_limits(captured("pjsip_show_endpoints.txt")) == {"1001": 1, "1002": 1, "1003": 1, "carrier": 1}


def test_endpoint_ids_with_a_caller_id_holding_blanks():
    text = " Endpoint:  1001/Alice Smith <1001>               Not in use    0 of inf\n"
    assert parse_endpoint_names(text) == ["1001"]


def test_files_and_running_state_that_agree_show_no_drift():
    assert pjsip_drift(pjsip_text(), [], lab_cli()) == []


def test_a_loaded_anonymous_endpoint_the_files_no_longer_have_is_drift():
    listing = captured("pjsip_show_endpoints.txt") + "\n Endpoint:  anonymous        Unavailable   0 of inf\n"
    drift = pjsip_drift(pjsip_text(), [], lab_cli({"pjsip show endpoints": listing}))
    assert drift == ["endpoint anonymous is loaded but in no file"]


def test_wizard_and_realtime_endpoints_are_not_drift():
    listing = captured("pjsip_show_endpoints.txt") + "\n Endpoint:  wiz1     Unavailable   0 of inf\n"
    wizard = [parse("[wiz1]\ntype = wizard\n", "/etc/asterisk/pjsip_wizard.conf")]
    assert pjsip_drift(pjsip_text(), wizard, lab_cli({"pjsip show endpoints": listing})) == []
    sorcery = [parse("[res_pjsip]\nendpoint = realtime,ps_endpoints\n", "/etc/asterisk/sorcery.conf")]
    assert realtime_objects(sorcery) == {"endpoint"}
    assert pjsip_drift(pjsip_text(), [], lab_cli({"pjsip show endpoints": listing}), realtime={"endpoint"}) == []


def test_an_unloaded_password_change_is_drift_and_the_secret_is_never_shown():
    drift = pjsip_drift(pjsip_text(password="n3wR0tatedSecretOfTwentyEight"), [], lab_cli())
    assert drift == ["auth %s: the running password differs from the files" % n for n in ("1001", "1002", "1003")]
    assert "n3wR0tated" not in repr(drift) and PLACEHOLDER not in repr(drift)


def test_a_context_the_running_endpoint_does_not_use_is_drift():
    drift = pjsip_drift(pjsip_text(context="from-internal"), [], lab_cli())
    assert "endpoint 1001 runs in context voipguard-guard-from-internal, the files say from-internal" in drift


def test_an_endpoint_in_the_files_but_not_loaded_is_drift():
    drift = pjsip_drift(pjsip_text(extra="[1004](phone)\n"), [], lab_cli())
    assert drift == ["endpoint 1004 is in the files but not loaded"]


def test_ami_bind_and_users():
    manager = [parse("[general]\nenabled = yes\nbindaddr = 198.18.0.10\n[admin]\nsecret = x\n",
                     "/etc/asterisk/manager.conf")]
    assert manager_drift(manager, lab_cli()) == []
    wide = [parse("[general]\nenabled = y\nbindaddr = 0.0.0.0\n[admin]\nsecret = x\n[crm]\nsecret = y\n",
                  "/etc/asterisk/manager.conf")]
    assert manager_drift(wide, lab_cli()) == [
        "the AMI listens on 198.18.0.10:5038, manager.conf says 0.0.0.0:5038",
        "AMI user crm is in the files but not loaded"]
    off = [parse("[general]\nenabled = no\n", "/etc/asterisk/manager.conf")]
    assert manager_drift(off, lab_cli()) == ["the AMI is on, manager.conf says enabled = no"]


def test_voipguard_contexts_in_the_files_must_be_loaded():
    listing = captured("dialplan_show.txt")
    loaded = parse_config_contexts(listing)
    files = "".join("[%s]\nexten => s,1,NoOp()\n" % c for c in loaded)
    assert dialplan_drift([parse(files, "/etc/asterisk/extensions.conf")], lab_cli(), "voipguard-") == []
    files += "[voipguard-new]\nexten => s,1,NoOp()\n"
    assert dialplan_drift([parse(files, "/etc/asterisk/extensions.conf")], lab_cli(), "voipguard-") == [
        "dialplan context voipguard-new is in the files but not loaded"]


def test_a_silent_asterisk_is_drift_not_a_pass():
    assert pjsip_drift(pjsip_text(), [], lambda command: None) == [
        "the running Asterisk does not answer 'pjsip show endpoints'"]


def test_drift_by_area_skips_missing_files():
    files = {"pjsip.conf": pjsip_text()}
    assert drift_by_area(lambda name: files.get(name, []), lab_cli()) == {"pjsip": []}


def test_an_ami_user_as_the_running_asterisk_shows_it():
    user = parse_manager_user(captured("manager_show_user_admin.txt"))
    assert user["acl"] == [("deny", "0.0.0.0/0.0.0.0"), ("allow", "198.18.0.0/255.255.255.0"),
                           ("allow", "127.0.0.1/255.255.255.255")]
    assert "originate" not in user["write"] and "system" not in user["write"] and "call" in user["write"]
    assert parse_manager_user("No such user 'nobody'") is None


def test_a_trunk_boundary_in_the_files_but_not_running_is_drift():
    looped = pjsip_text(extra="outbound_proxy = sip:carrier@127.0.0.1:5060\\;lr\n")
    drift = pjsip_drift(looped, [], lab_cli())
    assert drift == ["endpoint carrier sends through outbound_proxy (none), the files say "
                     "sip:carrier@127.0.0.1:5060;lr"]
    running = captured("pjsip_show_endpoint_1001.txt").replace(
        " outbound_proxy                     : \n",
        " outbound_proxy                     : sip:carrier@127.0.0.1:5060;lr\n")
    assert pjsip_drift(looped, [], lab_cli({"pjsip show endpoint carrier": running})) == []


def test_endpoints_outside_the_files_are_the_loaded_ones_no_section_defines():
    # The lab's real listing, plus a wizard phone and the trunk boundary's own endpoint.
    listing = captured("pjsip_show_endpoints.txt") + (
        " Endpoint:  2001                                                 Unavailable   0 of inf\n"
        " Endpoint:  voipguard-egress                                     Not in use    0 of inf\n")
    assert endpoints_outside_files(listing, ["1001", "1002", "1003", "carrier"]) == ["2001"]
    assert endpoints_outside_files(listing, {"1001": "from-internal"}) == ["1002", "1003", "2001", "carrier"]
    assert endpoints_outside_files(None, ["1001"]) == []


# -- the running dialplan beyond the files ----------------------------------------------------------

def running_text(listing, globals_listing=None, left_out=()):
    """running_dialplan's two configurations, as text without the blank lines that keep the
    listing's line numbers."""
    configs = running_dialplan(listing, "" if globals_listing is None else globals_listing, left_out)
    return ["\n".join(line for line in config.render().splitlines() if line) for config in configs]


def test_the_running_dialplan_beyond_the_files_is_what_other_modules_registered():
    """Debian's stock Asterisk 22 (captured): extensions.ael's contexts (pbx_ael), the Lua switch
    pbx_lua puts in the contexts extensions.lua names, res_parking's lot; none of the lines a file
    defined (extensions.conf:NNN, or an include by pbx_config) - the files are read themselves."""
    listing = captured("dialplan_show_debian_stock.txt")
    globals_config, dialplan = running_text(listing)
    assert globals_config == "[globals]"
    assert ("[ael-trunkint]\nexten => _9011.,1,Gosub(ael-dundi-e164,~~s~~,1(${EXTEN:4}))\n"
            "same => 2,Dial(${OUTBOUND-TRUNK}/${EXTEN:${OUTBOUND-TRUNKMSD}})\n"
            "include => ael-dundi-e164-lookup") in dialplan
    assert "[local]\nswitch => Lua/\n[demo]\nswitch => Lua/" in dialplan
    assert "exten => 700,1,Park()" in dialplan
    assert "same => 5(restart),Background(demo-congrats)" in dialplan  # a label kept
    assert "exten => beep,1,Answer()" in dialplan  # "(CID match '')": no caller-ID match
    assert "extensions.conf" not in dialplan and "include => trunkint" not in dialplan
    assert "_91800" not in dialplan.split("[ael-trunktollfree]")[0]
    assert "hint" not in dialplan and "Ignore" not in dialplan
    # The lines keep the listing's numbers: a finding names the line 'dialplan show' prints.
    numbered = running_dialplan(listing, "")[1]
    line = [l for l in numbered.lines if l.raw.startswith("exten => _9011.")][0]
    assert listing.splitlines()[line.lineno - 1].startswith("  '_9011.' =>")
    assert all(config.running for config in running_dialplan(listing, ""))
    # 'dialplan show globals' unanswered: no [globals] of the running Asterisk, the files' stand.
    assert [config.filename for config in running_dialplan(listing, None)] == ["asterisk -rx 'dialplan show'"]


def test_the_running_globals_and_what_a_run_switches_off():
    listing = captured("dialplan_show_debian_stock.txt")
    shown = "   OUTBOUND-TRUNK=PJSIP/carrier\n   NOTE=a;b\n\n    -- 2 variable(s)\n"
    globals_config, dialplan = running_text(listing, shown, left_out=["pbx_lua.so", "pbx_ael.so"])
    assert globals_config == "[globals]\nOUTBOUND-TRUNK = PJSIP/carrier\nNOTE = a\\;b"
    assert "ael-" not in dialplan and "Lua/" not in dialplan and "[parkedcalls]" in dialplan


def test_a_priority_the_listing_cuts_short_is_not_understood():
    """show_dialplan_helper prints a priority into 1024 bytes: what it cuts off could name any
    trunk, so the line reads as a switch - a dialing nobody can read."""
    long_dial = "1. Dial(PJSIP/${EXTEN}@carrier&%s" % ("PJSIP/x&" * 200)
    listing = ("[ Context 'ael-out' created by 'pbx_ael' ]\n"
               "  '_X.' =>          %s [pbx_ael]\n" % long_dial[:1023])
    assert running_text(listing)[1] == "[ael-out]\nswitch => %s" % CUT_SHORT
    listing = listing.replace(long_dial[:1023], "1. Dial(PJSIP/${EXTEN}@carrier)")
    assert running_text(listing)[1] == "[ael-out]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)"
