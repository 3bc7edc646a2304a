#!/usr/bin/python3
"""Run a fail2ban filter over sample lines the way fail2ban's own samples test does.

Runs under Debian's /usr/bin/python3 (the fail2ban package is not in the project's venv).
Usage: run_filter.py CONFDIR FILTERNAME LOGFILE
Prints one JSON object per non-comment line: {"lineno", "line", "matches": [{"host", "time"}]}.
"""
import json
import sys
import time

from fail2ban.client.filterreader import FilterReader
from fail2ban.server.filter import Filter


def load_filter(confdir, name):
    flt = Filter(None)
    flt.returnRawHost = True
    flt.checkFindTime = False
    flt.active = True
    reader = FilterReader(name, "jail", {}, basedir=confdir, share_config={})
    if not reader.read():
        raise SystemExit("cannot read filter %s from %s" % (name, confdir))
    reader.getOptions({})
    for opt in reader.convert():
        values = opt[3] if opt[0] == "multi-set" else [opt[3]]
        for value in values:
            if opt[2] == "prefregex":
                flt.prefRegex = value
            elif opt[2] == "addfailregex":
                flt.addFailRegex(value)
            elif opt[2] == "addignoreregex":
                flt.addIgnoreRegex(value)
            elif opt[2] == "datepattern":
                flt.setDatePattern(value)
            elif opt[2] == "maxlines":
                flt.setMaxLines(value)
    return flt


def main(confdir, name, logfile):
    flt = load_filter(confdir, name)
    # Lines end at "\n" only, as fail2ban reads a log (a "\r" an attacker sends stays in the line).
    with open(logfile, "rb") as handle:
        for lineno, raw in enumerate(handle.read().split(b"\n"), 1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            matches = []
            for _regex, host, stamp, fail in flt.processLine(line) or []:
                if host is None or fail.get("nofail"):
                    continue
                matches.append({"host": str(host),
                                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stamp))})
            print(json.dumps({"lineno": lineno, "line": line, "matches": matches}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
