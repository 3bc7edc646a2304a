"""Strong SIP secrets, proven with real SIP tools against the hardened lab PBX."""
from conftest import PBX_INTERNET, PBX_VOICE, lift_bans, sip_password, stored_credentials

PHONES = ["1001", "1002", "1003"]


def register(host, user, password, target=PBX_VOICE):
    result = host.run("SIP_PASSWORD=%s voipguard-register %s %s 60", password, target, user)
    return result.stdout.strip()


def test_every_factory_phone_secret_was_rotated_and_stored_on_the_controller():
    stored = stored_credentials()
    assert set(PHONES) <= set(stored)
    for phone in PHONES:
        assert stored[phone]["password"] != phone


def test_factory_secrets_are_refused(lab):
    # Tried by the attacker, who knows them: failed logins get a source banned, and the phones'
    # network must stay usable for the next test.
    attacker, pbx = lab("attacker"), lab("pbx")
    try:
        for extension in PHONES:
            assert register(attacker, extension, extension, PBX_INTERNET) == f"REFUSED {extension}"
    finally:
        lift_bans(pbx)


def test_rotated_credentials_register_from_a_real_sip_client(lab):
    phone = lab("admin")
    for extension in PHONES:
        assert register(phone, extension, sip_password(extension)) == f"REGISTERED {extension}"


def test_svcrack_with_1000_common_passwords_finds_no_secret_from_the_attacker(lab):
    out = lab("attacker").check_output("voipguard-crack %s 1001 30", PBX_INTERNET)
    assert out.startswith("NOT CRACKED 1001"), out


def test_the_secrets_alone_resist_the_full_dictionary(lab):
    # From the PBX's own loopback: no firewall, rate limit or ban in the way, so all 1,000
    # guesses reach Asterisk and only the secret's strength stands against them.
    out = lab("pbx").check_output("voipguard-crack 127.0.0.1 1002 60")
    assert out.startswith("NOT CRACKED 1002"), out
