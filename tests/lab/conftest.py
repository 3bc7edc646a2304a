"""Fixtures for tests that run against the lab (lab/lab.sh up).

Every lab host is reached as production is: SSH with paramiko through the lab's inventory
(testinfra maps ansible_connection=paramiko_ssh to its paramiko backend). Molecule passes its
own copy of the inventory with --ansible-inventory; run alone, the lab inventory is used.
"""
import shlex
import uuid
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventories" / "lab" / "hosts.yml"
# Addresses of the lab (lab/lab.sh): where each host is seen by the others.
PBX_INTERNET = "198.19.0.10"
PBX_VOICE = "198.51.100.10"


@pytest.fixture(scope="session")
def lab(pytestconfig):
    """lab("pbx") -> a testinfra host of that lab machine."""
    inventory = pytestconfig.getoption("ansible_inventory", None) or str(LAB_INVENTORY)
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)
        return cache[name]

    return get


@pytest.fixture()
def unique_number():
    """A German national number no other test dials, so carrier records can be told apart."""
    return "4930" + str(uuid.uuid4().int)[:7]


def sip_register_probe(target, source_port=5070):
    """Shell command that sends one SIP REGISTER over UDP and prints the status line received.

    Python's socket is used instead of a SIP tool so the test sees the exact first response.
    """
    script = f"""
import socket, uuid
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.bind(("0.0.0.0", {source_port}))
me = s.getsockname()
tag = uuid.uuid4().hex[:8]
msg = ("REGISTER sip:{target} SIP/2.0\\r\\n"
       "Via: SIP/2.0/UDP probe:{source_port};branch=z9hG4bK" + tag + "\\r\\n"
       "Max-Forwards: 70\\r\\nFrom: <sip:1001@{target}>;tag=" + tag + "\\r\\n"
       "To: <sip:1001@{target}>\\r\\nCall-ID: " + tag + "@probe\\r\\nCSeq: 1 REGISTER\\r\\n"
       "Contact: <sip:1001@probe:{source_port}>\\r\\nExpires: 60\\r\\nContent-Length: 0\\r\\n\\r\\n")
s.sendto(msg.encode(), ("{target}", 5060))
try:
    print(s.recv(4096).decode(errors="replace").splitlines()[0])
except socket.timeout:
    print("NO ANSWER")
"""
    return f"python3 -c {shlex.quote(script)}"
