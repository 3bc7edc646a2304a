#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mail the toll-fraud guard's alerts from Asterisk's log (run by voipguard-alert-mailer.timer).

The dialplan cannot send mail without System(), and System() near caller data is command
injection, so the guard only logs "voipguard: ALERT ..." lines. This script reads the log from
where it stopped last time, picks the lines the guard's Log() wrote and hands them to sendmail
on stdin (no shell). When sendmail is missing or fails, it warns in the journal and keeps its
position, so the alerts are mailed once mail works.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
from email.message import EmailMessage

# A line written by Log(WARNING,...) in the guard's Gosub voipguard-alert, exten s:
# [Nov 25 10:42:19] WARNING[1154][C-0000000f] Ext. s: voipguard: ALERT kind=budget-exhausted ...
# Anchored, so text a caller puts inside another log message cannot pass for an alert.
ALERT_LINE = re.compile(
    r"^\[[^\]]{1,40}\] WARNING\[\d+\](?:\[C-[0-9a-f]+\])? Ext\. s: "
    r"(voipguard: ALERT kind=[a-z0-9-]+(?: [A-Za-z0-9_.+*#=/:%-]*)*)\s*$")
MAX_LINES_PER_MAIL = 200
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


def compose(alerts, recipient, hostname, sender=None):
    """The e-mail for a batch of alerts (at most MAX_LINES_PER_MAIL listed)."""
    message = EmailMessage()
    message["Subject"] = "voipguard: %d toll-fraud alert(s) on %s" % (len(alerts), hostname)
    message["To"] = recipient
    if sender:
        message["From"] = sender
    shown = alerts[:MAX_LINES_PER_MAIL]
    body = ["The toll-fraud guard on %s raised these alerts (from Asterisk's log):" % hostname, ""]
    body.extend(shown)
    if len(alerts) > len(shown):
        body.append("... and %d more; see 'grep \"voipguard: ALERT\"' in the Asterisk log."
                    % (len(alerts) - len(shown)))
    body.extend(["", "Spend state: asterisk -rx 'database show voipguard'"])
    message.set_content("\n".join(body) + "\n", cte="8bit")  # readable, lines < 998
    return message


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
    sys.stderr.write("<4>voipguard-alert-mailer: %s\n" % text)


def run(args):
    current = _stat(args.log)
    if current is None:
        warn("%s does not exist; nothing to read" % args.log)
        return 0
    state = load_state(args.state)
    paths = {"current": args.log, "rotated": args.log + ".1"}
    alerts, new_state = [], state
    for which, offset in plan_reads(state, current, _stat(paths["rotated"])):
        text, end = _read(paths[which], offset)
        alerts.extend(alerts_in(text))
        if which == "current":
            new_state = {"inode": current["inode"], "offset": end}
    if alerts:
        if not os.access(args.sendmail, os.X_OK):
            warn("%s not found: %d toll-fraud alert(s) NOT mailed to %s; install a mail "
                 "transfer agent (e.g. apt-get install postfix or dma). They stay in %s and "
                 "are mailed once sendmail works." % (args.sendmail, len(alerts), args.to, args.log))
            return 0
        message = compose(alerts, args.to, socket.gethostname(), args.sender)
        proc = subprocess.run([args.sendmail, "-oi", "--", args.to], input=message.as_bytes(),
                              capture_output=True, timeout=60, check=False)
        if proc.returncode != 0:
            warn("%s failed (exit %d): %s; %d alert(s) will be retried"
                 % (args.sendmail, proc.returncode,
                    proc.stderr.decode(errors="replace").strip()[:300], len(alerts)))
            return 1
        print("voipguard-alert-mailer: mailed %d alert(s) to %s" % (len(alerts), args.to))
    if new_state != state:
        save_state(args.state, new_state)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", default="/var/log/asterisk/messages.log")
    parser.add_argument("--state", default="/var/lib/voipguard-alert-mailer/position.json")
    parser.add_argument("--to", required=True)
    parser.add_argument("--sender", default=None)
    parser.add_argument("--sendmail", default="/usr/sbin/sendmail")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
