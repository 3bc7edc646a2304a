"""module_utils/channel_drivers.py: channel drivers that call other hosts past the trunk boundary."""
import pytest

from ansible.module_utils.channel_drivers import (
    commands_for, dialplan_dials, hide_inline_secrets, in_use_reasons, judge, loaded_drivers, read_drivers)

# core show channeltypes of the lab PBX (Debian's Asterisk 22, modules.conf autoload = yes).
CHANNELTYPES = """\
Type             Description                              Devicestate   Presencestate Indications   Transfer
-------------    -------------                            ------------- ------------- ------------- -------------
Recorder         Bridge Media Recording Channel Driver    no            no            yes           no
Motif            Motif Jingle Channel Driver              no            no            yes           no
WebSocket        Media over WebSocket Channel Driver      no            no            no            no
IAX2             Inter Asterisk eXchange Driver (Ver 2)   yes           no            yes           yes
PJSIP            PJSIP Channel Driver                     yes           no            yes           yes
Local            Local Proxy Channel Driver               yes           no            yes           no
----------
13 channel drivers registered.
"""

UNUSED_IAX2 = {
    "iax2 show peers": "Name/Username    Host    Mask    Port    Status    Description\n"
                       "0 iax2 peers [0 online, 0 offline, 0 unmonitored]\n",
    "iax2 show registry": "Host    dnsmgr  Username    Perceived    Refresh  State\n0 IAX2 registrations.\n",
    "core show channels concise": "",
}


def test_the_drivers_past_the_boundary_are_read_from_the_channel_types_and_pjsip_is_not_one():
    assert loaded_drivers(CHANNELTYPES) == ["IAX2", "Motif"]
    assert loaded_drivers("") == []


def test_an_iax2_nothing_uses_is_switched_off():
    assert in_use_reasons("IAX2", UNUSED_IAX2) == []
    assert judge(["IAX2"], {"IAX2": []}) == (["chan_iax2.so"], {}, [])


@pytest.mark.parametrize("command, output, reason", [
    ("iax2 show peers", "provider  203.0.113.5  (S)  255.255.255.255  4569  OK (12 ms)\n"
                        "1 iax2 peers [1 online, 0 offline, 0 unmonitored]\n", "1 IAX2 peers (iax2 show peers)"),
    ("iax2 show registry", "203.0.113.5:4569  N  pbx  <Unregistered>  60  Request Sent\n1 IAX2 registrations.\n",
     "1 IAX2 registrations (iax2 show registry)"),
    ("core show channels concise", "IAX2/provider-1234!from-internal!00263771234567!1!Up!Dial!!!!3!12!(None)\n",
     "1 call in progress (IAX2/provider-1234)"),
    ("iax2 show peers", None, "Asterisk did not answer 'iax2 show peers'"),
])
def test_an_iax2_in_use_is_refused_with_what_uses_it(command, output, reason):
    outputs = dict(UNUSED_IAX2, **{command: output})
    assert in_use_reasons("IAX2", outputs) == [reason]
    switch_off, refused, kept = judge(["IAX2"], {"IAX2": [reason]})
    assert (switch_off, kept) == ([], [])
    assert refused == {"chan_iax2.so": "IAX2 (chan_iax2.so) is in use: %s" % reason}


