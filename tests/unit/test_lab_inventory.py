"""The lab's committed inventories must name the addresses lab/lab.sh gives its hosts."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def lab_ssh_addresses():
    """host -> first address in lab.sh's BASE_HOSTS table (where the controller reaches it)."""
    script = (ROOT / "lab" / "lab.sh").read_text()
    table = re.search(r'^BASE_HOSTS="(.*?)"', script, re.S | re.M).group(1)
    return {line.split(":")[0]: line.split(":")[1].split(",")[0].split("=")[1]
            for line in table.splitlines()}


def inventory_hosts(name):
    inventory = yaml.safe_load((ROOT / "inventories" / name / "hosts.yml").read_text())
    hosts = {}
    for group in inventory["all"]["children"].values():
        for host, variables in group["hosts"].items():
            if variables:  # a group may list a host defined elsewhere
                hosts[host] = variables["ansible_host"]
    return hosts


def test_inventory_addresses_match_the_lab():
    # The FreePBX-layout host has its own inventory (its PBX group), with the same peers.
    lab = inventory_hosts("lab")
    freepbx = inventory_hosts("lab-freepbx")
    assert dict(lab, **freepbx) == lab_ssh_addresses()
    assert set(lab) - {"pbx"} == set(freepbx) - {"freepbx"}


def test_lab_networks_avoid_this_machines_uplink_and_mirrors():
    script = (ROOT / "lab" / "lab.sh").read_text()
    subnets = re.findall(r"=(\d+\.\d+\.\d+\.\d+/\d+)", re.search(r'^NETWORKS="(.*?)"', script, re.M).group(1))
    assert subnets, "no lab networks found"
    # 192.0.2.0/24 is the machines' uplink and 203.0.113.0/24 holds the package mirrors.
    assert not {"192.0.2.0/24", "203.0.113.0/24"} & set(subnets)
