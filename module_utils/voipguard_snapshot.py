# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""All or nothing: the configuration trees a run may change, saved before its first change and
put back, byte for byte, when the run fails halfway. Pure file work: no Ansible, no reloads.

A snapshot is one tar archive (owners, modes and contents) plus a manifest of the trees that
existed. Restoring puts every saved file back, removes the files the run created, and removes a
tree the run created; it returns the files it actually changed, so the caller reloads only what
needs it.

One run at a time per host: two runs at once (AWX and a terminal, say) would each snapshot the
other's half-done state, and a failing one would put that back. The run lock is a file created
atomically with the run's holder, start time and token; a lock older than its timeout is one a
dead run left, and the next run takes it over.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import uuid

from ansible.module_utils.voipguard_files import content_digest

MANIFEST = "voipguard-snapshot.json"


def _files_under(root):
    out = []
    for directory, _, names in os.walk(root):
        out.extend(os.path.join(directory, name) for name in names)
    return sorted(out)


def _digest(path):
    if os.path.islink(path):
        return "link:" + os.readlink(path)
    return content_digest(path)


def _state(roots):
    """{path: digest} of every file under the roots."""
    return dict((path, _digest(path)) for root in roots if os.path.isdir(root) for path in _files_under(root))


def take(roots, archive):
    """Save the trees (absolute paths) into ``archive`` atomically; returns the file count."""
    roots = [os.path.normpath(root) for root in roots]
    for root in roots:
        if not os.path.isabs(root):
            raise ValueError("snapshot paths must be absolute: %s" % root)
    directory = os.path.dirname(archive)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".snapshot.")
    os.close(handle)
    count = 0
    try:
        with tarfile.open(temporary, "w") as tar:
            manifest = json.dumps({"roots": roots, "existed": [r for r in roots if os.path.isdir(r)]}).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
            for root in roots:
                if os.path.isdir(root):
                    tar.add(root, arcname=root.lstrip("/"), recursive=True)
                    count += len(_files_under(root))
        os.chmod(temporary, 0o600)
        os.rename(temporary, archive)
    except Exception:
        os.unlink(temporary)
        raise
    return count


def restore(archive):
    """Put the trees back as the archive holds them. Returns the sorted list of files whose
    content changed, appeared or disappeared (absolute paths)."""
    with tarfile.open(archive, "r") as tar:
        manifest = json.loads(tar.extractfile(MANIFEST).read().decode())
        roots = manifest["roots"]
        before = _state(roots)
        saved = set("/" + member.name for member in tar.getmembers()
                    if member.isfile() or member.issym())
        for path in before:
            if path not in saved:
                os.unlink(path)
        for root in roots:
            if root not in manifest["existed"] and os.path.isdir(root):
                shutil.rmtree(root)
        members = [m for m in tar.getmembers() if m.name != MANIFEST]
        # numeric_owner: the host's own users, whatever the controller knows.
        if hasattr(tarfile, "fully_trusted_filter"):
            tar.extractall("/", members=members, numeric_owner=True, filter="fully_trusted")
        else:
            tar.extractall("/", members=members, numeric_owner=True)
    after = _state(roots)
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def take_back_marker(marker, changed_files, pending_before):
    """After a restore: a run that put no file back left Asterisk reading what it read before, so
    the pending-reload marker it wrote would only make the next run reload everything and say the
    running Asterisk had differed. Removed then, unless an earlier run left it (pending_before):
    that one stays for the next run. Returns whether it was removed."""
    if changed_files or pending_before or not os.path.exists(marker):
        return False
    os.unlink(marker)
    return True


class RunLockHeld(Exception):
    """Another run holds this host's lock: ``holder`` (its lock's content) for ``age`` seconds."""

    def __init__(self, holder, age):
        Exception.__init__(self, "held by %s for %d s" % (holder.get("holder") or "?", age))
        self.holder, self.age = holder, age


def read_lock(path):
    """The lock's content ({} when it is unreadable or half-written), or None when there is none."""
    try:
        with open(path) as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    try:
        content = json.loads(text)
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


def lock_age(content, now=None):
    """Seconds since the run that wrote a lock's content took it (a half-written lock: since 1970)."""
    return (time.time() if now is None else now) - float(content.get("started") or 0)


def acquire_lock(path, holder, timeout, now=None):
    """Take the run lock. Returns (token, stale): the token that releases it, and the content of
    a lock older than ``timeout`` seconds that was taken over (None when there was none).
    RunLockHeld when another run holds a younger one."""
    now = time.time() if now is None else now
    token = uuid.uuid4().hex
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    stale = None
    for _attempt in range(2):
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            current = read_lock(path)
            if current is None:
                continue  # released meanwhile
            age = lock_age(current, now)
            if 0 <= age < timeout or stale is not None:
                raise RunLockHeld(current, max(age, 0))
            stale = current
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(handle, "w") as out:
            json.dump({"holder": holder, "started": now, "token": token}, out)
        return token, stale
    raise RunLockHeld(read_lock(path) or {}, 0)


def lock_held(path, timeout, now=None):
    """The content of a lock another run holds now (younger than ``timeout``), else None."""
    current = read_lock(path)
    if current is None:
        return None
    return current if 0 <= lock_age(current, now) < timeout else None


def release_lock(path, token):
    """Remove the lock if this run's token holds it. True when removed."""
    current = read_lock(path)
    if not current or current.get("token") != token:
        return False
    os.unlink(path)
    return True
