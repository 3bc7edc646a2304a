"""The guard covers the PBXs out there: an installer layout keeps its phones in #include'd files
(and their templates), and a phone the guard does not see is a phone whose calls reach the trunk
unchecked. Here a phone lives in an included file; after the run it is guarded where it is
defined, the running Asterisk sends its calls through the guard, and the incident's calls from
it never reach the carrier. A trunk in an included file gets the money boundary there too."""
import base64
import json
import re
import secrets
import time

import pytest

from conftest import (
    PBX_VOICE, a_national_number, audit_controls, carrier_records, harden, log_length, trunk_as_a_wizard)
from test_trunk_boundary import refusals_since, wait_for_every_verdict

INCLUDED = "/etc/asterisk/voipguard-test.d/phones.conf"
DIALPLAN_INCLUDES = "/etc/asterisk/extensions_local.conf"


def phone_file(password):
    return ("[office-phone](!)\ntype = endpoint\ncontext = from-internal\ndisallow = all\nallow = ulaw\n\n"
            "[2001](office-phone)\nauth = 2001\naors = 2001\n\n"
            "[2001]\ntype = auth\nauth_type = digest\nusername = 2001\npassword = %s\n\n"
            "[2001]\ntype = aor\nmax_contacts = 1\n" % password)


@pytest.fixture
def phone_in_an_included_file(lab):
    pbx = lab("pbx")
    password = secrets.token_hex(16)
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.included-test && mkdir -p %s",
                     INCLUDED.rsplit("/", 1)[0])
    # The command holds the phone's password: only its exit code may reach an assertion message.
    written = pbx.run("printf '%%s' %s > %s && chown asterisk: %s && chmod 0640 %s",
                      phone_file(password), INCLUDED, INCLUDED, INCLUDED).rc
    assert written == 0
    pbx.check_output("printf '\\n#include voipguard-test.d/*.conf\\n' >> /etc/asterisk/pjsip.conf && "
                     "asterisk -rx 'module reload res_pjsip.so'")
    # The operator keeps their dialplan's includes in a file of their own, the guard's among them.
    pbx.check_output("cp -p /etc/asterisk/extensions.conf /root/extensions.conf.included-test && "
                     "sed -i 's/^#include extensions_voipguard.conf$/#include extensions_local.conf/' "
                     "/etc/asterisk/extensions.conf && echo '#include extensions_voipguard.conf' > %s && "
                     "chown asterisk: %s && asterisk -rx 'dialplan reload'", DIALPLAN_INCLUDES, DIALPLAN_INCLUDES)
    yield pbx, password
    pbx.check_output("cp -p /root/pjsip.conf.included-test /etc/asterisk/pjsip.conf && rm -rf %s && "
                     "asterisk -rx 'module reload res_pjsip.so'", INCLUDED.rsplit("/", 1)[0])
    pbx.check_output("cp -p /root/extensions.conf.included-test /etc/asterisk/extensions.conf && rm -f %s && "
                     "asterisk -rx 'dialplan reload'", DIALPLAN_INCLUDES)


# Cuts the [carrier] sections out of pjsip.conf into an included file, where an installer keeps
# its trunks, without the loop the role added. The line that includes voipguard's own file
# follows the trunk's last section there: included once, from another file than pjsip.conf.
# Runs on the PBX, so no secret of pjsip.conf travels in a command.
MOVE_TRUNK = r"""
import re, sys
conf, included = sys.argv[1], sys.argv[2]
text = open(conf).read()
parts = re.split(r"(?m)^(?=\[)", text)
trunk = [p for p in parts if p.startswith("[carrier]")]
rest = [p for p in parts if not p.startswith("[carrier]")]
assert len(trunk) == 3 and "#include pjsip_voipguard.conf" in trunk[-1], trunk
open(included, "w").write("".join(re.sub(r"(?m)^outbound_proxy\s*=.*\n", "", p) for p in trunk))
open(conf, "w").write("".join(rest) + "\n#include voipguard-test-trunks.d/trunks.conf\n")
"""
TRUNKS = "/etc/asterisk/voipguard-test-trunks.d/trunks.conf"


