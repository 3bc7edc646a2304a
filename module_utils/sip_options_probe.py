# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask a running Asterisk to send SIP OPTIONS to an endpoint's contacts, and tell which answered.

Asterisk's own qualify (``pjsip qualify <endpoint>``) sends the request as a call to that endpoint
would leave: its transport and source port, its outbound proxy, its outbound auth. Asterisk keeps
the result only for an aor with qualify_frequency > 0, though (res_pjsip/pjsip_options.c drops it
as "late" otherwise), and a trunk's aor often has 0. So the result is read from res_pjsip_history,
switched on for the probe only: each OPTIONS sent and the responses received, matched by Call-ID.
Any response counts, as in Asterisk's qualify: a 401 or a 404 proves as well as a 200 that the
carrier hears this Asterisk and that its answers come back.

The CLI is ``cli(command) -> text or None`` (asterisk_live.module_cli in a module). Only the
first line of a message, its address, Call-ID and CSeq are read: a message's other headers (an
Authorization, say) never leave.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

# "00001 1796353781 * <== 198.51.100.20:5060       SIP/2.0 200 OK" (pjsip show history)
_SUMMARY_LINE = re.compile(r"^(\d+)\s+\d+\s+\*\s+(==>|<==)\s+\S+\s+(\S.*?)\s*$")
# "<--- History Entry 1 Received from 198.51.100.20:5060 at 1796353810 --->" (... entry <n>)
_ENTRY_HEAD = re.compile(r"^<--- History Entry (\d+) (Sent to|Received from) (\S+) at \d+")
_CALL_ID = re.compile(r"^(?:Call-ID|i)\s*:\s*(\S+)", re.IGNORECASE)
_CSEQ = re.compile(r"^CSeq\s*:\s*\d+\s+(\S+)", re.IGNORECASE)


def parse_history(text):
    """[(number, sent, first line)] from ``pjsip show history``."""
    entries = []
    for line in (text or "").splitlines():
        match = _SUMMARY_LINE.match(line)
        if match:
            entries.append((int(match.group(1)), match.group(2) == "==>", match.group(3)))
    return entries


def parse_entry(text):
    """{sent, address, first_line, call_id, method} of one ``pjsip show history entry <n>``
    (method: the CSeq's, so a response names the request it answers), or None."""
    lines = (text or "").splitlines()
    for index, line in enumerate(lines):
        head = _ENTRY_HEAD.match(line)
        if not head:
            continue
        entry = {"sent": head.group(2) == "Sent to", "address": head.group(3),
                 "first_line": lines[index + 1].strip() if index + 1 < len(lines) else "",
                 "call_id": None, "method": None}
        for header in lines[index + 2:]:
            if not header.strip():
                break
            call_id, cseq = _CALL_ID.match(header), _CSEQ.match(header)
            if call_id:
                entry["call_id"] = call_id.group(1)
            elif cseq:
                entry["method"] = cseq.group(1).upper()
        return entry
    return None


def answers(entries):
    """({address: first line of its first response}, [addresses sent an OPTIONS, unanswered])
    from parsed history entries: a response answers the OPTIONS of its Call-ID."""
    sent = {}
    for entry in entries:
        if entry["sent"] and entry["first_line"].startswith("OPTIONS ") and entry["call_id"]:
            sent.setdefault(entry["call_id"], entry["address"])
    answered = {}
    for entry in entries:
        if (not entry["sent"] and entry["first_line"].startswith("SIP/2.0 ")
                and entry["method"] == "OPTIONS" and entry["call_id"] in sent):
            answered.setdefault(sent[entry["call_id"]], entry["first_line"])
    unanswered = sorted(set(address for address in sent.values() if address not in answered))
    return answered, unanswered


def probe(cli, endpoint, timeout=5.0, sleep=time.sleep, clock=time.monotonic, interval=0.2):
    """Send OPTIONS to each contact of ``endpoint`` through the running Asterisk, and wait up to
    ``timeout`` seconds for the answers: {answered: {address: status line}, unanswered: [address],
    error: None or why nothing could be sent}."""
    cli("pjsip set history clear")
    if cli("pjsip set history on") is None:
        return {"answered": {}, "unanswered": [], "error": "Asterisk did not answer on its CLI"}
    try:
        asked = cli("pjsip qualify %s" % endpoint) or ""
        if "Qualifying AOR" not in asked:
            reason = asked.strip().splitlines()[0] if asked.strip() else "no answer from the CLI"
            return {"answered": {}, "unanswered": [], "error": reason}
        read = {}
        deadline = clock() + timeout
        while True:
            for number, sent, first_line in parse_history(cli("pjsip show history")):
                relevant = first_line.startswith("OPTIONS " if sent else "SIP/2.0 ")
                if relevant and number not in read:
                    entry = parse_entry(cli("pjsip show history entry %d" % number))
                    if entry:
                        read[number] = entry
            answered, unanswered = answers(read.values())
            if (answered and not unanswered) or clock() >= deadline:
                break
            sleep(interval)
        error = None if answered or unanswered else "no OPTIONS was sent: the endpoint's aors have no contact"
        return {"answered": answered, "unanswered": unanswered, "error": error}
    finally:
        cli("pjsip set history off")
        cli("pjsip set history clear")


def unanswered_reason(result, timeout):
    """Why ``probe``'s result does not prove the endpoint reachable, or None when every contact
    answered."""
    if result["error"]:
        return result["error"]
    if result["unanswered"]:
        return "no answer within %g s from %s" % (timeout, ", ".join(result["unanswered"]))
    return None
