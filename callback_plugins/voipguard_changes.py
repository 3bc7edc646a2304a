# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record, per host, the names of the tasks that changed something in this run."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: voipguard_changes
type: aggregate
short_description: Record the changed tasks of a run for the voipguard hardening journal
description:
  - Writes a JSON file on the controller (run id, user@controller, playbook, tags, check mode,
    and per host the names of the tasks that reported a change).
  - Its path is exported to the run's worker processes as C(VOIPGUARD_CHANGES_FILE), where the
    voipguard_journal role reads it with a lookup and appends one line to the host's journal.
  - The file is removed when the run ends.
requirements:
  - enabled in ansible.cfg (C(callbacks_enabled = voipguard_changes))
options:
  run_id:
    description: Names the file; default a random id.
    env:
      - name: VOIPGUARD_RUN_ID
"""

import getpass
import json
import os
import socket
import tempfile
import uuid

from ansible import context
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "voipguard_changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        run_id = os.environ.get("VOIPGUARD_RUN_ID") or uuid.uuid4().hex
        fd, self.path = tempfile.mkstemp(prefix="voipguard-changes-%s-" % run_id, suffix=".json")
        os.close(fd)  # mkstemp: mode 0600, only this user can read the run's record
        # Inherited by the worker processes forked for each task, where lookups run.
        os.environ["VOIPGUARD_CHANGES_FILE"] = self.path
        args_ = context.CLIARGS or {}
        user = getpass.getuser()
        sudo_user = os.environ.get("SUDO_USER")
        self.record = {
            "run_id": run_id,
            "user": "%s@%s" % (user, socket.getfqdn()) + (" (sudo from %s)" % sudo_user
                                                          if sudo_user and sudo_user != user else ""),
            "playbook": "",
            "tags": sorted(t for t in (args_.get("tags") or ()) if t != "all"),
            "skip_tags": sorted(args_.get("skip_tags") or ()),
            "check_mode": bool(args_.get("check")),
            "hosts": {},
        }
        self._save()

    def _save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.record, handle)
        os.chmod(tmp, 0o600)
        os.rename(tmp, self.path)

    def v2_playbook_on_start(self, playbook):
        self.record["playbook"] = os.path.basename(getattr(playbook, "_file_name", "") or "")
        self._save()

    def v2_runner_on_ok(self, result):
        if not result._result.get("changed"):  # pylint: disable=protected-access
            return
        host = result._host.get_name()  # pylint: disable=protected-access
        name = result._task.get_name()  # pylint: disable=protected-access
        self.record["hosts"].setdefault(host, []).append(name)
        self._save()

    def v2_playbook_on_stats(self, stats):
        for path in (self.path, self.path + ".tmp"):
            try:
                os.remove(path)
            except OSError:
                pass
