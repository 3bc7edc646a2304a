"""A rerun with nothing to do: a host counts as converged only when the run's inputs and every
observation equal the last verified run's, and the record is young enough. Whatever a role
manages that changed - a file's content or mode, a unit's state, the firewall table - sends the
run through every role again; what changes by itself (bans, meters, counters, log content)
does not."""
import json
import os
import sys
from pathlib import Path

import pytest

from ansible.module_utils.voipguard_converged import (compare, make_record, observe, read_record,
                                                      stable_nft_table)
from tests.module_runner import run_module

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "library"))
sys.path.insert(0, str(ROOT / "lookup_plugins"))
import voipguard_converged  # noqa: E402  (the module)
import voipguard_converged_inputs  # noqa: E402  (the lookup)

NFT_TABLE = {"nftables": [
    {"metainfo": {"version": "1.1.3", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "voipguard", "handle": 4}},
    {"set": {"family": "inet", "name": "sip_flooders_v4", "table": "voipguard", "type": "ipv4_addr",
             "handle": 7, "flags": ["dynamic", "timeout"], "timeout": 60, "elem": []}},
    {"set": {"family": "inet", "name": "voipguard_countries_v4", "table": "voipguard", "type": "ipv4_addr",
             "handle": 8, "flags": ["interval"], "elem": [{"prefix": {"addr": "41.57.0.0", "len": 16}}]}},
    {"rule": {"family": "inet", "table": "voipguard", "chain": "input", "handle": 12,
              "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}},
                       {"accept": None}]}},
]}


def host(tmp_path):
    etc = tmp_path / "etc" / "asterisk"
    etc.mkdir(parents=True)
    (etc / "pjsip.conf").write_text("[1001]\ntype = endpoint\n")
    (etc / "manager.conf").write_text("[general]\nenabled = no\n")
    (tmp_path / "security.log").write_text("")
    return etc


class Host:
    """Command outputs as a stand-in host gives them (the lab test runs the real ones)."""

    def __init__(self):
        self.outputs = {"systemctl is-active fail2ban.service": (0, "active\n"),
                        "nft -j -s list table inet voipguard": (0, json.dumps(NFT_TABLE))}

    def run(self, argv):
        return self.outputs[" ".join(argv)]


def observation(etc, tmp_path, fake):
    return observe([str(etc)], [str(tmp_path / "security.log")], [["systemctl", "is-active", "fail2ban.service"]],
                   ["inet voipguard"], fake.run)


def test_the_same_host_with_the_same_inputs_is_converged(tmp_path):
    etc, fake = host(tmp_path), Host()
    record = make_record("toolkit:a variables:b", observation(etc, tmp_path, fake), now=1000)
    assert compare(record, "toolkit:a variables:b", observation(etc, tmp_path, fake), 1060, 86400) == \
        (True, "nothing changed since the verified run 60 s ago")


@pytest.mark.parametrize("drift, named", [
    (lambda etc, tmp, fake: (etc / "pjsip.conf").write_text("[1001]\ntype = endpoint\nallow = all\n"),
     "pjsip.conf"),
    (lambda etc, tmp, fake: os.chmod(etc / "manager.conf", 0o666), "manager.conf"),
    (lambda etc, tmp, fake: (etc / "pjsip_custom.conf").write_text("[anonymous]\n"), "pjsip_custom.conf"),
    (lambda etc, tmp, fake: (etc / "manager.conf").unlink(), "manager.conf"),
    (lambda etc, tmp, fake: (tmp / "security.log").unlink(), "present:"),
    (lambda etc, tmp, fake: fake.outputs.update({"systemctl is-active fail2ban.service": (3, "inactive\n")}),
     "command:systemctl is-active fail2ban.service"),
    (lambda etc, tmp, fake: fake.outputs.update({"nft -j -s list table inet voipguard": (1, "")}),
     "nft:inet voipguard"),
], ids=["edited", "mode", "added", "removed", "log gone", "unit stopped", "table gone"])
def test_what_a_role_manages_that_changed_sends_the_run_through_every_role(tmp_path, drift, named):
    etc, fake = host(tmp_path), Host()
    record = make_record("toolkit:a variables:b", observation(etc, tmp_path, fake), now=1000)
    drift(etc, tmp_path, fake)
    converged, reason = compare(record, "toolkit:a variables:b", observation(etc, tmp_path, fake), 1060, 86400)
    assert not converged
    assert reason.startswith("changed since the last verified run: ") and named in reason