def assert_the_trunk_leg_judges_calls_onto_the_trunk(pbx, carrier, national_number, trunk="carrier"):
    """The running trunk loops through the guard: a blocked number originated onto it is refused
    on the trunk leg, and a national one reaches the carrier through the trunk's copy."""
    assert "sip:%s@" % trunk in pbx.check_output("asterisk -rx 'pjsip show endpoint %s' | grep outbound_proxy" % trunk)
    pbx.check_output("asterisk -rx 'database deltree voipguard'")
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, "/var/log/asterisk/messages.log")
    for number in ("00263771234567", national_number):
        pbx.check_output("asterisk -rx %s", "channel originate PJSIP/%s@%s application Wait 1" % (number, trunk))
    wait_for_every_verdict(pbx, carrier, recorded, logged, [national_number], refusals=1, seconds=8)
    reached = [record["dst"] for record in carrier_records(carrier)[recorded:]]
    assert reached == [national_number], reached
    refused = refusals_since(pbx, logged)
    assert len(refused) == 1 and "endpoint=trunk-leg" in refused[0], refused


@pytest.fixture
def trunk_in_an_included_file(lab):
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.trunk-test && "
                     "cp -p /etc/asterisk/pjsip_voipguard.conf /root/pjsip_voipguard.conf.trunk-test && "
                     "install -d -o asterisk -g asterisk -m 0750 %s", TRUNKS.rsplit("/", 1)[0])
    pbx.check_output("python3 -c %s /etc/asterisk/pjsip.conf %s && chown asterisk: %s && chmod 0640 %s && "
                     "asterisk -rx 'module reload res_pjsip.so'", MOVE_TRUNK, TRUNKS, TRUNKS, TRUNKS)
    yield pbx
    pbx.check_output("cp -p /root/pjsip.conf.trunk-test /etc/asterisk/pjsip.conf && "
                     "cp -p /root/pjsip_voipguard.conf.trunk-test /etc/asterisk/pjsip_voipguard.conf && "
                     "rm -rf %s && asterisk -rx 'module reload res_pjsip.so'", TRUNKS.rsplit("/", 1)[0])


def test_a_phone_and_a_trunk_in_included_files_are_guarded_where_they_are_defined(
        lab, lab_inventory, unique_number, trunk_in_an_included_file, phone_in_an_included_file):
    """One run of the guard for both (the trunk's file set up first, so that the phone's include
    follows the trunk's last section in pjsip.conf, not moved with the trunk into its file)."""
    pbx, password = phone_in_an_included_file
    office, carrier = lab("admin"), lab("carrier")
    assert "context                            : from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2001'")
    # The trunk, moved out of pjsip.conf, dials the carrier directly: no boundary yet.
    assert "sip:carrier@" not in pbx.check_output("asterisk -rx 'pjsip show endpoint carrier'")
    # The outside-line digit given, not read from the dialplan: the guard still sees its own
    # include in the operator's file and adds no second one (Asterisk would warn about each of its
    # extensions).
    result = harden(lab_inventory, tags="toll_fraud_guard", extra_vars={"toll_fraud_guard_outside_line": ""})
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    included = pbx.check_output("grep -h '^#include extensions_voipguard.conf' /etc/asterisk/extensions*.conf")
    assert included.splitlines() == ["#include extensions_voipguard.conf"], included
    # The phone: edited in the included file (the endpoint's own context= overrides its
    # template's); the file holds a password, so only the count of matching lines reaches the test
    # output.
    edited = pbx.run("grep -c '^context = voipguard-guard-from-internal$' %s", INCLUDED).stdout.strip()
    assert edited == "1", "the included file holds %s guard context lines, not 1" % edited
    # ...and in force in the running Asterisk.
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2001'")
    # The trunk: the loop is written where the trunk is defined, and nowhere else; voipguard's file
    # is still included once (twice, res_pjsip would refuse the whole configuration: duplicate
    # objects).
    assert pbx.check_output("grep -c '^outbound_proxy = sip:carrier@' %s", TRUNKS) == "1"
    assert pbx.run("grep -c '^\\[carrier\\]' /etc/asterisk/pjsip.conf").stdout.strip() == "0"
    assert pbx.run("grep -c '^#include pjsip_voipguard.conf' /etc/asterisk/pjsip.conf").stdout.strip() == "0"
    # ...and in force.
    assert_the_trunk_leg_judges_calls_onto_the_trunk(pbx, carrier, unique_number)
    recorded_before, log_before = len(carrier_records(carrier)), log_length(pbx, "/var/log/asterisk/messages.log")
    # The incident's 150 calls to Zimbabwe and Somalia, from the phone in the included file.
    for number in ("00263771234567", "+252612345678"):
        office.run("SIP_PASSWORD=%s voipguard-call %s 2001 %s 75 25 300 20", password, PBX_VOICE, number)
    time.sleep(1)
    assert carrier_records(carrier)[recorded_before:] == []
    blocked = [line for line in refusals_since(pbx, log_before) if "endpoint=2001" in line and "reason=country" in line]
    assert len(blocked) == 150, len(blocked)


