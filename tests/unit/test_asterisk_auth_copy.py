"""asterisk_auth_copy: the trunk boundary instance gets the trunks' credentials on the host, as
Asterisk resolves them (includes, templates, additions), and the secrets never show in a diff."""
import pytest

import asterisk_auth_copy
from ansible.module_utils.asterisk_conf import load, mask_secrets

FILES = {
    "/etc/asterisk/pjsip.conf": "[global]\ntype=global\n#include pjsip_trunks.conf\n",
    "/etc/asterisk/pjsip_trunks.conf": (
        "[auth-tpl](!)\ntype=auth\nauth_type=userpass\n"
        "[carrier-auth](auth-tpl)\nusername=4930123\npassword=s3cr\\;et\n"
        "[carrier-auth](+)\nrealm=sip.example.net\n"
        "[other-auth]\ntype=auth\nusername=x\npassword=y\n"),
}


def configs():
    return load("/etc/asterisk/pjsip.conf", read=FILES.__getitem__,
                files=lambda pattern: [pattern] if pattern in FILES else [])


def test_an_auth_is_copied_as_asterisk_resolves_it_from_an_included_file():
    text = asterisk_auth_copy.render(configs(), ["carrier-auth"], header=["managed"])
    assert text == ("; managed\n\n[carrier-auth]\ntype = auth\nauth_type = userpass\npassword = s3cr\\;et\n"
                    "realm = sip.example.net\nusername = 4930123\n")
    # Asterisk reads the escaped ';' back as the password it was
    copied = load("/etc/x.conf", read=lambda _p: text, files=lambda _p: [])
    assert [s.get("password") for s in copied[0].sections if s.header is not None] == ["s3cr;et"]
    assert "other-auth" not in text  # only what is named


def test_a_name_no_auth_defines_stops_the_task():
    with pytest.raises(asterisk_auth_copy.AuthCopyError, match="auth carrier is not defined"):
        asterisk_auth_copy.render(configs(), ["carrier"])


def test_the_diff_shows_no_secret():
    text = asterisk_auth_copy.render(configs(), ["carrier-auth"])
    masked = mask_secrets(text, "pjsip_auths.conf")
    assert "s3cr" not in masked and "password = ********" in masked and "username = 4930123" in masked
