#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send the toll-fraud guard's alerts from Asterisk's log to people (voipguard-alert-notifier).

The dialplan cannot reach the outside world without System() or CURL(), and either one near
caller data is an injection risk, so the guard only logs: "voipguard: ALERT kind=..." (a budget
threshold, a burst, an off-hours call) and "voipguard: blocked call ..." (a refused call). This
service follows the log from where it stopped, picks exactly those lines and sends them through
Apprise (e-mail, Slack, Teams, Matrix, JSON webhooks, ...) to the URLs of its configuration
file, one per line. When nothing can be delivered it warns in the journal and keeps its
position, so the alerts go out once delivery works.
"""
import argparse
import json
import os
import re
import socket
import sys
import time

try:
    import apprise
except ImportError:  # pragma: no cover - the role installs Debian's apprise
    apprise = None

# A line written by Log(WARNING,...) in the guard's dialplan (Gosub voipguard-alert or
# voipguard-refuse, exten s):
# [Nov 25 10:42:19] WARNING[1154][C-0000000f] Ext. s: voipguard: ALERT kind=budget-exhausted ...
# Anchored, so text a caller puts inside another log message cannot pass for an alert.
ALERT_LINE = re.compile(
    r"^\[[^\]]{1,40}\] WARNING\[\d+\](?:\[C-[0-9a-f]+\])? Ext\. s: "
    r"(voipguard: (?:ALERT kind=[a-z0-9-]+|blocked call)(?: [A-Za-z0-9_.+*#=/:%-]*)*)\s*$")
MAX_LINES_PER_MESSAGE = 200
MAX_BYTES_PER_RUN = 8 * 1024 * 1024


def load_state(path):
    """{'inode': int, 'offset': int} from the state file, or None when there is none."""
    try:
        with open(path) as handle:
            state = json.load(handle)
        return {"inode": int(state["inode"]), "offset": int(state["offset"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, path)


def plan_reads(state, current, rotated=None):
    """Where to read: [(which, offset)] with which in ('rotated', 'current').

    current / rotated: {'inode', 'size'} of the log and of its rotated copy (log.1) or None.
    First run: start at the end (alerts from before the mailer existed are not mailed).
    Rotation: finish the rotated file from the old offset, then read the new one from 0.
    """
    if current is None:
        return []
    if state is None:
        return [("current", current["size"])]
    if state["inode"] == current["inode"]:
        offset = state["offset"] if state["offset"] <= current["size"] else 0  # truncated
        return [("current", offset)]
    reads = []
    if rotated is not None and rotated["inode"] == state["inode"] \
            and state["offset"] <= rotated["size"]:
        reads.append(("rotated", state["offset"]))
    reads.append(("current", 0))
    return reads


def alerts_in(text):
    """The alert part of every line of text that has exactly the guard's alert shape."""
    found = []
    for line in text.splitlines():
        match = ALERT_LINE.match(line)
        if match:
            found.append(match.group(1))
    return found


def compose(alerts, hostname):
    """(title, body) of one notification for a batch of alerts (at most MAX_LINES_PER_MESSAGE)."""
    refused = sum(1 for line in alerts if line.startswith("voipguard: blocked call"))
    title = "voipguard on %s: %d toll-fraud alert(s), %d call(s) refused" % (
        hostname, len(alerts) - refused, refused)
    shown = alerts[:MAX_LINES_PER_MESSAGE]
    body = ["The toll-fraud guard on %s logged:" % hostname, ""]
    body.extend(shown)
    if len(alerts) > len(shown):
        body.append("... and %d more; see 'grep voipguard: /var/log/asterisk/messages.log'."
                    % (len(alerts) - len(shown)))
    body.extend(["", "Spend state: asterisk -rx 'database show voipguard'"])
    return title, "\n".join(body) + "\n"


def apprise_sender(config_path):
    """A send(title, body) -> bool that notifies every URL of the configuration file."""
    if apprise is None:
        raise RuntimeError("the apprise library is missing (Debian: apt-get install apprise)")
    notifier = apprise.Apprise()
    config = apprise.AppriseConfig()
    if not config.add(config_path):
        raise RuntimeError("cannot read the alert destinations in %s" % config_path)
    notifier.add(config)

    def send(title, body):
        if len(notifier) == 0:
            raise RuntimeError("%s names no alert destination Apprise understands" % config_path)
        return bool(notifier.notify(title=title, body=body))

    return send


def _stat(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return {"inode": info.st_ino, "size": info.st_size}


def _read(path, offset):
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read(MAX_BYTES_PER_RUN)
    return data.decode("utf-8", errors="replace"), offset + len(data)


def warn(text):
    # "<4>" is the journal's warning priority (SyslogLevelPrefix, on by default).
    sys.stderr.write("<4>voipguard-alert-notifier: %s\n" % text)
    sys.stderr.flush()


def run_once(log_path, state_path, send):
    """Reads what is new in the log and sends its alerts. 0: done (or nothing new); 1: delivery
    failed, the position is kept so the same alerts are sent next time."""
    current = _stat(log_path)
    if current is None:
        return 0
    state = load_state(state_path)
    paths = {"current": log_path, "rotated": log_path + ".1"}
    alerts, new_state = [], state
    for which, offset in plan_reads(state, current, _stat(paths["rotated"])):
        text, end = _read(paths[which], offset)
        alerts.extend(alerts_in(text))
        if which == "current":
            new_state = {"inode": current["inode"], "offset": end}
    if alerts:
        title, body = compose(alerts, socket.gethostname())
        try:
            delivered = send(title, body)
        except Exception as exc:  # pylint: disable=broad-except
            warn("%d alert(s) NOT sent: %s; they will be sent once delivery works" % (len(alerts), exc))
            return 1
        if not delivered:
            warn("%d alert(s) NOT sent: no destination accepted them (see the messages above); "
                 "they will be retried" % len(alerts))
            return 1
        print("voipguard-alert-notifier: sent %d alert(s)" % len(alerts), flush=True)
    if new_state != state:
        save_state(state_path, new_state)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", default="/var/log/asterisk/messages.log")
    parser.add_argument("--state", default="/var/lib/voipguard-alert-notifier/position.json")
    parser.add_argument("--config", default="/etc/voipguard/alert-destinations.conf",
                        help="Apprise URLs, one per line (mode 0600: they may hold tokens)")
    parser.add_argument("--follow", action="store_true", help="keep reading, every --interval s")
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    try:
        send = apprise_sender(args.config)
    except RuntimeError as exc:
        warn(str(exc))
        return 1
    if not args.follow:
        return run_once(args.log, args.state, send)
    delay = args.interval
    while True:
        # Failed deliveries back off up to a minute; success returns to the normal pace.
        delay = args.interval if run_once(args.log, args.state, send) == 0 else min(60.0, delay * 2)
        time.sleep(delay)


if __name__ == "__main__":
    sys.exit(main())
