"""A trunk on TLS with SRTP, as more carriers want now, keeps its boundary and its calls.

The operator moves the lab trunk to the carrier's TLS port with SDES-SRTP (a TLS transport with a
certificate on each side, the trunk's transport and contact, media_encryption = sdes on both
ends; the carrier listens on UDP 5060 and TLS 5061 only and takes the PBX's calls with SRTP
only), and runs the role. The trunk keeps its transport line, followed by the loop's empty one,
so its INVITEs loop over UDP through the guard while its copy dials the carrier over TLS; an
inbound call keeps its TLS connection for the PBX's BYE. Afterwards the PBX and the carrier get
their files back and restart (a transport leaves a running Asterisk only when it stops).
"""
import base64
import datetime
import ipaddress
import types

import pytest

from conftest import (
    LAB_BOUNDARY_INSTANCE, PBX_VOICE, active_channels, carrier_records, harden, log_length, reset_guard_state,
    wait_for)
from test_trunk_boundary import (
    BLOCKED_FORMS, MESSAGES, assert_each_blocked_form_was_refused_on_the_trunk_leg,
    assert_no_blocked_call_reached_the_carrier, asterisk_cli, originate, wait_for_every_verdict)

CARRIER_VOICE = "198.51.100.20"
PJSIP = "/etc/asterisk/pjsip.conf"
OWN_PJSIP = "/etc/asterisk/pjsip_voipguard.conf"
# The TLS transport each side gets (the operator's on the PBX; the trunk's lines follow its aors line).
CARRIER_TLS_TRANSPORT = """
[transport-tls]
type = transport
protocol = tls
bind = 0.0.0.0:5061
method = tlsv1_2
cert_file = /etc/asterisk/keys/lab-tls.crt
priv_key_file = /etc/asterisk/keys/lab-tls.key
"""
# The lab's certificates are self-signed: the PBX does not check the carrier's.
PBX_TLS_TRANSPORT = CARRIER_TLS_TRANSPORT + "verify_server = no\n"
# On the PBX, run by python3: the trunk as the operator moves it to TLS and SRTP.
MOVE_THE_TRUNK_TO_TLS = r"""
import re
path = "/etc/asterisk/pjsip.conf"
text = open(path).read()
text = re.sub(r"(?m)^(\[carrier\]\ntype = endpoint\n(?:.+\n)*?aors = carrier\n)",
              r"\1transport = transport-tls\nmedia_encryption = sdes\n", text, count=1)
text = re.sub(r"(?m)^contact = sip:198\.51\.100\.20:5060$", r"contact = sip:198.51.100.20:5061\\;transport=tls",
              text, count=1)
assert text.count("transport = transport-tls") == 1 and "5061" in text, text
open(path, "w").write(text + TRANSPORT)
"""
# On the carrier: its PBX endpoint takes SRTP only.
CARRIER_SRTP_ONLY = r"""
import re
path = "/etc/asterisk/pjsip.conf"
text = open(path).read()
text = re.sub(r"(?m)^(\[pbx\]\ntype = endpoint\n(?:.+\n)*?direct_media = no\n)", r"\1media_encryption = sdes\n",
              text, count=1)
assert "media_encryption = sdes" in text, text
open(path, "w").write(text + TRANSPORT)
"""


def self_signed(address):
    """(certificate, key) in PEM for a lab host's voice address, made here with cryptography (which
    ansible-core depends on): the lab image has no openssl command."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=7))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), False)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def install_tls(host, address, edit, transport):
    """The host's certificate, then its pjsip.conf edited (saved first) and Asterisk restarted."""
    certificate, key = self_signed(address)
    host.check_output("install -d -o asterisk -g asterisk -m 0750 /etc/asterisk/keys")
    for suffix, pem, mode in (("crt", certificate, "0644"), ("key", key, "0600")):
        path = "/etc/asterisk/keys/lab-tls.%s" % suffix
        # Not check_output: its error would print the command, and with it the private key.
        written = host.run("umask 077 && echo %s | base64 -d > %s && chown asterisk: %s && chmod %s %s",
                           base64.b64encode(pem).decode(), path, path, mode, path).rc
        assert written == 0, "could not write %s on the lab host" % path
    host.check_output("cp -p %s %s.vgtest-tls", PJSIP, PJSIP)
    host.check_output("python3 -c %s", "TRANSPORT = %r\n%s" % (transport, edit))
    restart_asterisk(host)


def restart_asterisk(host):
    host.check_output("systemctl restart asterisk")
    assert wait_for(lambda: "transport-udp" in host.run("asterisk -rx 'pjsip show transports'").stdout, 30)