def test_bans_meters_handles_and_log_content_change_by_themselves_and_do_not_count(tmp_path):
    etc, fake = host(tmp_path), Host()
    record = make_record("x", observation(etc, tmp_path, fake), now=1000)
    banned = json.loads(json.dumps(NFT_TABLE))
    banned["nftables"][1]["table"]["handle"] = 9  # the table was reloaded
    banned["nftables"][2]["set"]["elem"] = [{"elem": {"val": "198.19.0.66", "timeout": 60, "expires": 31}}]
    fake.outputs["nft -j -s list table inet voipguard"] = (0, json.dumps(banned))
    (tmp_path / "security.log").write_text("SecurityEvent=\"InvalidPassword\"\n")
    assert compare(record, "x", observation(etc, tmp_path, fake), 1001, 86400)[0]


def test_a_country_set_loaded_from_a_file_does_count():
    flushed = json.loads(json.dumps(NFT_TABLE))
    flushed["nftables"][3]["set"]["elem"] = []
    assert stable_nft_table(flushed) != stable_nft_table(NFT_TABLE)


@pytest.mark.parametrize("record, inputs, now, expected", [
    (None, "x", 1000, "no verified run is recorded on this host"),
    ({"version": 0}, "x", 1000, "the record was written by another voipguard version"),
    ("fresh", "y", 1000, "the toolkit or the role variables changed since the last verified run"),
    ("fresh", "x", 1000 + 86401, "the last verified run is 86401 s old (a full run at least every 86400 s)"),
    ("fresh", "x", 999, "the last verified run is -1 s old (a full run at least every 86400 s)"),
])
def test_no_record_another_version_other_inputs_or_an_old_record_is_not_converged(record, inputs, now, expected):
    if record == "fresh":
        record = make_record("x", {}, now=1000)
    assert compare(record, inputs, {}, now, 86400) == (False, expected)


def test_the_record_holds_digests_and_names_only(tmp_path):
    etc, fake = host(tmp_path), Host()
    record = make_record("toolkit:a variables:secret-digest", observation(etc, tmp_path, fake), now=1000)
    text = json.dumps(record)
    for shown in ("type = endpoint", "secret-digest", "active\n", "udp"):
        assert shown not in text, shown
    assert str(etc / "pjsip.conf") in text


def test_the_module_records_then_compares_and_records_nothing_in_check_mode(tmp_path):
    etc = host(tmp_path)
    args = {"inputs": "toolkit:a variables:b", "record": str(tmp_path / "state" / "converged.json"),
            "observe": {"paths": [str(etc)], "present": [str(tmp_path / "security.log")], "commands": [["true"]]}}
    assert run_module(voipguard_converged, dict(args, state="recorded"), check_mode=True)["changed"] is False
    assert not os.path.exists(args["record"])
    result = run_module(voipguard_converged, args)
    assert (result["converged"], result["reason"]) == (False, "no verified run is recorded on this host")
    recorded = run_module(voipguard_converged, dict(args, state="recorded"))
    assert recorded["changed"] is False and recorded["observations"] == 5  # dir, 2 files, log, command
    assert oct(os.stat(args["record"]).st_mode & 0o777) == "0o600"
    assert run_module(voipguard_converged, args, check_mode=True)["converged"] is True
    (etc / "pjsip.conf").write_text("; edited by hand\n")
    result = run_module(voipguard_converged, args)
    assert result["converged"] is False and "pjsip.conf" in result["reason"]
    assert "toolkit:a" not in json.dumps(result)  # the inputs are never returned
    assert read_record(args["record"])["observed"]


def test_the_module_refuses_a_table_without_its_family(tmp_path):
    result = run_module(voipguard_converged, {"inputs": "toolkit:a variables:b",
                                              "observe": {"nft_tables": ["voipguard"]},
                                              "record": str(tmp_path / "c.json")})
    assert result["failed"] and "nft_tables: 'voipguard' is not 'family name'" in result["msg"]


