"""roles/fail2ban_asterisk/files/voipguard-phone-alert, the phones' watch jail's action, run over a
security.log. Only `logger` is replaced (by a script that prints its arguments): the alert's text
is what is checked, not syslog."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "roles" / "fail2ban_asterisk" / "files" / "voipguard-phone-alert"
PHONES = "198.18.33.1"


def event(account, remote, event_name="InvalidAccountID", service="PJSIP", tail=""):
    return ('[Nov 25 10:38:54] SECURITY[4193] res_security_log.c: SecurityEvent="%s",EventTV="x",'
            'Severity="Error",Service="%s",EventVersion="1",AccountID="%s",SessionID="97bf",'
            'LocalAddress="IPV4/UDP/198.18.33.10/5060",RemoteAddress="%s"%s'
            % (event_name, service, account, remote, tail))


@pytest.fixture
def alert(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "logger").write_text('#!/bin/sh\nshift 4\necho "$*"\n')
    (fake / "logger").chmod(0o755)

    def run(ip, lines):
        log = tmp_path / "security.log"
        log.write_text("\n".join(lines) + "\n")
        proc = subprocess.run(["sh", str(HELPER), ip, "5", str(log)], capture_output=True, text=True,
                              check=True, env={"PATH": "%s:/usr/bin:/bin" % fake})
        return proc.stdout
    return run


def test_the_alert_names_the_accounts_that_failed_from_that_address(alert):
    text = alert(PHONES, [
        event("1002", "IPV4/UDP/198.18.33.1/15061", "ChallengeResponseFailed"),
        event("1003", "IPV4/UDP/198.18.33.19/15061"),   # another address, not a prefix match
        event("1004", "IPV4/UDP/198.18.33.1/15062", "SuccessfulAuth"),
    ])
    assert "address 198.18.33.1: 5 authentication failures for account(s) 1002 - not banned" in text


def test_an_account_is_not_blamed_on_an_address_the_sender_wrote(alert):
    text = alert(PHONES, [
        # The address only in attacker text (a Call-ID, a repeated field), the sender elsewhere.
        event("evil", "IPV4/UDP/198.18.33.9/15061").replace('SessionID="97bf"', 'SessionID="/198.18.33.1/"'),
        event('x",RemoteAddress="IPV4/TCP/198.18.33.1/1', "IPV4/TCP/198.18.33.9/4", service="AMI"),
    ])
    assert "account(s) unknown- not banned" in text


def test_account_names_are_shown_in_safe_characters(alert):
    text = alert(PHONES, [event("$(reboot);<b>" + "x" * 60, "IPV4/UDP/198.18.33.1/15061")])
    assert "account(s) ??reboot???b?" in text
    assert "$(" not in text and "x" * 34 not in text


def test_ipv6_phones(alert):
    line = event("1003", "IPV6/UDP/2001:db8::1/15061")
    assert "account(s) 1003 -" in alert("2001:db8::1", [line])
