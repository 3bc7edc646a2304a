"""module_utils/sample_dialplans.py: engines loaded with the package's sample dialplan alone.
The CLI answers are Debian's stock Asterisk 22's (captured); the files are bytes given here, as
no Asterisk or dpkg runs in a unit test. tests/lab/test_perimeter.py sees the real ones
switched off."""
from pathlib import Path

from ansible.module_utils.sample_dialplans import (
    calls_in, digest, engine_contexts, is_unedited_sample, judge_samples, loaded_engines, packaged_digests,
    read_samples)

CAPTURED = Path(__file__).parent / "fixtures" / "asterisk_live"
# 'module show like pbx_' of the stock Asterisk 22 (its header line shortened).
MODULES = """Module                         Description                              Use Count  Status      Support
pbx_ael.so                     Asterisk Extension Language Compiler     0          Running          extended
pbx_config.so                  Text Extension Configuration             0          Running              core
pbx_dundi.so                   Distributed Universal Number Discovery ( 0          Not Running      extended
pbx_lua.so                     Lua PBX Switch                           0          Running          extended
7 modules loaded
"""
AEL = b"context default {\n  _X. => Dial(PJSIP/${EXTEN}@carrier);\n};\n"
LUA = b"extensions = { demo = {} }\n"
CONFFILES = (" /etc/asterisk/extensions.ael %s\n /etc/asterisk/extensions.lua %s\n /etc/asterisk/acl.conf %s obsolete\n"
             % (digest(AEL), digest(LUA), "0" * 32))


def listing():
    return (CAPTURED / "dialplan_show_debian_stock.txt").read_text()


def test_the_listings_are_read():
    assert loaded_engines(MODULES) == ["pbx_ael.so", "pbx_lua.so"]
    assert loaded_engines(MODULES.replace("Running          extended", "Not Running      extended")) == []
    assert packaged_digests(CONFFILES)["/etc/asterisk/extensions.lua"] == digest(LUA)
    assert "/etc/asterisk/acl.conf" in packaged_digests(CONFFILES)


def test_a_sample_is_the_packages_own_byte_for_byte():
    packaged = packaged_digests(CONFFILES)
    assert is_unedited_sample(AEL, "/etc/asterisk/extensions.ael", packaged)
    assert not is_unedited_sample(AEL + b"; mine\n", "/etc/asterisk/extensions.ael", packaged)
    assert not is_unedited_sample(None, "/etc/asterisk/extensions.ael", packaged)
    # No dpkg (a source install, another directory): the copy the package keeps decides.
    assert is_unedited_sample(AEL, "/opt/pbx/extensions.ael", {}, sample=AEL)
    assert not is_unedited_sample(AEL, "/opt/pbx/extensions.ael", {}, sample=None)


def test_the_contexts_an_engine_serves_and_the_calls_in_them():
    contexts = engine_contexts("pbx_lua.so", listing())
    assert contexts == {"local", "demo", "public", "default"}
    assert "ael-trunkint" in engine_contexts("pbx_ael.so", listing())
    channels = "PJSIP/1001-00000001!demo!s!1!Up!Playback!demo-congrats!1001!!!3!12!!1\n" \
               "PJSIP/1002-00000002!from-internal!100!1!Up!Dial!PJSIP/100!1002!!!3!12!!2\n"
    assert calls_in(contexts, channels) == ["PJSIP/1001-00000001"]


def test_an_unedited_sample_is_switched_off_unless_a_call_is_in_it():
    unedited = {"pbx_ael.so": True, "pbx_lua.so": True}
    loaded = ["pbx_ael.so", "pbx_lua.so"]
    assert judge_samples(loaded, unedited, listing(), "") == (["pbx_ael.so", "pbx_lua.so"], {})
    assert judge_samples(loaded, {"pbx_ael.so": False, "pbx_lua.so": True}, listing(), "") == (["pbx_lua.so"], {})
    in_ael_demo = "PJSIP/1001-00000001!ael-demo!s!1!Up!Wait!1!1001!!!3!1!!1\n"
    off, held = judge_samples(loaded, unedited, listing(), in_ael_demo)
    assert off == ["pbx_lua.so"]
    assert held == {"pbx_ael.so": "pbx_ael.so loads the sample extensions.ael, and 1 call is in its dialplan now "
                                     "(PJSIP/1001-00000001)"}
    # What Asterisk does not say counts as a call: nothing is switched off on a guess.
    off, held = judge_samples(loaded, unedited, listing(), None)
    assert off == [] and sorted(held) == loaded


def test_read_samples_asks_the_running_asterisk_and_reads_the_files():
    answers = {"module show like pbx_": MODULES, "dialplan show": listing(), "core show channels concise": ""}
    files = {"/etc/asterisk/extensions.ael": AEL, "/etc/asterisk/extensions.lua": LUA + b"-- edited\n"}
    result = read_samples(answers.get, files.get, CONFFILES)
    assert result == dict(sample_dialplans={"pbx_ael.so": "/etc/asterisk/extensions.ael"},
                          switch_off=["pbx_ael.so"], held={})
    # Neither loaded: nothing asked beyond the module listing, nothing switched off.
    asked = []
    result = read_samples(lambda command: asked.append(command) or "", files.get, CONFFILES)
    assert asked == ["module show like pbx_"] and result["switch_off"] == []


def test_the_module_reads_the_running_asterisk_once_and_stops_when_it_does_not_answer(tmp_path, monkeypatch):
    """asterisk_sample_dialplans_info through asterisk -rx and dpkg-query. Neither runs in a unit
    test: scripts of those names stand in, answering as Debian's stock Asterisk 22 and dpkg do,
    and writing down what they were asked."""
    import asterisk_sample_dialplans_info  # pylint: disable=import-outside-toplevel
    from tests import module_runner  # pylint: disable=import-outside-toplevel

    (tmp_path / "modules.txt").write_text(MODULES)
    (tmp_path / "dialplan.txt").write_text(listing())
    (tmp_path / "extensions.ael").write_bytes(AEL)
    (tmp_path / "extensions.lua").write_bytes(LUA + b"-- edited\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "asterisk").write_text(
        '#!/bin/sh\necho "$2" >> %s/asked\n'
        '[ -e %s/stopped ] && { echo "Unable to connect to remote asterisk"; exit 1; }\n'
        'case "$2" in\n"module show like pbx_") cat %s/modules.txt ;;\n"dialplan show") cat %s/dialplan.txt ;;\n'
        '"core show channels concise") ;;\n*) exit 1 ;;\nesac\n' % ((tmp_path,) * 4))
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\necho ' %s/extensions.ael %s'\necho ' %s/extensions.lua %s'\n"
                                        % (tmp_path, digest(AEL), tmp_path, digest(LUA)))
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, __import__("os").environ["PATH"]))

    result = module_runner.run_module(asterisk_sample_dialplans_info, dict(config_dir=str(tmp_path)), check_mode=True)
    assert result["changed"] is False
    assert result["sample_dialplans"] == {"pbx_ael.so": "%s/extensions.ael" % tmp_path}
    assert result["switch_off"] == ["pbx_ael.so"] and result["held"] == {}
    assert (tmp_path / "asked").read_text().splitlines() == [
        "module show like pbx_", "dialplan show", "core show channels concise"]

    (tmp_path / "stopped").touch()
    result = module_runner.run_module(asterisk_sample_dialplans_info, dict(config_dir=str(tmp_path)))
    assert result["failed"] is True
    assert "Asterisk did not answer 'module show like pbx_'" in result["msg"]