# A second carrier's trunk as installers write one: a template (naming the carrier's SBC as its
# outbound proxy: the lab carrier itself, which takes a Route header naming it), in a file of its
# own, and its aor qualified. It reaches the lab's carrier too, which records every call it gets.
SECOND_TRUNK = "/etc/asterisk/voipguard-test-backup-trunk.conf"
SBC_PROXY = "sip:198.51.100.20:5060;lr"
SECOND_TRUNK_TEXT = ("[backup-tpl](!)\ntype = endpoint\ncontext = from-carrier\ndisallow = all\nallow = alaw\n"
                     "allow = ulaw\ndirect_media = no\nfrom_domain = carrier.example\n"
                     "outbound_proxy = %s\n\n" % SBC_PROXY.replace(";", "\\;") +
                     "[backup-sbc](backup-tpl)\naors = backup-aor\n\n"
                     "[backup-aor]\ntype = aor\ncontact = sip:198.51.100.20:5060\nqualify_frequency = 10\n")
# The files a toll_fraud_guard run with another trunk list changes, put back after the test.
GUARD_FILES = ("pjsip.conf", "pjsip_voipguard.conf", "extensions_voipguard.conf")


@pytest.fixture
def second_trunk(lab):
    pbx = lab("pbx")
    pbx.check_output(" && ".join("cp -p /etc/asterisk/%s /root/%s.second-trunk" % (f, f) for f in GUARD_FILES))
    pbx.check_output("printf '%%s' %s > %s && chown asterisk: %s && chmod 0640 %s && "
                     "printf '\\n#include %s\\n' >> /etc/asterisk/pjsip.conf && "
                     "asterisk -rx 'module reload res_pjsip.so'",
                     SECOND_TRUNK_TEXT, SECOND_TRUNK, SECOND_TRUNK, SECOND_TRUNK, SECOND_TRUNK.rsplit("/", 1)[1])
    yield pbx
    pbx.check_output(" && ".join(["cp -p /root/%s.second-trunk /etc/asterisk/%s" % (f, f) for f in GUARD_FILES]
                                 + ["rm -f %s" % SECOND_TRUNK, "asterisk -rx 'module reload res_pjsip.so'",
                                    "asterisk -rx 'dialplan reload'"]))


def test_a_second_trunk_gets_its_own_loop_and_loses_it_once_no_longer_a_trunk(lab, lab_inventory, unique_number,
                                                                              second_trunk):
    """Each trunk of voipguard_trunks is looped in its own file; an operator who takes one out of
    the list again (or mistyped it there) gets its loop taken out too, as the running Asterisk
    shows: left looped, its calls reached an egress without a copy of it (found in the lab). Its
    template's proxy is in force again, from the template: written into the trunk's section, it
    would hide the operator's next change of the template. The endpoint's name has a hyphen, as
    many trunks' do: the egress dropped it once (FILTER()), and refused every call on the trunk."""
    pbx, carrier = second_trunk, lab("carrier")
    carrier_trunk = {"name": "carrier", "endpoint": "carrier", "addresses": ["198.51.100.20"]}
    run = harden(lab_inventory, tags="toll_fraud_guard", extra_vars={"voipguard_trunks": [
        carrier_trunk, dict(carrier_trunk, name="backup", endpoint="backup-sbc")]})
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    assert pbx.check_output("grep -c '^outbound_proxy = sip:backup-sbc@' %s", SECOND_TRUNK) == "1"
    assert "outbound_proxy                     : %s" % SBC_PROXY in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint voipguard-trunk-backup-sbc'")
    assert_the_trunk_leg_judges_calls_onto_the_trunk(pbx, carrier, unique_number, trunk="backup-sbc")
    # The inventory's own list again: carrier alone.
    run = harden(lab_inventory, tags="toll_fraud_guard")
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    shown = pbx.check_output("asterisk -rx 'pjsip show endpoint backup-sbc'")
    assert re.search(r"(?m)^ outbound_proxy +: %s$" % re.escape(SBC_PROXY), shown), shown
    assert re.search(r"(?m)^ aors +: backup-aor$", shown), shown
    assert pbx.check_output("grep -c '^outbound_proxy' %s", SECOND_TRUNK) == "1"  # the template's
    assert "voipguard-trunk-backup" not in pbx.check_output("asterisk -rx 'pjsip show endpoints'")
    assert "voipguard-loop-backup" not in pbx.check_output("cat %s", SECOND_TRUNK)
    assert "sip:carrier@" in pbx.check_output("asterisk -rx 'pjsip show endpoint carrier' | grep outbound_proxy")


