"""The lab's fleet (lab/lab.sh up --pbx N): each PBX's factory varies the lab PBX's as real
fleets vary, and every variant is a configuration Asterisk loads and the guard can read."""
import ipaddress
import re
import subprocess
from pathlib import Path

import pytest

from ansible.module_utils.asterisk_conf import iter_sections, load
from ansible.module_utils.dialplan_audit import infer_outside_line, trunk_routes

ROOT = Path(__file__).resolve().parents[2]


def fleet_factory(index, tmp_path):
    out = tmp_path / ("pbx-%02d" % index)
    subprocess.run(["sh", str(ROOT / "lab/factory/fleet.sh"), str(index), str(out)], check=True)
    return out / "asterisk"


@pytest.mark.parametrize("index", [2, 3, 6, 7, 20])
def test_every_fleet_pbx_loads_with_its_own_extensions_and_trunks(index, tmp_path):
    conf = fleet_factory(index, tmp_path)
    pjsip = load(str(conf / "pjsip.conf"))
    endpoints = sorted(s.name for s in iter_sections(pjsip, type="endpoint"))
    base = 5000 + index * 10
    trunks = ["backup", "carrier"] if index % 2 == 0 else ["carrier"]
    assert endpoints == sorted([str(base + k) for k in (1, 2, 3)] + ["anonymous"] + trunks)
    # Every third keeps its phones in an included file.
    assert (conf / "pjsip_phones.conf").exists() == (index % 3 == 0)
    dialplan = load(str(conf / "extensions.conf"))
    routes = trunk_routes(dialplan, ["from-internal"], trunks)
    assert {route["context"] for route in routes} == {"from-internal"}
    assert infer_outside_line(routes, ["from-internal"]) == ("", None)


def test_bad_indexes_are_refused(tmp_path):
    for index in ("1", "21"):
        result = subprocess.run(["sh", str(ROOT / "lab/factory/fleet.sh"), index, str(tmp_path / "x")],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 2 and "INDEX must be 2..20" in result.stderr


def test_the_carrier_takes_calls_from_every_fleet_address():
    script = (ROOT / "lab/lab.sh").read_text()
    template = re.search(r"printf 'pbx-%02d:mgmt=198.18.0.%d,voice=198.51.100.%d", script)
    assert template, "lab.sh no longer places the fleet on the voice network's .1NN addresses"
    carrier = (ROOT / "lab/factory/carrier/asterisk/pjsip.conf").read_text()
    fleet = re.search(r"\[fleet\]\ntype = identify\nendpoint = fleet\nmatch = (\S+)", carrier).group(1)
    network = ipaddress.ip_network(fleet)
    assert all(ipaddress.ip_address("198.51.100.%d" % (100 + i)) in network for i in range(2, 21))
