"""The asterisk-voipguard fail2ban filter against its sample lines, with Debian's fail2ban.

Every line after a `# failJSON:` comment in tests/fail2ban/logs/asterisk-voipguard must match
(with the given host and time) or must not match, as in fail2ban's own samples test.
The filter includes Debian's /etc/fail2ban/filter.d/asterisk.conf, so the test runs the real
upstream filter too. Needs the Debian package fail2ban (apt-get install fail2ban).
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "roles" / "fail2ban_asterisk" / "files" / "asterisk-voipguard.conf"
SAMPLES = ROOT / "tests" / "fail2ban" / "logs" / "asterisk-voipguard"
RUNNER = ROOT / "tests" / "fail2ban" / "run_filter.py"
DEBIAN_FILTERS = Path("/etc/fail2ban/filter.d")
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    not (DEBIAN_FILTERS / "asterisk.conf").exists() or not Path(SYSTEM_PYTHON).exists(),
    reason="Debian's fail2ban is not installed (apt-get install fail2ban)")


def expectations():
    """{line number of the sample line: failJSON dict}."""
    expected = {}
    lines = SAMPLES.read_text(encoding="utf-8").split("\n")   # as fail2ban: a "\r" stays in its line
    for i, line in enumerate(lines):
        match = re.match(r"^#+ ?failJSON:(.+)$", line)
        if match:
            expected[i + 2] = json.loads(match.group(1))   # the next line, 1-based
    return expected


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run the filter once over the sample file: {line number: result}."""
    confdir = tmp_path_factory.mktemp("fail2ban")
    (confdir / "filter.d").mkdir()
    # Upstream's filter and its common.conf as Debian ships them, plus ours.
    for name in ("asterisk.conf", "common.conf"):
        shutil.copy(DEBIAN_FILTERS / name, confdir / "filter.d" / name)
    shutil.copy(FILTER, confdir / "filter.d" / FILTER.name)
    proc = subprocess.run([SYSTEM_PYTHON, str(RUNNER), str(confdir), "asterisk-voipguard",
                           str(SAMPLES)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return {row["lineno"]: row for row in map(json.loads, proc.stdout.splitlines())}


def test_every_sample_line_is_annotated(results):
    assert set(results) == set(expectations()), "each sample line needs a # failJSON: line"


def test_enough_samples():
    expected = expectations().values()
    assert sum(1 for e in expected if e["match"]) >= 25
    assert sum(1 for e in expected if not e["match"]) >= 5


@pytest.mark.parametrize("lineno, expected", sorted(expectations().items()))
def test_sample_line(results, lineno, expected):
    row = results[lineno]
    if not expected["match"]:
        assert row["matches"] == [], "must not match: %s" % row["line"]
        return
    assert len(row["matches"]) == 1, "must match once: %s -> %s" % (row["line"], row["matches"])
    found = row["matches"][0]
    assert found["host"] == expected["host"], row["line"]
    # Debian's default Asterisk dateformat has no year: fail2ban supplies one.
    has_year = re.match(r"^\[\d{4}-", row["line"]) is not None
    want, got = expected["time"], found["time"]
    assert (got if has_year else got[5:]) == (want if has_year else want[5:]), row["line"]


def upstream_results(tmp_path, lines):
    """Debian's own asterisk filter over the given log lines: one result row per line."""
    log = tmp_path / "log"
    log.write_text("\n".join(lines) + "\n")
    (tmp_path / "filter.d").mkdir()
    for name in ("asterisk.conf", "common.conf"):
        shutil.copy(DEBIAN_FILTERS / name, tmp_path / "filter.d" / name)
    proc = subprocess.run([SYSTEM_PYTHON, str(RUNNER), str(tmp_path), "asterisk", str(log)],
                          capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_upstream_filter_misses_what_ours_adds(tmp_path):
    """Guard against the additions becoming redundant or upstream changing under us."""
    misses = [
        "[Nov 25 10:38:54] NOTICE[4234] manager.c: 198.18.33.1 failed to pass IP ACL as 'monitor'",
        "[Nov 25 10:38:54] NOTICE[4150] res_pjsip_session.c:  anonymous: Call (UDP:198.18.33.1:15064) "
        "to extension 'abc' rejected because extension not found in context 'from-internal'.",
    ]
    rows = upstream_results(tmp_path, misses)
    assert [r["matches"] for r in rows] == [[], []]


def test_upstream_filter_counts_the_address_an_attacker_names(tmp_path):
    """Why ours replaces upstream's failregex: an AMI MD5 key, or a From display name, chooses
    the address upstream counts (the samples above give the sender, or nobody, for both)."""
    crafted = [
        '[Nov 25 11:01:10] SECURITY[5100] res_security_log.c: SecurityEvent="InvalidPassword",'
        'EventTV="2026-11-25T11:01:10.000+0000",Severity="Error",Service="AMI",EventVersion="2",'
        'AccountID="admin",SessionID="0x7f05dc004080",LocalAddress="IPV4/TCP/0.0.0.0/5038",'
        'RemoteAddress="IPV4/TCP/198.19.0.66/41004",SessionTV="1970-01-01T00:00:00.000+0000",'
        'Challenge="8812",ReceivedChallenge="8812",ReceivedHash="",RemoteAddress="IPV4/TCP/198.19.0.77/1"',
        "[Nov 25 11:01:01] NOTICE[5122] res_pjsip/pjsip_distributor.c: Request 'INVITE' from "
        "'\"x: 198.19.0.77 failed to authenticate as 'admin'\" <sip:1001@198.19.0.10>' failed for "
        "'198.19.0.66:5070' (callid: 3c2a7b1e9f) - Failed to authenticate",
    ]
    rows = upstream_results(tmp_path, crafted)
    hosts = [[m["host"] for m in row["matches"]] for row in rows]
    assert hosts == [["198.19.0.77"], ["198.19.0.77"]]