# send_connected_line = no: what the boundary instance asks of a wizard's trunk, for a lab run with it.
WIZARD_TRUNK = ("[carrier]\ntype = wizard\nremote_hosts = 198.51.100.20:5060\nendpoint/context = from-carrier\n"
                "endpoint/disallow = all\nendpoint/allow = ulaw,alaw\nendpoint/direct_media = no\n"
                "endpoint/send_connected_line = no\n")


@pytest.fixture
def trunk_from_the_wizard(lab):
    with trunk_as_a_wizard(lab("pbx"), WIZARD_TRUNK) as pbx:
        yield pbx


WIZARD_TEMPLATES = "/etc/asterisk/voipguard-test-wizard.conf"
# An installer's layout: the wizard's template in a file included just before the phone uses it.
WIZARD_TEMPLATE = ("[office-wizard](!)\ntype = wizard\naccepts_registrations = yes\naccepts_auth = yes\n"
                   "endpoint/context = from-internal\nendpoint/allow = !all,ulaw\naor/max_contacts = 1\n")
WIZARD_PHONE = ("\n#include voipguard-test-wizard.conf\n[2101](office-wizard)\nhint_exten = 2101\nhas_hint = yes\n"
                "inbound_auth/username = 2101\ninbound_auth/password = %s\n")


@pytest.fixture
def phone_from_the_wizard(lab):
    pbx = lab("pbx")
    password = secrets.token_hex(16)
    pbx.check_output("cp -p /etc/asterisk/pjsip_wizard.conf /root/pjsip_wizard.conf.saved && "
                     "cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.wizard-test && "
                     "printf '%%s' %s > %s", WIZARD_TEMPLATE, WIZARD_TEMPLATES)
    # The command holds the phone's password: only its exit code may reach an assertion message.
    assert pbx.run("printf '%%s' %s >> /etc/asterisk/pjsip_wizard.conf", WIZARD_PHONE % password).rc == 0
    pbx.check_output("asterisk -rx 'module reload res_pjsip_config_wizard.so'")
    yield pbx, password
    pbx.check_output("cp -p /root/pjsip_wizard.conf.saved /etc/asterisk/pjsip_wizard.conf && "
                     "cp -p /root/pjsip.conf.wizard-test /etc/asterisk/pjsip.conf && rm -f %s && "
                     "asterisk -rx 'module reload res_pjsip.so' && "
                     "asterisk -rx 'module reload res_pjsip_config_wizard.so'", WIZARD_TEMPLATES)