def test_the_inputs_name_every_role_variable_and_follow_the_toolkit_code(tmp_path):
    names = voipguard_converged_inputs.role_variable_names(str(ROOT))
    for name in ("asterisk_hardening_secrets_enabled", "toll_fraud_guard_max_price_per_minute", "voipguard_trunks",
                 "voipguard_admin_networks", "nftables_firewall_countries", "fail2ban_asterisk_enabled"):
        assert name in names
    toolkit = tmp_path / "toolkit"
    (toolkit / "roles" / "a" / "tasks").mkdir(parents=True)
    (toolkit / "roles" / "a" / "tasks" / "main.yml").write_text("---\n")
    (toolkit / "library").mkdir()
    before = voipguard_converged_inputs.toolkit_digest(str(toolkit))
    voipguard_converged_inputs._toolkit_digests.clear()
    (toolkit / "library" / "m.py").write_text("# new\n")
    assert voipguard_converged_inputs.toolkit_digest(str(toolkit)) != before
    assert voipguard_converged_inputs.toolkit_root(str(ROOT / "lookup_plugins" / "x.py")) == str(ROOT)


def test_the_module_refuses_a_negative_maximum_age(tmp_path):
    result = run_module(voipguard_converged, {"inputs": "toolkit:a variables:b", "max_age": -1,
                                              "record": str(tmp_path / "c.json")})
    assert result["failed"] and result["msg"] == "max_age: -1 is below 0"
    assert not (tmp_path / "c.json").exists()


def _tasks(node):
    """Every task dict under a task file's list, blocks included, with whether it runs on the
    controller (delegate_to localhost)."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        if any(key in node for key in ("block", "rescue", "always")):
            for key in ("block", "rescue", "always"):
                yield from _tasks(node.get(key) or [])
        else:
            yield node


def _role_writes():
    """(role, dest) of every file the roles write on the host, and (role, unit) of every unit they
    keep running or enabled, their directory variables resolved with the roles' defaults."""
    import re

    import yaml

    from tests.role_defaults import role_defaults
    defaults = {}
    for role in ("asterisk_hardening", "fail2ban_asterisk", "nftables_firewall", "toll_fraud_guard"):
        defaults.update(role_defaults(role))

    def resolve(text):
        for _ in range(3):  # defaults that name other defaults
            text = re.sub(r"\{\{ *(\w+) *\}\}", lambda m: str(defaults.get(m.group(1), m.group(0))), text)
        return text

    writes, units = [], []
    for task_file in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        role = task_file.parts[-3]
        for task in _tasks(yaml.safe_load(task_file.read_text()) or []):
            if task.get("delegate_to") == "localhost":
                continue
            for module in ("voipguard_install", "ansible.builtin.template", "ansible.builtin.copy"):
                args = task.get(module) or {}
                entries = args.get("files", [args]) if module == "voipguard_install" else [args]
                for entry in entries:
                    dest = resolve(str(entry.get("dest", "")))
                    if dest and "{{" not in dest:
                        writes.append((role, dest))
            # Units a role keeps running or enabled (not the rollback timer it only ever stops).
            service = task.get("ansible.builtin.systemd_service") or {}
            kept = service.get("enabled") is True or service.get("state") in ("started", "restarted")
            if kept and "{{" not in str(service.get("name", "{{")):
                units.append((role, service["name"]))
    return writes, units


def test_everything_the_roles_write_or_run_is_observed():
    """The play's voipguard_converged_observed names what a rerun compares: a file or unit a role manages but the
    observation leaves out would never send a run through the roles again."""
    import fnmatch

    import yaml

    play = yaml.safe_load((ROOT / "playbooks" / "harden.yml").read_text())[0]
    observed = play["vars"]["voipguard_converged_observed"]
    from tests.role_defaults import role_defaults
    defaults = {}
    for role in ("asterisk_hardening", "fail2ban_asterisk", "nftables_firewall", "toll_fraud_guard"):
        defaults.update(role_defaults(role))
    patterns = [p.replace("{{ ", "{").replace(" }}", "}").format(**defaults) for p in observed["paths"]]
    writes, units = _role_writes()
    assert len(writes) >= 10 and len(units) >= 4  # the walk found the roles' files and units
    unobserved = [(role, dest) for role, dest in writes
                  if not any(fnmatch.fnmatch(dest, p) or dest.startswith(p.rstrip("/") + "/") for p in patterns)]
    assert unobserved == []
    watched = set(observed["commands"][0][2:])  # systemctl is-enabled ...
    assert observed["commands"][0][:2] == ["systemctl", "is-enabled"]
    assert observed["commands"][1] == ["systemctl", "is-active"] + observed["commands"][0][2:]
    assert [(role, unit) for role, unit in units if unit not in watched] == []
