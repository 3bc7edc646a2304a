"""Fixtures for tests that run against the lab (lab/lab.sh up).

Every lab host is reached as production is: OpenSSH through the lab's inventory, with the lab's
own ssh config and known_hosts (testinfra maps ansible_connection=ssh to its ssh backend). Molecule passes its
own copy of the inventory with --ansible-inventory; run alone, the lab inventory is used.
"""
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import testinfra
from ansible.module_utils.parsing.convert_bool import boolean

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventories" / "lab" / "hosts.yml"
# The lab inventory reads the same variable (group_vars/pbx.yml): the trunk boundary instance on.
LAB_BOUNDARY_INSTANCE = boolean(os.environ.get("VOIPGUARD_LAB_BOUNDARY_INSTANCE", "0"), strict=False)
# Addresses of the lab (lab/lab.sh): where each host is seen by the others.
PBX_INTERNET = "198.19.0.10"
PBX_VOICE = "198.51.100.10"
PBX_MGMT = "198.18.0.10"
# The admin host is also the phones' side: its address on the voice network (phones' networks).
PHONE = "198.51.100.30"
ATTACKER = "198.19.0.66"
# The attacker's second address, in a country the lab's firewall blocks (lab/factory/pbx/geo).
ATTACKER_BLOCKED_COUNTRY = "198.19.0.200"


@pytest.fixture(scope="session")
def lab_inventory(pytestconfig):
    """The inventory the tests run against: Molecule's copy, or the lab's own."""
    return pytestconfig.getoption("ansible_inventory", None) or str(LAB_INVENTORY)


@pytest.fixture(scope="session")
def lab(lab_inventory):
    """lab("pbx") -> a testinfra host of that lab machine."""
    inventory = lab_inventory
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)
        return cache[name]

    return get


def ansible_env(**extra):
    """The environment an Ansible command of the tests runs in: the product's own ansible.cfg, as
    an operator's run reads it (OpenSSH with pipelining, host keys checked). Molecule's verify
    step points ANSIBLE_CONFIG at the file Molecule generates, which has neither: runs in CI
    were 15% slower than the operator's (BENCHMARKS.md), and checked no host key."""
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **extra)


def harden(inventory=str(LAB_INVENTORY), tags=None, extra_vars=None, runner=False, check=False):
    """Runs playbooks/harden.yml (optionally only some tags, with extra variables); returns the
    finished process, so a caller can expect success or failure; check=True adds --check. runner=True runs it through
    ansible-runner's Python API, the library AWX and ansible-navigator drive Ansible with."""
    started = time.monotonic()
    result = (harden_with_ansible_runner(inventory, tags, extra_vars) if runner
              else harden_with_ansible_playbook(inventory, tags, extra_vars, check))
    record_run_time(time.monotonic() - started, inventory, tags, extra_vars, check, result)
    return result


def record_run_time(seconds, inventory, tags, extra_vars, check, result):
    """One line per playbook run in $VOIPGUARD_LAB_RUN_LOG (JSON), when set: where the lab suite's
    time goes (scripts/lab-run-times.py sums it; ./voipguard test prints the sums)."""
    path = os.environ.get("VOIPGUARD_LAB_RUN_LOG")
    if not path:
        return
    output = result.stdout or ""
    # The run takes the host (a snapshot) after every variable is checked, before the first role.
    kind = ("check" if check else "tagged" if tags else "ended early" if "Nothing to do:" in output
            else "whole" if "TASK [Take the host for this run" in output else "stopped before the roles")
    with open(path, "a") as log:
        log.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0],
                              "seconds": round(seconds, 1), "kind": kind, "tags": tags, "rc": result.returncode,
                              "inventory": Path(inventory).parent.name,
                              "variables": sorted(extra_vars or {})}) + "\n")


def harden_with_ansible_playbook(inventory, tags, extra_vars, check):
    command = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", inventory, str(ROOT / "playbooks/harden.yml")]
    if tags:
        command += ["--tags", tags]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    # Plain text to read: Molecule's environment forces colours, which split lines like the recap.
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env=ansible_env(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))