def test_a_phone_and_a_trunk_from_the_wizard_are_guarded_in_their_wizard_sections(
        lab, lab_inventory, tmp_path, unique_number, trunk_from_the_wizard, phone_from_the_wizard):
    """pjsip_wizard.conf makes endpoints no pjsip.conf section defines. Before: a PJSIP reload
    judged by counting pjsip.conf's endpoints rolled the whole run back ("loaded 7 objects, the
    files define 6"); the guard read pjsip.conf only and left the phone in from-internal; the
    audit passed it; and a trunk made by the wizard stopped the run ("the boundary loops trunks
    defined in pjsip.conf only"): a common layout could not be hardened with the defaults. Now
    the reload is judged by name, the audit names the phone until the guard stands in front of
    it, and one run of the guard guards the phone in its wizard section (its BLF hint left in the
    operator's context) and loops the trunk in its own."""
    pbx, password = phone_from_the_wizard
    office, carrier = lab("admin"), lab("carrier")
    assert "context                            : from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2101'")
    shown = pbx.check_output("asterisk -rx 'pjsip show endpoint carrier'")
    assert "from-carrier" in shown and "sip:carrier@" not in shown  # the wizard's trunk, no boundary yet
    assert pbx.run("grep -c '^\\[carrier\\]' /etc/asterisk/pjsip.conf").stdout.strip() == "0"
    # A hand edit asterisk_hardening undoes, so that its PJSIP reload and judgement run.
    pbx.check_output("printf '\\n[1001](+type=endpoint)\\nallow_unauthenticated_options = yes\\n' "
                     ">> /etc/asterisk/pjsip.conf && asterisk -rx 'module reload res_pjsip.so'")
    run = harden(lab_inventory, tags="asterisk_hardening")
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 0, output[-3000:]
    assert "pbx : hardened, 0 changes" not in output  # the PJSIP reload did happen
    assert "allow_unauthenticated_options      : false" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 1001'")
    control = audit_controls(lab_inventory, tmp_path / "unguarded", "phones_pass_the_guard")["VOIP-TF-001"]
    assert control["status"] == "fail"
    assert "endpoint 2101 dials in context from-internal, not through a guard" in json.dumps(control)

    run = harden(lab_inventory, tags="toll_fraud_guard")
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    # The phone: edited in its wizard section (the template keeps the operator's context), and in
    # force.
    assert pbx.check_output("grep -c '^endpoint/context = voipguard-guard-from-internal$' "
                            "/etc/asterisk/pjsip_wizard.conf") == "1"
    assert "voipguard" not in pbx.check_output("cat %s", WIZARD_TEMPLATES)
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 2101'")
    hints = pbx.check_output("asterisk -rx 'core show hints'")
    assert "2101@from-internal" in hints and "2101@voipguard-guard" not in hints, hints
    # The trunk: the loop is written in the wizard, as one of its endpoint options, and in force
    # (the national call reaches the carrier through the copy, which dials the wizard's aor).
    assert pbx.check_output("grep -c '^endpoint/outbound_proxy = sip:carrier@' /etc/asterisk/pjsip_wizard.conf") == "1"
    assert_the_trunk_leg_judges_calls_onto_the_trunk(pbx, carrier, unique_number)
    # The incident's numbers from the wizard's phone never reach the carrier; a national one does.
    national = a_national_number()  # another than the trunk leg's call
    pbx.check_output("asterisk -rx 'database deltree voipguard'")
    recorded = len(carrier_records(carrier))
    for number in ("00263771234567", "+252612345678"):
        office.run("SIP_PASSWORD=%s voipguard-call %s 2101 %s 10 10 300 10", password, PBX_VOICE, number)
    office.run("SIP_PASSWORD=%s voipguard-call %s 2101 %s 1 1 300 1", password, PBX_VOICE, national)
    time.sleep(1)
    assert [r["dst"] for r in carrier_records(carrier)[recorded:]] == [national]
    # A second run changes nothing.
    again = harden(lab_inventory, tags="toll_fraud_guard")
    assert again.returncode == 0 and "pbx : hardened, 0 changes" in " ".join(again.stdout.split()), \
        " ".join((again.stdout + again.stderr).split())[-3000:]
    # The audit passes the phone, and reads the wizard's trunk against its copy: current now,
    # named once it changes.
    controls = audit_controls(lab_inventory, tmp_path / "guarded", "phones_pass_the_guard or trunk_copies_are_current")
    for control in (controls["VOIP-TF-001"], controls["VOIP-TF-007"]):
        assert control["status"] == "pass", json.dumps(control)
    pbx.check_output("sed -i 's/^endpoint\\/direct_media = no$/endpoint\\/direct_media = no\\nendpoint\\/from_user = 4930999/' "
                     "/etc/asterisk/pjsip_wizard.conf && asterisk -rx 'module reload res_pjsip_config_wizard.so'")
    control = audit_controls(lab_inventory, tmp_path / "changed", "trunk_copies_are_current")["VOIP-TF-007"]
    assert control["status"] == "fail" and "trunk carrier changed since its copy" in json.dumps(control), \
        json.dumps(control)
    assert "from_user" in json.dumps(control)


REALTIME_DB = "/var/lib/asterisk/voipguard-test-realtime.sqlite3"
REALTIME_FILES = ("extconfig.conf", "sorcery.conf", "res_config_sqlite3.conf")


def realtime_context(pbx, context):
    # Through Asterisk (res_realtime), as an operator would: it holds the database open.
    assert "Updated 1 RealTime record" in pbx.check_output(
        "asterisk -rx %s", "realtime update ps_endpoints id 2201 context %s" % context)


