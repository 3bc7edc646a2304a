#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: save the configuration trees before a run's first change; put them back
when the run fails."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_snapshot
short_description: All or nothing for a hardening run - save the trees, restore them on failure
description:
  - One run at a time per host. C(state=taken) first takes the host's run lock and fails, before
    anything is saved or changed, when another run holds it (two runs at once would snapshot and
    restore each other's half-done work). C(state=released) gives it back. A lock older than
    I(lock_timeout) was left by a run that died; the next run takes it over and says so.
  - C(state=taken) saves the given trees (contents, owners, modes) into one archive, and leaves a
    pending-reload marker that M(asterisk_live_state) removes once the running Asterisk matches
    the files. A run that dies before that (a lost connection, a killed controller) leaves the
    marker, and the next run reloads everything.
  - C(state=restored) puts every saved file back byte for byte, removes the files and trees the
    run created, and returns the files it changed, so the caller reloads what needs it. When it
    changed none, Asterisk reads what it read before, so the pending-reload marker this run wrote is
    removed, unless an earlier run had left it (I(pending_before)).
  - The logic lives in C(module_utils/voipguard_snapshot.py).
version_added: "0.2.0"
author:
  - voipguard contributors
options:
  state:
    description: Take the snapshot, or restore it.
    type: str
    choices: [taken, restored, released]
    required: true
  paths:
    description: Absolute paths of the trees a run may change (for C(state=taken)).
    type: list
    elements: path
    default: [/etc/asterisk, /etc/fail2ban, /etc/nftables.d]
  archive:
    description: Where the snapshot is kept (mode 0600).
    type: path
    default: /var/lib/voipguard/run/snapshot.tar
  pending_marker:
    description: The pending-reload marker written with the snapshot.
    type: path
    default: /var/lib/voipguard/pending-reload
  pending_before:
    description: For C(state=restored), C(state=taken)'s I(pending_before) - whether an earlier
      run had left the pending-reload marker, which then stays whatever is restored.
    type: bool
    default: true
    version_added: "0.3.0"
  lock:
    description: The run lock's file (mode 0600).
    type: path
    default: /var/lib/voipguard/run/lock
    version_added: "0.3.0"
  lock_timeout:
    description: Seconds after which a run lock counts as left by a dead run.
    type: int
    default: 1800
    version_added: "0.3.0"
  holder:
    description: Who runs, for the message another run gets (for C(state=taken)), such as the
      controller's user and host.
    type: str
    default: ""
    version_added: "0.3.0"
  token:
    description: The I(lock_token) C(state=taken) returned (for C(state=released)); a lock
      another run holds is left alone.
    type: str
    version_added: "0.3.0"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Saves and locks nothing in check mode (a check run changes nothing to roll back),
      but still fails when another run holds the lock.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Taking a snapshot, and taking or releasing the lock, report C(changed=false) - they are the
    run's own bookkeeping under C(/var/lib/voipguard), not a change to the host's configuration
    - so a second run still reports nothing changed.
"""

EXAMPLES = r"""
- name: Save what this run may change
  voipguard_snapshot:
    state: taken
- name: Put it back after a failure
  voipguard_snapshot:
    state: restored
  register: restored
- name: Let the next run in
  voipguard_snapshot:
    state: released
    token: "{{ snapshot.lock_token }}"
"""

RETURN = r"""
files:
  description: For C(taken), the number of files saved.
  returned: when state is taken
  type: int
pending_before:
  description: For C(taken), whether a previous run had left the pending-reload marker (it
    ended before Asterisk reloaded what it wrote); pass it to M(asterisk_live_state)'s
    I(force_reload).
  returned: when state is taken
  type: bool
lock_token:
  description: For C(taken), the token that releases this run's lock (none in check mode).
  returned: when state is taken
  type: str
lock_taken_over:
  description: For C(taken), the lock a dead run had left (its holder and start time), or none.
  returned: when state is taken
  type: dict
released:
  description: For C(released), whether this run's lock was removed.
  returned: when state is released
  type: bool
changed_files:
  description: For C(restored), the files whose content was put back, removed or re-created.
  returned: when state is restored
  type: list
  elements: str
pending_marker_removed:
  description: For C(restored), whether the pending-reload marker this run wrote was removed (no
    file put back, and no earlier run had left it).
  returned: when state is restored
  type: bool
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_snapshot import (RunLockHeld, acquire_lock, lock_age, lock_held, release_lock,
                                                     restore, take, take_back_marker)


def held_message(holder, age, lock):
    started = datetime.datetime.fromtimestamp(float(holder.get("started") or 0)).strftime("%Y-%m-%d %H:%M:%S")
    return ("another voipguard run holds this host (%s, since %s, %d s ago): two runs at once would each "
            "save and restore the other's half-done changes, so this one stops before changing anything. "
            "Wait for it to end; if no run is in progress (one died), remove %s"
            % (holder.get("holder") or "holder unknown", started, age, lock))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["taken", "restored", "released"], required=True),
            paths=dict(type="list", elements="path", default=["/etc/asterisk", "/etc/fail2ban", "/etc/nftables.d"]),
            archive=dict(type="path", default="/var/lib/voipguard/run/snapshot.tar"),
            pending_marker=dict(type="path", default="/var/lib/voipguard/pending-reload"),
            pending_before=dict(type="bool", default=True),
            lock=dict(type="path", default="/var/lib/voipguard/run/lock"),
            lock_timeout=dict(type="int", default=1800),
            holder=dict(type="str", default=""),
            token=dict(type="str", no_log=False),
        ),
        required_if=[("state", "released", ["token"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["lock_timeout"] <= 0:
        module.fail_json(msg="lock_timeout must be a positive number of seconds, got %d" % params["lock_timeout"])
    if module.check_mode:
        holder = lock_held(params["lock"], params["lock_timeout"]) if params["state"] == "taken" else None
        if holder is not None:
            module.fail_json(msg=held_message(holder, lock_age(holder), params["lock"]))
        module.exit_json(changed=False, files=0, changed_files=[], lock_token=None, lock_taken_over=None,
                         released=False, pending_before=os.path.exists(params["pending_marker"]))
    try:
        if params["state"] == "released":
            module.exit_json(changed=False, released=release_lock(params["lock"], params["token"]))
        if params["state"] == "taken":
            try:
                token, stale = acquire_lock(params["lock"], params["holder"], params["lock_timeout"])
            except RunLockHeld as held:
                module.fail_json(msg=held_message(held.holder, held.age, params["lock"]))
            if stale is not None:
                module.warn("took over the run lock of a run that ended without releasing it (%s)"
                            % (stale.get("holder") or "holder unknown"))
            try:
                pending_before = os.path.exists(params["pending_marker"])
                count = take(params["paths"], params["archive"])
                with open(params["pending_marker"], "w") as handle:
                    handle.write("a voipguard run is in progress or ended before it reloaded Asterisk\n")
            except (OSError, ValueError):
                release_lock(params["lock"], token)
                raise
            module.exit_json(changed=False, files=count, pending_before=pending_before, lock_token=token,
                             lock_taken_over=stale)
        if not os.path.exists(params["archive"]):
            module.fail_json(msg="no snapshot at %s: nothing to restore" % params["archive"])
        changed = restore(params["archive"])
        removed = take_back_marker(params["pending_marker"], changed, params["pending_before"])
        module.exit_json(changed=bool(changed), changed_files=changed, pending_marker_removed=removed)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="snapshot %s failed: %s" % (params["state"], exc))


if __name__ == "__main__":
    main()