def test_dialplan_lines_that_dial_a_driver_are_named_with_their_context_not_counted_as_a_use():
    """Lab: Debian's extensions.ael has this demo line; counted as a use, every stock install stopped."""
    dialplan = ("[ Context 'demo' created by 'pbx_ael' ]\n"
                "  '500' =>          1. Playback(demo-abouttotry)                  [pbx_ael]\n"
                "                    2. Dial(IAX2/guest@misery.digium.com/s@default) [pbx_ael]\n"
                "[ Context 'from-internal' created by 'pbx_config' ]\n"
                "  '_00.' =>  1. Dial(iax2/203.0.113.5/${EXTEN})  [extensions.conf:20]\n"
                "  '_+X.' =>  1. Dial(PJSIP/${EXTEN}@carrier)     [extensions.conf:13]\n")
    assert dialplan_dials("IAX2", dialplan) == [
        "context demo: 2. Dial(IAX2/guest@misery.digium.com/s@default) [pbx_ael]",
        "context from-internal: '_00.' => 1. Dial(iax2/203.0.113.5/${EXTEN}) [extensions.conf:20]"]
    assert dialplan_dials("DAHDI", dialplan) == []
    # A dial string with the far end's password inline: the password never reaches a log or report.
    inline = ("[ Context 'out' created by 'pbx_config' ]\n"
              "  '_X.' => 1. Dial(IAX2/pbx:S3cr3tPw@203.0.113.5/${EXTEN}) [x:1]\n")
    assert dialplan_dials("IAX2", inline) == [
        "context out: '_X.' => 1. Dial(IAX2/pbx:********@203.0.113.5/${EXTEN}) [x:1]"]
    assert in_use_reasons("IAX2", dict(UNUSED_IAX2, **{"dialplan show": dialplan})) == []


@pytest.mark.parametrize("text, shown", [
    ("Dial(IAX2/pbx:S3cr3tPw@203.0.113.5/${EXTEN})", "Dial(IAX2/pbx:********@203.0.113.5/${EXTEN})"),
    ("Dial(IAX2/${PEER:0:3}:S3cr3tPw@203.0.113.5)", "Dial(IAX2/${PEER:0:3}:********@203.0.113.5)"),
    ("Dial(${OUTTECH}/trunk:S3cr3tPw@203.0.113.5/${EXTEN})", "Dial(${OUTTECH}/trunk:********@203.0.113.5/${EXTEN})"),
    # A substring's colon is no password's: the route stays readable in the report.
    ("Dial(PJSIP/${EXTEN:1}@carrier)", "Dial(PJSIP/${EXTEN:1}@carrier)"),
    ("Dial(PJSIP/carrier/sip:${EXTEN}@198.51.100.20:5060)", "Dial(PJSIP/carrier/sip:${EXTEN}@198.51.100.20:5060)"),
    ("Dial(PJSIP/${FILTER(0-9,${EXTEN:2})}@carrier,60)", "Dial(PJSIP/${FILTER(0-9,${EXTEN:2})}@carrier,60)"),
])
def test_only_a_dial_strings_password_is_hidden(text, shown):
    assert hide_inline_secrets(text) == shown


def test_a_driver_whose_lines_cannot_be_read_counts_as_in_use_and_the_operator_may_keep_any():
    assert in_use_reasons("DAHDI", {}) == ["its lines or gateways are not judged here"]
    reasons = {"DAHDI": ["its lines or gateways are not judged here"], "IAX2": []}
    assert judge(["DAHDI", "IAX2"], reasons, kept=["chan_dahdi.so", "chan_iax2.so"]) == (
        [], {}, ["chan_dahdi.so", "chan_iax2.so"])


def test_motif_counts_as_in_use_only_with_an_xmpp_connection():
    idle = {"xmpp show connections": "Jabber Users and their status:\n----\n   Number of clients: 0\n",
            "core show channels concise": ""}
    assert in_use_reasons("Motif", idle) == []
    connected = dict(idle, **{"xmpp show connections": "   [google] pbx@example.org - Connected\n"
                                                        "----\n   Number of clients: 1\n"})
    assert in_use_reasons("Motif", connected) == ["1 XMPP connections (xmpp show connections)"]


def test_the_running_asterisk_is_asked_no_more_than_the_judgement_needs():
    asked = []

    def cli(command):
        asked.append(command)
        return CHANNELTYPES if command == "core show channeltypes" else (
            "   Number of clients: 0\n" if command == "xmpp show connections" else UNUSED_IAX2.get(command, ""))

    result = read_drivers(cli, kept=["chan_motif.so"])
    assert result["switch_off"] == ["chan_iax2.so"] and result["kept"] == ["chan_motif.so"]
    assert result["dialed"] == {}
    assert set(asked) == ({"core show channeltypes", "dialplan show"} | set(commands_for("IAX2"))
                          | set(commands_for("Motif")))
    assert read_drivers(lambda command: None, kept=[]) is None