@pytest.fixture
def phone_from_realtime(lab):
    """Phone 2201 from a database (res_config_sqlite3, which Debian's Asterisk ships), beside
    pjsip.conf's endpoints: sorcery.conf maps endpoints to both, and identifies too (the table
    starts empty). No file the guard reads has them."""
    pbx = lab("pbx")
    files = " ".join(REALTIME_FILES)
    pbx.check_output("cd /etc/asterisk && for f in %s; do cp -p $f /root/$f.realtime-test 2>/dev/null || true; done"
                     % files)
    pbx.check_output("python3 -c %s && chown asterisk: %s", (
        "import sqlite3; db = sqlite3.connect(%r); "
        "db.execute('CREATE TABLE ps_endpoints (id TEXT PRIMARY KEY, aors TEXT, context TEXT, disallow TEXT, allow TEXT)'); "
        "db.execute(\"INSERT INTO ps_endpoints VALUES ('2201', '2201', 'from-internal', 'all', 'ulaw')\"); "
        "db.execute('CREATE TABLE ps_endpoint_id_ips (id TEXT PRIMARY KEY, endpoint TEXT, match TEXT)'); db.commit()"
        % REALTIME_DB), REALTIME_DB)
    pbx.check_output(
        "cd /etc/asterisk && printf '[voipguard_test]\\ndbfile => %s\\n' > res_config_sqlite3.conf && "
        "printf '[settings]\\nps_endpoints => sqlite3,voipguard_test,ps_endpoints\\n"
        "ps_endpoint_id_ips => sqlite3,voipguard_test,ps_endpoint_id_ips\\n' > extconfig.conf && "
        "printf '[res_pjsip]\\nendpoint = config,pjsip.conf,criteria=type=endpoint\\n"
        "endpoint = realtime,ps_endpoints\\n\\n[res_pjsip_endpoint_identifier_ip]\\n"
        "identify = config,pjsip.conf,criteria=type=identify\\nidentify = realtime,ps_endpoint_id_ips\\n' "
        "> sorcery.conf && "
        "chown asterisk: res_config_sqlite3.conf extconfig.conf sorcery.conf && "
        "systemctl restart asterisk && asterisk -rx 'core waitfullybooted'", REALTIME_DB)
    yield pbx
    pbx.check_output("cd /etc/asterisk && rm -f %s %s && for f in %s; do "
                     "if [ -e /root/$f.realtime-test ]; then mv /root/$f.realtime-test $f; fi; done && "
                     "systemctl restart asterisk && asterisk -rx 'core waitfullybooted'"
                     % (files, REALTIME_DB, files))


def test_a_phone_from_realtime_fails_the_run_until_it_dials_through_the_guard(lab_inventory, phone_from_realtime):
    """The guard cannot edit a database row. Once the running Asterisk matches its files, the run
    judges every phone it has from outside pjsip.conf by its running context, as the audit does:
    the run fails naming the phone (keeping the hardening), and passes once the row's context is
    a guard's. A rerun with nothing to do judges them too."""
    pbx = phone_from_realtime
    shown = pbx.check_output("asterisk -rx 'pjsip show endpoint 2201'")
    assert "context                            : from-internal" in shown, shown
    run = harden(lab_inventory, tags="toll_fraud_guard")
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, output[-3000:]
    assert "endpoint 2201 dials in context from-internal, not through a guard" in output, output[-3000:]
    # Named, not a reason to undo the hardening: the guard still stands before the other phones.
    assert "put back" not in output, output[-3000:]
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(
        "asterisk -rx 'pjsip show endpoint 1001'")
    realtime_context(pbx, "voipguard-guard-from-internal")
    run = harden(lab_inventory)
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    # A database row changes no file: a rerun ends early, and still judges the running phones.
    realtime_context(pbx, "from-internal")
    run = harden(lab_inventory)
    output = " ".join((run.stdout + run.stderr).split())
    assert "Nothing to do" in output and run.returncode != 0, output[-3000:]
    assert "endpoint 2201 dials in context from-internal, not through a guard" in output, output[-3000:]


