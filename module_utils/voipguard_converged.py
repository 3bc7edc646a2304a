# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a host is still as the last verified run left it.

A full run ends by recording two digests: one of its inputs (the toolkit's code and every role
variable, computed on the controller) and one per thing it observed on the host (files with their
owners and modes, command outputs, nftables tables read without their counters and the addresses
banned since). The next run observes the same things; when the inputs and every observation are
equal and the record is younger than its maximum age, the roles have nothing to do.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os

from ansible.module_utils.voipguard_files import content_digest

RECORD_VERSION = 1


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def describe_path(path):
    """A string that changes when the file's content, type, owner or mode changes."""
    try:
        info = os.lstat(path)
    except OSError:
        return "missing"
    meta = "%o:%d:%d" % (info.st_mode, info.st_uid, info.st_gid)
    if os.path.islink(path):
        return "link:%s:%s" % (meta, os.readlink(path))
    if os.path.isdir(path):
        return "dir:" + meta
    return "file:%s:%s" % (meta, content_digest(path))


def named(pattern):
    """The paths a pattern names: itself when it has no glob characters (so that a missing file is
    observed as missing), else what the glob matches, sorted."""
    return sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]


def expand(pattern):
    """The paths a pattern names (named), directories with everything under them (not following
    links)."""
    out = []
    for root in named(pattern):
        out.append(root)
        if os.path.isdir(root) and not os.path.islink(root):
            for directory, dirs, names in os.walk(root):
                dirs.sort()
                out.extend(os.path.join(directory, name) for name in sorted(dirs + names))
    return out


def observe_paths(patterns):
    """{"path:<path>": description} for every path the patterns name."""
    return dict(("path:" + path, describe_path(path)) for pattern in patterns for path in expand(pattern))


def observe_present(patterns):
    """{"present:<path>": owner and mode} - for files whose content changes by itself (logs)."""
    out = {}
    for pattern in patterns:
        for path in named(pattern):
            try:
                info = os.stat(path)
                out["present:" + path] = "%o:%d:%d" % (info.st_mode, info.st_uid, info.st_gid)
            except OSError:
                out["present:" + path] = "missing"
    return out


def stable_nft_table(document):
    """The table of an ``nft -j -s list table`` document without what changes by itself: rule
    handles, and the elements of sets and maps the packet path fills (dynamic or with timeouts,
    such as the bans and the meters). Sets loaded from files keep their elements."""
    out = []
    for item in document.get("nftables", []):
        if "metainfo" in item:
            continue
        kind, body = next(iter(item.items()))
        body = dict(body)
        body.pop("handle", None)
        if kind in ("set", "map", "meter"):
            flags = body.get("flags") or []
            if isinstance(flags, str):
                flags = [flags]
            if kind == "meter" or "dynamic" in flags or "timeout" in body or "timeout" in flags:
                body.pop("elem", None)
        out.append({kind: body})
    return out


def observe_commands(commands, run):
    """{"command:<argv>": digest of its exit status and output}. run(argv) -> (rc, stdout)."""
    out = {}
    for argv in commands:
        rc, stdout = run(argv)
        out["command:" + " ".join(argv)] = _sha256(("%d\n%s" % (rc, stdout)).encode("utf-8", "surrogateescape"))
    return out


def observe_nft_tables(tables, run):
    """{"nft:<family> <name>": digest of the table's stable part, or "missing"}."""
    out = {}
    for table in tables:
        family, name = table.split()
        rc, stdout = run(["nft", "-j", "-s", "list", "table", family, name])
        if rc != 0:
            out["nft:" + table] = "missing"
            continue
        try:
            stable = stable_nft_table(json.loads(stdout))
        except ValueError:
            stable = stdout
        out["nft:" + table] = _sha256(json.dumps(stable, sort_keys=True).encode("utf-8"))
    return out


def observe(paths, present, commands, nft_tables, run):
    """Everything observed, one digest or description per key."""
    observed = {}
    observed.update(observe_paths(paths))
    observed.update(observe_present(present))
    observed.update(observe_commands(commands, run))
    observed.update(observe_nft_tables(nft_tables, run))
    return observed


def make_record(inputs, observed, now):
    """The record a verified run leaves. Only digests: no file content, no secret."""
    return {"version": RECORD_VERSION, "time": int(now), "inputs": _sha256(inputs.encode("utf-8")),
            "observed": observed}


def compare(record, inputs, observed, now, max_age):
    """(converged, reason): whether nothing the roles manage changed since the record."""
    if not record:
        return False, "no verified run is recorded on this host"
    if record.get("version") != RECORD_VERSION:
        return False, "the record was written by another voipguard version"
    age = int(now) - int(record.get("time", 0))
    if age < 0 or age > max_age:
        return False, "the last verified run is %d s old (a full run at least every %d s)" % (age, max_age)
    if record.get("inputs") != _sha256(inputs.encode("utf-8")):
        return False, "the toolkit or the role variables changed since the last verified run"
    before = record.get("observed") or {}
    differ = sorted(key for key in set(before) | set(observed) if before.get(key) != observed.get(key))
    if differ:
        shown = ", ".join(differ[:5]) + (" and %d more" % (len(differ) - 5) if len(differ) > 5 else "")
        return False, "changed since the last verified run: " + shown
    return True, "nothing changed since the verified run %d s ago" % age


def read_record(path):
    """The record, or None when there is none or it cannot be read."""
    try:
        with open(path) as handle:
            record = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