@pytest.fixture(scope="module")
def tls_trunk(lab, lab_inventory):
    pbx, carrier = lab("pbx"), lab("carrier")
    pbx.check_output("cp -p %s %s.vgtest-tls", OWN_PJSIP, OWN_PJSIP)
    try:
        install_tls(carrier, CARRIER_VOICE, CARRIER_SRTP_ONLY, CARRIER_TLS_TRANSPORT)
        install_tls(pbx, PBX_VOICE, MOVE_THE_TRUNK_TO_TLS, PBX_TLS_TRANSPORT)
        yield types.SimpleNamespace(pbx=pbx, carrier=carrier, run=harden(lab_inventory))
    finally:
        for host, paths in ((pbx, (PJSIP, OWN_PJSIP)), (carrier, (PJSIP,))):
            for path in paths:
                host.run("test -f %s.vgtest-tls && mv %s.vgtest-tls %s", path, path, path)
            host.run("rm -rf /etc/asterisk/keys/lab-tls.crt /etc/asterisk/keys/lab-tls.key")
            restart_asterisk(host)


@pytest.fixture
def looped_tls_trunk(tls_trunk):
    if LAB_BOUNDARY_INSTANCE:
        pytest.skip("the boundary instance dials over UDP only: test_the_instance_refuses_a_tls_trunk judges it")
    assert tls_trunk.run.returncode == 0, tls_trunk.run.stdout[-3000:]
    return tls_trunk


def shown(host, endpoint, option):
    """An option's value as the running Asterisk shows it ("" when empty)."""
    for line in asterisk_cli(host, "pjsip show endpoint %s" % endpoint).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == option:
            return value.strip()
    raise AssertionError("pjsip show endpoint %s shows no %s" % (endpoint, option))


def test_a_tls_trunk_loops_over_udp_and_its_copy_keeps_tls(looped_tls_trunk):
    pbx = looped_tls_trunk.pbx
    assert shown(pbx, "carrier", "outbound_proxy").startswith("sip:carrier@127.0.0.1:5060")
    assert shown(pbx, "carrier", "transport") == ""
    assert shown(pbx, "voipguard-trunk-carrier", "transport") == "transport-tls"
    assert shown(pbx, "voipguard-trunk-carrier", "media_encryption") == "sdes"
    # The operator's line is still there, before the loop's.
    lines = [line.strip() for line in pbx.check_output("sed -n '/^\\[carrier\\]$/,/^$/p' %s", PJSIP).splitlines()]
    assert "transport = transport-tls" in lines and "transport =" in lines, lines
    assert lines.index("transport = transport-tls") < lines.index("transport ="), lines


def test_no_blocked_destination_reaches_a_carrier_on_tls_and_a_national_call_does(looped_tls_trunk, unique_number):
    """The carrier takes the PBX's calls on TLS 5061 with SRTP only (none on UDP 5061): a national
    call it records came through the copy over TLS."""
    pbx, carrier = looped_tls_trunk.pbx, looped_tls_trunk.carrier
    reset_guard_state(pbx)
    recorded, logged = len(carrier_records(carrier)), log_length(pbx, MESSAGES)
    for number in BLOCKED_FORMS + [unique_number, "112"]:
        originate(pbx, "PJSIP/%s@carrier" % number)
    wait_for_every_verdict(pbx, carrier, recorded, logged, [unique_number, "112"])
    assert_no_blocked_call_reached_the_carrier(carrier, recorded, unique_number)
    assert_each_blocked_form_was_refused_on_the_trunk_leg(pbx, logged)


def test_the_pbx_hangs_up_an_inbound_tls_call_at_the_carrier_too(looped_tls_trunk):
    """The PBX answers the carrier's call and hangs up after a second: its BYE must reach the
    carrier over the call's TLS connection (with the trunk's transport set to UDP it was lost,
    and the carrier's side stayed up)."""
    pbx, carrier = looped_tls_trunk.pbx, looped_tls_trunk.carrier
    for priority, application in ((1, "Answer()"), (2, "Wait(1)"), (3, "Hangup()")):
        asterisk_cli(pbx, "dialplan add extension 5555,%d,%s into from-carrier replace" % (priority, application))
    recorded = len(carrier_records(carrier))
    asterisk_cli(carrier, "channel originate PJSIP/pbx/sip:5555@%s:5061;transport=tls application Wait 20"
                 % PBX_VOICE, check=False)
    assert wait_for(lambda: len(carrier_records(carrier)) > recorded, 10), "the carrier's call did not end in 10 s"
    (record,) = carrier_records(carrier)[recorded:]
    assert record["disposition"] == "ANSWERED" and int(record["duration"]) <= 5, record
    assert active_channels(carrier) == 0


def test_the_instance_refuses_a_tls_trunk_before_changing_anything(tls_trunk):
    if not LAB_BOUNDARY_INSTANCE:
        pytest.skip("a lab run with the boundary instance (VOIPGUARD_LAB_BOUNDARY_INSTANCE=1) judges this")
    assert tls_trunk.run.returncode != 0
    assert "the boundary instance dials carriers over UDP only" in tls_trunk.run.stdout