def test_a_realtime_identify_of_the_loops_address_fails_even_a_run_that_ends_early(
        lab_inventory, phone_from_realtime, tmp_path):
    """A database row adds an identify that takes the address the trunk boundary's looped INVITEs
    come from (a local application's, say): some trunk calls would go to that endpoint instead of
    the guard. No file changed, so the next run ends early; its last check reads the running
    identifies (realtime's too) and fails naming it, as the audit's VOIP-TF-007 does. With the
    row's match narrowed, the same run passes."""
    pbx = phone_from_realtime
    realtime_context(pbx, "voipguard-guard-from-internal")
    run = harden(lab_inventory)
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    # Through Asterisk (res_realtime), as an operator's provisioning would.
    pbx.check_output("asterisk -rx %s", "realtime store ps_endpoint_id_ips id vgtest-app endpoint 2201 match 127.0.0.1")
    shown = pbx.check_output("asterisk -rx 'pjsip show identifies'")
    assert "Identify:  vgtest-app/2201" in shown and "Match: 127.0.0.1/32" in shown, shown
    taken = ("identify vgtest-app (endpoint 2201) matches 127.0.0.1/32, where the looped INVITEs come from "
             "(127.0.0.1:5060)")
    run = harden(lab_inventory)
    output = " ".join((run.stdout + run.stderr).split())
    assert "Nothing to do" in output and run.returncode != 0, output[-3000:]
    assert taken in output, output[-3000:]
    control = audit_controls(lab_inventory, tmp_path, "trunk_copies_are_current")["VOIP-TF-007"]
    assert control["status"] == "fail" and taken in control["message"], control
    # The operator narrows the row's match to the application's own address. (Asterisk 22's
    # "realtime destroy" says "Removed 1 RealTime record." and leaves an SQLite row in place.)
    assert "Updated 1 RealTime record" in pbx.check_output(
        "asterisk -rx %s", "realtime update ps_endpoint_id_ips id vgtest-app match 192.0.2.7")
    assert "Match: 192.0.2.7/32" in pbx.check_output("asterisk -rx 'pjsip show identifies'")
    run = harden(lab_inventory)
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]


def test_an_endpoint_exempted_after_a_run_gets_its_own_context_back(lab, lab_inventory, tmp_path):
    """The operator's word is kept on the second run too: a phone guarded by an earlier run and
    exempted since (or a trunk declared only after a run took it for a phone, whose inbound calls
    would otherwise pass the guard) dials in its own context again, its template's; taken back,
    it is guarded.
    The audit passes the exempted phone, named in its evidence, because the trunk boundary still
    judges its calls to the trunk."""
    pbx = lab("pbx")
    shown = "asterisk -rx 'pjsip show endpoint 1003'"
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(shown)
    try:
        run = harden(lab_inventory, tags="toll_fraud_guard", extra_vars={"toll_fraud_guard_exempt_endpoints": ["1003"]})
        assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
        assert "context                            : from-internal" in pbx.check_output(shown)
        # ...from its template (phone-tpl) again: the guard's line went, and none was written in
        # its place to hide the operator's next change of the template.
        section = pbx.check_output("sed -n '/^\\[1003\\](phone-tpl)/,/^\\[/p' /etc/asterisk/pjsip.conf")
        assert "aors = 1003" in section and "context" not in section, section
        assert "context                            : voipguard-guard-from-internal" in pbx.check_output(
            "asterisk -rx 'pjsip show endpoint 1002'")
        control = audit_controls(lab_inventory, tmp_path / "exempt", "phones_pass_the_guard")["VOIP-TF-001"]
        assert control["status"] == "pass", json.dumps(control)
        evidence = dict((e["key"], e["value"]) for e in control["evidence"])
        assert evidence["exempt_endpoints (toll_fraud_guard_exempt_endpoints)"] == "1003", evidence
        assert evidence["trunk boundary checks the exempted phones' calls to the trunk"] is True, evidence
    finally:
        run = harden(lab_inventory, tags="toll_fraud_guard")
    assert run.returncode == 0, " ".join((run.stdout + run.stderr).split())[-3000:]
    assert "context                            : voipguard-guard-from-internal" in pbx.check_output(shown)


LEFT_BEHIND = "/etc/asterisk/voipguard-test-left-behind"


@pytest.fixture
def object_files_of_deleted_endpoints(lab):
    """add(deleted): what a GUI's per-object addition files look like after ``deleted`` endpoints
    were deleted (one #tryinclude per object file, as asterisk_config writes them for FreePBX),
    the last one an addition to phone 1003 that is still there; read by the running Asterisk."""
    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.left-behind")

    def add(deleted):
        names = ["%d" % (9900 + number) for number in range(deleted)] + ["1003"]
        pbx.check_output("rm -rf %s && install -d -o asterisk -g asterisk -m 0750 %s", LEFT_BEHIND, LEFT_BEHIND)
        for name in names:
            pbx.check_output("printf '[%s](+type=endpoint)\\nlanguage = %s\\n' > %s/%s.conf",
                             name, "fr" if name == "1003" else "de", LEFT_BEHIND, name)
        pbx.check_output("printf '#tryinclude voipguard-test-left-behind/%%s.conf\\n' %s > %s/post.conf && "
                         "cp -p /root/pjsip.conf.left-behind /etc/asterisk/pjsip.conf && "
                         "printf '\\n#include voipguard-test-left-behind/post.conf\\n' >> /etc/asterisk/pjsip.conf && "
                         "chown -R asterisk: %s && asterisk -rx 'module reload res_pjsip.so'"
                         % (" ".join(names), LEFT_BEHIND, LEFT_BEHIND))
        return pbx

    yield add
    pbx.check_output("cp -p /root/pjsip.conf.left-behind /etc/asterisk/pjsip.conf && rm -rf %s && "
                     "asterisk -rx 'module reload res_pjsip.so'", LEFT_BEHIND)


