# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""At the end of a run, one line per host: hardened, failed (and why), unreachable, not run."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: voipguard_summary
type: aggregate
short_description: One line per host at the end of a voipguard run
description:
  - After the play recap, prints for every host the run targeted whether it ended well
    (C(hardened, N changes) for playbooks/harden.yml, C(ok, N changes) for others; under
    C(--check), which changes nothing, "would be hardened (check mode), N changes" and
    "ok (check mode), N changes"), failed (with the last failure message and its task), was
    unreachable (with the connection error), or was never run because a rolling update
    (C(serial), C(max_fail_percentage)) stopped first; the other hosts of the batch that stopped
    it are said to have stopped with it.
  - Failures that a task ignores (C(ignore_errors)) do not count; a failure a block rescued
    counts only when the host ended failed.
  - Messages pass through Ansible's own no_log censoring: a task with no_log shows no message.
requirements:
  - enabled in ansible.cfg (C(callbacks_enabled))
"""

from ansible import context
from ansible.plugins.callback import CallbackBase

MAX_MESSAGE = 300


def outcome_lines(targeted, stats, failures, unreachable, done="hardened", last_batch=()):
    """The summary, one (host, outcome) per targeted host, in inventory order.

    stats: {host: {"failures", "unreachable", "changed", "rescued"}} as in the play recap;
    failures/unreachable: {host: (task name, message)} of the last one seen; done: the word for a
    host that ended well; last_batch: the hosts of the last batch that ran. When the rollout
    stopped (a targeted host never ran), that batch was cut short with it."""
    stopped = any(host not in stats for host in targeted)
    lines = []
    for host in targeted:
        seen = stats.get(host)
        if seen is None:
            lines.append((host, "not run: the rolling update stopped before this host"))
        elif seen.get("unreachable"):
            task, message = unreachable.get(host, ("", "unreachable"))
            lines.append((host, "unreachable: %s" % message))
        elif seen.get("failures"):
            task, message = failures.get(host, ("", "failed"))
            lines.append((host, "failed at \"%s\": %s" % (task, message)))
        else:
            changed = seen.get("changed", 0)
            changes = "%d change%s" % (changed, "" if changed == 1 else "s")
            if stopped and host in last_batch:
                lines.append((host, "stopped with its batch, %s so far" % changes))
            else:
                lines.append((host, "%s, %s" % (done, changes)))
    return lines


def _message(result):
    text = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    text = " ".join(str(text).split())
    return text[:MAX_MESSAGE] + ("..." if len(text) > MAX_MESSAGE else "")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "voipguard_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.targeted = []
        self.batch = []
        self.done = "ok"
        self.failures = {}
        self.unreachable = {}

    def v2_playbook_on_start(self, playbook):
        harden = "harden" in getattr(playbook, "_file_name", "")
        # A --check run changed nothing: its changes are the ones a real run would make.
        if context.CLIARGS.get("check"):
            self.done = "would be hardened (check mode)" if harden else "ok (check mode)"
        elif harden:
            self.done = "hardened"

    def v2_playbook_on_play_start(self, play):
        manager = play.get_variable_manager()
        inventory = getattr(manager, "_inventory", None)
        if inventory is None:
            return
        for host in inventory.get_hosts(play.hosts, ignore_restrictions=True):
            if host.name not in self.targeted:
                self.targeted.append(host.name)
        # A play starts once per batch, with the inventory restricted to that batch.
        self.batch = [host.name for host in inventory.get_hosts(play.hosts)]

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self.failures[result._host.get_name()] = (result._task.get_name(), _message(result._result))

    def v2_runner_on_unreachable(self, result):
        self.unreachable[result._host.get_name()] = (result._task.get_name(), _message(result._result))

    def v2_playbook_on_stats(self, stats):
        seen = dict((host, stats.summarize(host)) for host in stats.processed)
        lines = outcome_lines(self.targeted, seen, self.failures, self.unreachable, self.done, self.batch)
        if not lines:
            return
        self._display.banner("VOIPGUARD SUMMARY")
        width = max(len(host) for host, _ in lines)
        for host, outcome in lines:
            color = "green" if outcome.startswith(self.done) else "red"
            self._display.display("%s : %s" % (host.ljust(width), outcome), color=color)
