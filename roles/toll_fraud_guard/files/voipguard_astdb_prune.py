#!/usr/bin/python3
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove the toll-fraud guard's AstDB state nobody reads any more (voipguard-astdb-prune).

The guard keeps its state in Asterisk's database under voipguard/. Two parts of it grow without
end unless something removes them:
- vouchers (voipguard/voucher/<digits>): a phone's check leaves one per reading of the number it
  allowed, and the trunk leg consumes one within 60 s; the others, and those of calls that never
  reached a trunk, stay;
- spend (voipguard/spend/day/YYYYMMDD/..., voipguard/spend/month/YYYYMM/...): one tree per day
  and per month.
This removes vouchers older than --voucher-seconds, days older than --keep-days and months that
ended before that. Call counters (voipguard/cpm, voipguard/burst) are one key per phone and are
left alone: they are written under the guard's lock, which the CLI cannot take. The CDRs keep the
full call history. Deletions go through Asterisk's CLI, as the dialplan's own writes do.
"""
import argparse
import datetime
import re
import subprocess
import sys
import time

# One row of 'database show voipguard' (main/db.c: "%-50s: %-25s"), e.g.
# /voipguard/voucher/263771234567                   : 1764590000|1001
ROW = re.compile(r"^/(voipguard/\S+?)\s*: ?(.*?)\s*$")
# Only keys the guard's dialplan writes are touched, and only in this form: nothing a CLI command
# could read as two words.
VOUCHER = re.compile(r"^voipguard/voucher/([0-9]+)$")
SPEND_DAY = re.compile(r"^voipguard/spend/day/([0-9]{8})/[A-Za-z0-9_.+/-]+$")
SPEND_MONTH = re.compile(r"^voipguard/spend/month/([0-9]{6})/[A-Za-z0-9_.+/-]+$")
MAX_COMMANDS_PER_RUN = 5000


def parse_database_show(text):
    """[(key, value)] of the rows of 'asterisk -rx "database show voipguard"'."""
    rows = []
    for line in (text or "").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match.group(1), match.group(2)))
    return rows


def _month_end(yyyymm):
    year, month = int(yyyymm[:4]), int(yyyymm[4:])
    first_of_next = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - datetime.timedelta(days=1)


def prune_commands(rows, now, keep_days, voucher_seconds):
    """The CLI commands that remove stale state, in order; pure.

    now: epoch seconds; days are the host's local days, as the dialplan's STRFTIME(${EPOCH},,...)
    makes them. A voucher whose value cannot be read is stale: the trunk leg would not honour it.
    """
    if keep_days < 2:
        raise ValueError("keep_days must be at least 2: today's and yesterday's calls still settle")
    oldest_kept = datetime.date.fromtimestamp(now) - datetime.timedelta(days=keep_days - 1)
    commands, days, months = [], set(), set()
    for key, value in rows:
        voucher = VOUCHER.match(key)
        if voucher:
            stamp = value.split("|", 1)[0]
            if not stamp.isdigit() or int(stamp) < now - voucher_seconds:
                commands.append("database del voipguard/voucher %s" % voucher.group(1))
            continue
        day = SPEND_DAY.match(key)
        if day:
            try:
                if datetime.datetime.strptime(day.group(1), "%Y%m%d").date() < oldest_kept:
                    days.add(day.group(1))
            except ValueError:
                pass  # not a date the dialplan wrote: not ours to judge
            continue
        month = SPEND_MONTH.match(key)
        if month and 1 <= int(month.group(1)[4:]) <= 12 and _month_end(month.group(1)) < oldest_kept:
            months.add(month.group(1))
    commands += ["database deltree voipguard/spend/day/%s" % day for day in sorted(days)]
    commands += ["database deltree voipguard/spend/month/%s" % month for month in sorted(months)]
    return commands


def asterisk_cli(command, binary="asterisk"):
    result = subprocess.run([binary, "-rx", command], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise RuntimeError("asterisk -rx %r failed (rc %d): %s"
                           % (command, result.returncode, (result.stderr or result.stdout).strip()))
    return result.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-days", type=int, default=62, help="days of spend state kept (today included)")
    parser.add_argument("--voucher-seconds", type=int, default=600,
                        help="vouchers older than this are removed (the trunk leg honours them for 60 s)")
    parser.add_argument("--asterisk", default="asterisk")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    args = parser.parse_args(argv)
    try:
        rows = parse_database_show(asterisk_cli("database show voipguard", args.asterisk))
        commands = prune_commands(rows, time.time(), args.keep_days, args.voucher_seconds)
        for command in commands[:MAX_COMMANDS_PER_RUN]:
            if args.dry_run:
                print(command)
            else:
                asterisk_cli(command, args.asterisk)
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
        print("voipguard-astdb-prune: %s" % exc, file=sys.stderr)
        return 1
    done = commands[:MAX_COMMANDS_PER_RUN]
    print("voipguard-astdb-prune: %d guard keys read; %s %d stale vouchers, %d days and %d months of spend%s"
          % (len(rows), "would remove" if args.dry_run else "removed",
             sum(1 for c in done if c.startswith("database del ")),
             sum(1 for c in done if "/spend/day/" in c), sum(1 for c in done if "/spend/month/" in c),
             "; %d commands left for the next run" % (len(commands) - len(done)) if len(commands) > len(done) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