@pytest.mark.parametrize("deleted", [8, 9])
def test_the_audit_reads_object_files_past_deleted_endpoints_as_asterisk_does(object_files_of_deleted_endpoints, deleted):
    """Asterisk stops reading a file at an addition to an endpoint nobody defines, and config.c
    never gives back the include level that file took: after 9 such files every later #tryinclude
    is skipped without a word. The audit's reading (asterisk_conf.load_as_asterisk_reads) and the
    running Asterisk must agree on both sides of that line."""
    from audit.hostctx import HostContext

    pbx = object_files_of_deleted_endpoints(deleted)
    running = pbx.check_output("asterisk -rx 'pjsip show endpoint 1003' | grep -E '^ *language '")
    read = HostContext(pbx, "pbx")
    assert len(read.orphan_additions("pjsip.conf")) == deleted
    audited = read.resolve("pjsip.conf", "1003", "endpoint").get("language", [""])[-1]
    assert running.split(":", 1)[1].strip() == audited == ("fr" if deleted < 9 else ""), (running, audited)


ODD_READINGS = "/etc/asterisk/voipguard-test-odd-readings.conf"
# What config.c reads differently from a plain reading, and the language Asterisk ends up with:
# a line of 8191 bytes before its newline is too long and skipped, one of 8190 is read (blanks
# at the end stripped); inheritance copies the template as it is at the child's header; "+="
# keeps the blanks after its '='.
ODD_CONFIG = (
    "[vgtest-long]\ntype = endpoint\nlanguage = de\nlanguage = fr" + " " * 8178 + "\n\n"
    "[vgtest-short]\ntype = endpoint\nlanguage = de\nlanguage = fr" + " " * 8177 + "\n\n"
    "[vgtest-tpl](!)\ntype = endpoint\nlanguage = de\n\n[vgtest-early](vgtest-tpl)\n\n"
    "[vgtest-tpl](+TEMPLATES=include)\nlanguage = fr\n\n[vgtest-late](vgtest-tpl)\n\n"
    "[vgtest-append]\ntype = endpoint\nlanguage = d\nlanguage += e\n")
ODD_LANGUAGES = {"vgtest-long": "de", "vgtest-short": "fr", "vgtest-early": "de", "vgtest-late": "fr",
                 "vgtest-append": "d e"}


def test_the_audit_reads_what_config_c_reads_oddly_as_asterisk_does(lab):
    """Lines too long for config.c's read buffer, a template's later addition, "+=": the audit's
    reading (asterisk_conf) and the running Asterisk 22 must agree, endpoint by endpoint."""
    from audit.hostctx import HostContext

    pbx = lab("pbx")
    pbx.check_output("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.odd")
    try:
        pbx.check_output("echo %s | base64 -d > %s && chown asterisk: %s && "
                         "printf '\\n#include voipguard-test-odd-readings.conf\\n' >> /etc/asterisk/pjsip.conf && "
                         "asterisk -rx 'module reload res_pjsip.so'",
                         base64.b64encode(ODD_CONFIG.encode()).decode(), ODD_READINGS, ODD_READINGS)
        read = HostContext(pbx, "pbx")
        for endpoint, language in sorted(ODD_LANGUAGES.items()):
            shown = pbx.check_output("asterisk -rx 'pjsip show endpoint %s' | grep -E '^ *language '", endpoint)
            running = shown.split(":", 1)[1].strip()
            audited = read.resolve("pjsip.conf", endpoint, "endpoint").get("language", [""])[-1]
            assert (running, audited) == (language, language), endpoint
    finally:
        pbx.check_output("cp -p /root/pjsip.conf.odd /etc/asterisk/pjsip.conf && rm -f %s && "
                         "asterisk -rx 'module reload res_pjsip.so'", ODD_READINGS)