def harden_with_ansible_runner(inventory, tags=None, extra_vars=None):
    import os
    import tempfile
    import types

    import ansible_runner

    with tempfile.TemporaryDirectory(prefix="voipguard-runner-") as private:
        kwargs = {"tags": tags} if tags else {}
        result = ansible_runner.run(
            private_data_dir=private, playbook=str(ROOT / "playbooks/harden.yml"), inventory=inventory,
            extravars=extra_vars or {}, quiet=True, timeout=300,
            envvars={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                     "PATH": "%s:%s" % (ROOT / ".venv/bin", os.environ.get("PATH", "/usr/bin:/bin"))},
            **kwargs)
        return types.SimpleNamespace(returncode=result.rc, status=result.status,
                                     stdout=result.stdout.read(), stderr="")


MESSAGES_LOG = "/var/log/asterisk/messages.log"
SECURITY_LOG = "/var/log/asterisk/security.log"
FAIL2BAN_LOG = "/var/log/fail2ban.log"


def ansible_module(inventory, home, *extra):
    """The module pbx_distribution_info on the PBX; home: another HOME (paramiko's known_hosts)."""
    env = ansible_env(ANSIBLE_NOCOLOR="1")
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run([str(ROOT / ".venv/bin/ansible"), "pbx", "-i", inventory, "-m", "pbx_distribution_info",
                           "-a", "config_dir=/etc/asterisk"] + list(extra),
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def audit_controls(inventory, out, selection):
    """{control id: control} of one audit of the inventory's PBX hosts (the first host's report),
    the controls chosen by a pytest -k expression."""
    subprocess.run([sys.executable, "-m", "audit", "run", "--inventory", str(inventory), "--hosts", "pbx",
                    "--out", str(out), "-k", selection],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads((Path(out) / "report.json").read_text())
    return dict((c["id"], c) for c in report["hosts"][0]["controls"])


def log_length(host, path):
    """Lines the log has now: where a test starts reading what it provokes."""
    return int(host.check_output("wc -l < %s", path))


def log_lines_since(host, path, since_line):
    """The log's lines after its first since_line lines."""
    return host.check_output("tail -n +%s %s", str(since_line + 1), path).splitlines()


def security_events(pbx, since_line, address, event):
    """EventTV (epoch seconds, ms precision) of each security.log event of one kind from address,
    e.g. ChallengeResponseFailed: one guess Asterisk checked."""
    times = []
    for line in log_lines_since(pbx, SECURITY_LOG, since_line):
        if f'SecurityEvent="{event}"' in line and f"/{address}/" in line:
            stamp = line.split('EventTV="', 1)[1].split('"', 1)[0]
            times.append(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())
    return times


def lift_bans(pbx):
    """Lifts every ban on the PBX: fail2ban's (all jails) and the firewall's SIP flood bans."""
    pbx.run("if command -v fail2ban-client >/dev/null; then fail2ban-client unban --all; fi; "
            "for family in v4 v6; do nft flush set inet voipguard sip_flooders_$family 2>/dev/null; done; true")


def wait_for(condition, seconds, interval=0.25):
    """Calls condition() until it returns a true value, for up to `seconds`; returns its last
    value. A test waits for the evidence it needs (a verdict logged, a record written) rather than
    a fixed time, and judges what it asserts after the wait either way."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def active_channels(host):
    """How many channels the main Asterisk has now."""
    counted = host.check_output("asterisk -rx 'core show channels count'")
    return int(re.search(r"^(\d+) active channels?", counted, re.M).group(1))


def reset_guard_state(pbx, settle_seconds=10):
    """Forgets the toll-fraud guard's counters, reservations and spend (AstDB family voipguard).
    First waits (a while, not forever) for the calls of earlier tests to be gone: a call still
    hanging up settles its reservation in its hangup handler, and settled into the fresh state it
    would leave a phone more budget than the test gave it (a time-limit row once saw 37 s, not 33)."""
    wait_for(lambda: active_channels(pbx) == 0, settle_seconds, interval=0.2)
    pbx.check_output("asterisk -rx 'database deltree voipguard'")


@pytest.fixture(autouse=True)
def no_leftover_bans(lab):
    """Each test starts with no ban on the PBX: a ban an earlier test provoked (a wrong password
    from the phones' network, the attacker's guessing) must not decide another test."""
    lift_bans(lab("pbx"))


def a_national_number():
    """A German national number no other test dials, so carrier records can be told apart, in the
    form a phone dials it (030: Berlin). A bare 4930... is a form no dialing rule reads, and the
    guard refuses it (unknown-form)."""
    return "030" + str(uuid.uuid4().int)[:7]


@pytest.fixture()
def unique_number():
    """A national number no other test dials (a_national_number)."""
    return a_national_number()


# Python run on a lab host: one SIP request over UDP as text. Via names the socket's port; the
# PBX answers the packet's source address (received=), so the host name in Via is arbitrary.
SIP_REQUEST = """
import uuid
def sip_request(method, target, user, port, call_id, extra=""):
    tag = uuid.uuid4().hex[:12]
    return ((method + " sip:" + target + " SIP/2.0\\r\\n"
             "Via: SIP/2.0/UDP lab:" + str(port) + ";branch=z9hG4bK" + tag + "\\r\\n"
             "Max-Forwards: 70\\r\\nFrom: <sip:" + user + "@" + target + ">;tag=" + tag + "\\r\\n"
             "To: <sip:" + user + "@" + target + ">\\r\\nCall-ID: " + call_id + "\\r\\n"
             "CSeq: 1 " + method + "\\r\\n" + extra + "Content-Length: 0\\r\\n\\r\\n").encode())
"""


def sip_register_probe(target, source_port=5070, source_address="0.0.0.0"):
    """Shell command that sends one SIP REGISTER over UDP and prints the status line received.

    Python's socket is used instead of a SIP tool so the test sees the exact first response.
    """
    script = SIP_REQUEST + f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.bind(("{source_address}", {source_port}))
contact = "Contact: <sip:1001@lab:{source_port}>\\r\\nExpires: 60\\r\\n"
s.sendto(sip_request("REGISTER", "{target}", "1001", {source_port}, uuid.uuid4().hex + "@probe", contact),
         ("{target}", 5060))
try:
    print(s.recv(4096).decode(errors="replace").splitlines()[0])
except socket.timeout:
    print("NO ANSWER")
"""
    return f"python3 -c {shlex.quote(script)}"


def sip_invite_probe(target, number, source_address="0.0.0.0", source_port=5072):
    """Shell command that sends one unauthenticated INVITE (no credentials, no SDP) for number and
    prints the first final status line received (a challenge, a refusal), or NO ANSWER. Bounded:
    one request, 4 s of listening."""
    script = SIP_REQUEST + f"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.bind(("{source_address}", {source_port}))
contact = "Contact: <sip:anonymous@lab:{source_port}>\\r\\n"
request = sip_request("INVITE", "{target}", "anonymous", {source_port}, uuid.uuid4().hex + "@probe", contact)
s.sendto(request.replace(b"INVITE sip:", b"INVITE sip:{number}@", 1), ("{target}", 5060))
deadline, answer = time.monotonic() + 4, "NO ANSWER"
while time.monotonic() < deadline:
    try:
        status = s.recv(4096).decode(errors="replace").splitlines()[0]
    except socket.timeout:
        continue
    answer = status
    if not status.startswith("SIP/2.0 1"):
        break
print(answer)
"""
    return f"python3 -c {shlex.quote(script)}"


def sip_options_burst(target, count, per_second, user, source_address="0.0.0.0", source_port=5071):
    """Shell command that sends count SIP OPTIONS from user over UDP at per_second from one
    socket and prints how many were answered (any status, by Call-ID). A known user is
    challenged, which is no failure to fail2ban; an unknown one would get the source banned.
    Bounded: count requests, then 3 s of listening."""
    script = SIP_REQUEST + f"""
import select, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{source_address}", {source_port}))
sent, answered = set(), set()

def read_answers(seconds):
    # Read while sending: a full receive buffer would drop answers the PBX did send.
    deadline = time.monotonic() + seconds
    while select.select([s], [], [], max(0.0, deadline - time.monotonic()))[0]:
        for line in s.recv(4096).decode(errors="replace").splitlines():
            if line.lower().startswith("call-id:"):
                answered.add(line.split(":", 1)[1].strip())

for n in range({count}):
    call_id = uuid.uuid4().hex + "@burst"
    s.sendto(sip_request("OPTIONS", "{target}", "{user}", {source_port}, call_id), ("{target}", 5060))
    sent.add(call_id)
    read_answers(1 / {per_second})
read_answers(3)
print(len(answered & sent))
"""
    return f"python3 -c {shlex.quote(script)}"


# --- calls through the lab -------------------------------------------------------------------

CREDENTIALS_FILE = ROOT / ".secrets" / "pbx-sip-credentials.yml"
LAB_PBX_VARS = ROOT / "inventories" / "lab" / "group_vars" / "pbx.yml"


def stored_credentials():
    """The credentials the secrets role rotated, as kept on the controller (account -> dict)."""
    import yaml

    if not CREDENTIALS_FILE.exists():
        return {}
    stored = yaml.safe_load(CREDENTIALS_FILE.read_text()) or {}
    return stored.get("credentials", stored)


def sip_password(endpoint):
    """The endpoint's current secret as the operator's controller knows it: the rotated one once
    the secrets role has rotated it, the factory one (the extension number) before."""
    entry = stored_credentials().get(endpoint)
    return entry["password"] if entry else endpoint


def place_calls(host, user, number, calls, target=PBX_VOICE, rate=10, hold_ms=1000, parallel=20):
    """Calls through the PBX with SIPp (lab/tools/voipguard-call); returns SIPp's counters.

    The password travels in the environment of the remote command; the command itself is never
    part of an assertion message, so no secret reaches the test output.
    """
    result = host.run(
        "SIP_PASSWORD=%s voipguard-call %s %s %s %s %s %s %s",
        *(str(arg) for arg in (sip_password(user), target, user, number, calls, rate, hold_ms, parallel)))
    summary = result.stdout.strip()
    counters = dict(part.split("=") for part in summary.split())
    return {key: float(value) if "." in value else int(value) for key, value in counters.items()}


ALERTS_RECEIVED = "/var/log/voipguard-alerts.jsonl"


def received_alerts(admin):
    """Every alert lab/tools/voipguard-alert-receiver has taken on the admin host, oldest first."""
    text = admin.run("cat %s 2>/dev/null", ALERTS_RECEIVED).stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_for_alert(admin, since, text, seconds=20):
    """The alerts after the first `since` whose message holds `text`, once one has come (or [])."""
    started, alerts = time.monotonic(), []
    while time.monotonic() - started < seconds and not alerts:
        time.sleep(1)
        alerts = [entry for entry in received_alerts(admin)[since:] if text in entry["body"]["message"]]
    return alerts


def carrier_records(carrier):
    """Every call the carrier recorded: dicts with dst, billsec, disposition (cdr_csv columns)."""
    import csv
    import io

    columns = ["accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
               "lastdata", "start", "answer", "end", "duration", "billsec", "disposition",
               "amaflags", "uniqueid"]
    text = carrier.run("cat /var/log/asterisk/cdr-csv/Master.csv 2>/dev/null").stdout
    return [dict(zip(columns, row)) for row in csv.reader(io.StringIO(text))]


def rate_table():
    """The lab's price list (the operator's rate table), EUR per minute by prefix."""
    import yaml

    variables = yaml.safe_load(LAB_PBX_VARS.read_text())
    rates = {str(r["prefix"]): float(r["price_per_minute"]) for r in variables["toll_fraud_guard_rates"]}
    return rates, float(variables.get("toll_fraud_guard_default_price_per_minute", 0.20))


def cost_in_euros(records):
    """What the carrier would bill: billsec at the price of the longest matching prefix."""
    rates, default = rate_table()
    total = 0.0
    for record in records:
        digits = record["dst"].lstrip("+")
        if digits.startswith("00"):
            digits = digits[2:]
        elif digits.startswith("0"):
            digits = "49" + digits[1:]
        prefix = max((p for p in rates if digits.startswith(p)), key=len, default=None)
        price = rates[prefix] if prefix else default
        total += int(record["billsec"] or 0) * price / 60
    return total


def ami_session(host, address, username, secret, action):
    """Logs in to the AMI from `host`, runs one action; returns the responses seen.

    The secret goes to the remote Python on stdin, never on a command line."""
    script = f"""
import socket, sys
secret = sys.stdin.readline().strip()
s = socket.create_connection(("{address}", 5038), timeout=5)
f = s.makefile("rwb")
f.readline()
def send(lines):
    f.write(("".join(l + "\\r\\n" for l in lines) + "\\r\\n").encode()); f.flush()
    block = []
    while True:
        line = f.readline().decode().strip()
        if line:
            block.append(line)
        elif block and block[0].startswith("Response:"):
            return block
        else:  # an event (FullyBooted...) between the action and its response
            block = []
print(send(["Action: Login", "Username: {username}", "Secret: " + secret])[0])
print(send({action!r})[:2])
"""
    command = f"python3 -c {shlex.quote(script)}"
    result = host.run("printf '%s\\n' " + shlex.quote(secret) + " | " + command)
    return result.stdout


# The lab's trunk as the config wizard makes it (pjsip_wizard.conf, as the Asterisk docs and many
# installers write trunks): its [carrier] sections cut out of pjsip.conf (the line that includes
# voipguard's own file stays), the same trunk written as a wizard. With the boundary instance on,
# voipguard's own file adds to the pjsip.conf trunk ([carrier](+type=endpoint)), an addition that
# goes to the placeholder before it once the trunk is gone: taken out too, as if the wizard's
# trunk had been there when the run wrote the file. Runs on the PBX.
_TRUNK_OUT_OF_PJSIP = r"""
import re, sys
conf, own = sys.argv[1], sys.argv[2]
parts = re.split(r"(?m)^(?=\[)", open(conf).read())
trunk = [p for p in parts if p.startswith("[carrier]")]
assert len(trunk) == 3 and "#include pjsip_voipguard.conf" in trunk[-1], trunk
kept = "".join(p for p in parts if not p.startswith("[carrier]"))
open(conf, "w").write(kept + "\n#include pjsip_voipguard.conf\n")
open(own, "w").write(re.sub(r"(?m)^\[carrier\]\(\+type=endpoint\)\n(?:[^\[\n].*\n)*", "", open(own).read()))
"""
_SAVED_FOR_THE_WIZARD_TRUNK = ("pjsip.conf", "pjsip_voipguard.conf", "pjsip_wizard.conf")


@contextlib.contextmanager
def trunk_as_a_wizard(pbx, wizard, secret_option=None):
    """The lab's hardened trunk moved into pjsip_wizard.conf as ``wizard`` (its sections' text), for
    the block; the files and the running PJSIP are put back after it. secret_option: an option
    (e.g. outbound_auth/password) appended with a random secret made on the PBX, never shown."""
    pbx.check_output(" && ".join("cp -p /etc/asterisk/%s /root/%s.wizard-trunk" % (name, name)
                                 for name in _SAVED_FOR_THE_WIZARD_TRUNK))
    try:
        pbx.check_output("python3 -c %s /etc/asterisk/pjsip.conf /etc/asterisk/pjsip_voipguard.conf && printf '\\n%%s' %s >> /etc/asterisk/pjsip_wizard.conf",
                         _TRUNK_OUT_OF_PJSIP, wizard)
        if secret_option:
            pbx.check_output("echo \"%s = $(python3 -c 'import secrets; print(secrets.token_hex(12))')\" "
                             ">> /etc/asterisk/pjsip_wizard.conf" % secret_option)
        pbx.check_output("asterisk -rx 'module reload res_pjsip.so' && "
                         "asterisk -rx 'module reload res_pjsip_config_wizard.so'")
        yield pbx
    finally:
        pbx.check_output(" && ".join("cp -p /root/%s.wizard-trunk /etc/asterisk/%s" % (name, name)
                                     for name in _SAVED_FOR_THE_WIZARD_TRUNK) +
                         " && asterisk -rx 'module reload res_pjsip.so' && "
                         "asterisk -rx 'module reload res_pjsip_config_wizard.so'")
