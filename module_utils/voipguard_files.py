# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing the files voipguard edits: one text reader, one atomic write, one digest.

Asterisk reads its files as bytes: UTF-8 when they are, else Latin-1, which round-trips any byte
sequence exactly, so a file is written back in the encoding it was read with.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import os
import pwd
import tempfile


def decode(data):
    """(text, encoding) of file bytes: UTF-8, else Latin-1."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def content_digest(path):
    """SHA-256 (hex) of a file's bytes, read in blocks: the one way voipguard fingerprints a file."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            hasher.update(block)
    return hasher.hexdigest()


def read_text(path):
    """(text, encoding) of a file."""
    with open(path, "rb") as handle:
        return decode(handle.read())


def read_or_none(path):
    """A file's text, or None when it cannot be read (the pbx_distribution read function)."""
    try:
        return read_text(path)[0]
    except (IOError, OSError):
        return None


def write_atomically(module, path, text, encoding="utf-8", mode=None, before_move=None):
    """Write through a temporary file in the same directory, then move it over path with the
    module's atomic_move (which keeps the file's owner, group, mode and SELinux context).

    mode: the new file's mode when path does not exist yet. before_move(temporary_path): a last
    check of the written file (nft -f, say); an exception there leaves path as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".voipguard.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode(encoding, "surrogateescape"))
        if mode is not None and not os.path.exists(path):
            os.chmod(temporary, mode)
        if before_move is not None:
            before_move(temporary)
        module.atomic_move(temporary, path, unsafe_writes=False)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def wanted_attributes(owner, group, mode):
    """(uid, gid, mode) of a file to write; KeyError/ValueError for an unknown user, group or mode."""
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid, int(mode, 8)


def differences(path, content, uid, gid, mode):
    """(before text or None, reasons) of one file against what it should be: reasons name what
    differs ("missing", or any of content, owner, group, mode); [] when it is as it should be."""
    if not os.path.exists(path):
        return None, ["missing"]
    with open(path, "rb") as handle:
        before = handle.read().decode("utf-8", "surrogateescape")
    status = os.stat(path)
    return before, [name for name, differs in (("content", before != content), ("owner", status.st_uid != uid),
                                               ("group", status.st_gid != gid),
                                               ("mode", status.st_mode & 0o7777 != mode)) if differs]


def install_file(module, path, content, uid, gid, mode, directory_mode=0o755):
    """Writes one file atomically with its owner, group and mode (its directory made if missing)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, directory_mode)
    write_atomically(module, path, content, mode=mode)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
