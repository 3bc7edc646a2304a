# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge and generate SIP / AMI secrets. Pure functions: no files, no Ansible.

Strength is zxcvbn's estimate (Dropbox's guess-count model, also what sipvicious-style
dictionary attacks exploit), with one correction: the parts zxcvbn can only brute-force are
credited with the size of the character classes they draw from, not zxcvbn's flat 10 guesses a
character. A random secret is then judged by its real search space, while every part zxcvbn
explains (dictionary words, l33t, keyboard walks, sequences, repeats, dates) keeps zxcvbn's
guess count. Works with the Debian package
python3-zxcvbn 4.4.28 (the target) and PyPI zxcvbn 4.5.0 (the controller's tests).

Nothing here keeps a secret longer than a call: reuse is found through keyed digests
(HMAC with a per-run random key), and results carry reason codes and rounded bits only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import math
import os
import secrets
import string

try:
    from zxcvbn import zxcvbn as _zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS as _FREQUENCY_LISTS
    HAS_ZXCVBN = True
    ZXCVBN_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module with missing_required_lib
    HAS_ZXCVBN = False
    ZXCVBN_IMPORT_ERROR = exc

# Defaults of the policy. 80 bits against an online attack: Asterisk answers each digest
# guess over the network; even an unthrottled 1,000 guesses/s (five times what sipvicious
# reached in the lab, before fail2ban) for 10 years is 3.2e11 guesses, about 2^38. Finding
# an 80-bit secret needs on average 2^79 guesses, 2^41 times more: hopeless, and still out of
# reach offline for a captured digest at 1e10 MD5/s (2^79 / 1e10 s = 1.9 million years).
DEFAULT_MIN_LENGTH = 16
DEFAULT_MIN_ENTROPY_BITS = 80

# What SIP phones accept everywhere (web UIs, provisioning XML, DTMF-less keypads):
# letters and digits only, no quoting problems in pjsip.conf either.
GENERATED_ALPHABET = string.ascii_letters + string.digits
# 28 characters of 62 = 166.7 bits. Kept at 28 (it was chosen when zxcvbn's flat 3.32 bits a
# character was the measure) so that secrets generated before do not change length.
DEFAULT_GENERATED_LENGTH = 28
# Character classes and their sizes, for the brute-force parts of a secret.
_CHARACTER_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
)
_OTHER_PRINTABLE = 33

# zxcvbn 4.5.0 refuses longer input (ValueError); 4.4.28 has no limit but gets slow.
# A prefix can only be weaker than the whole secret, so estimating it is conservative.
ZXCVBN_MAX_LENGTH = 72

# Names shorter than this are not looked for inside a secret ("1" would match everything).
MIN_NAME_LENGTH_FOR_CONTAINS = 3

# Reason codes (stable strings, used in module results and role messages).
REASON_EMPTY = "empty"
REASON_TOO_SHORT = "too_short"
REASON_LOW_ENTROPY = "low_entropy"
REASON_COMMON = "common_password"
# One code for "equals" and "contains": a separate "equals" code next to the username would
# publish the secret itself in every log that shows the finding.
REASON_NAME = "contains_name"
REASON_REUSED = "reused"

REASON_TEXT = {
    REASON_EMPTY: "no secret set",
    REASON_TOO_SHORT: "shorter than the minimum length",
    REASON_LOW_ENTROPY: "guessable (entropy below the minimum)",
    REASON_COMMON: "in the list of common passwords",
    REASON_NAME: "contains the username, extension or endpoint name",
    REASON_REUSED: "same secret as another account",
}


class PolicyError(ValueError):
    """The policy itself is unusable (e.g. no generated secret can satisfy it)."""


class SecretPolicy(object):
    """What a secret must satisfy."""

    def __init__(self, min_length=DEFAULT_MIN_LENGTH, min_entropy_bits=DEFAULT_MIN_ENTROPY_BITS,
                 forbid_dictionary=True, forbid_username=True, forbid_reuse=True,
                 generated_length=DEFAULT_GENERATED_LENGTH):
        self.min_length = int(min_length)
        self.min_entropy_bits = float(min_entropy_bits)
        self.forbid_dictionary = bool(forbid_dictionary)
        self.forbid_username = bool(forbid_username)
        self.forbid_reuse = bool(forbid_reuse)
        self.generated_length = int(generated_length)
        self.check_generatable()

    def check_generatable(self):
        """Refuse a policy that generated secrets could never pass (rotation would loop)."""
        if self.generated_length < self.min_length:
            raise PolicyError("generated_length %d is below min_length %d"
                              % (self.generated_length, self.min_length))
        per_char = math.log2(len(GENERATED_ALPHABET))
        scored = min(self.generated_length, ZXCVBN_MAX_LENGTH) * per_char
        # 20 % margin: random strings contain short dictionary words, scored lower.
        if scored * 0.8 < self.min_entropy_bits:
            needed = int(math.ceil(self.min_entropy_bits / 0.8 / per_char))
            raise PolicyError(
                "generated secrets of %d characters cannot reliably reach %s bits (about %.2f "
                "bits per random character); use a generated_length of at least %d"
                % (self.generated_length, _fmt_bits(self.min_entropy_bits), per_char, needed))


def _fmt_bits(bits):
    return ("%d" % bits) if float(bits).is_integer() else ("%.1f" % bits)


def require_zxcvbn():
    if not HAS_ZXCVBN:
        raise ImportError("zxcvbn is required (Debian: apt install python3-zxcvbn; PyPI: zxcvbn): %s"
                          % ZXCVBN_IMPORT_ERROR)


_COMMON_PASSWORDS = None


def common_passwords():
    """zxcvbn's ranked list of common passwords (30,000 entries, lower case), as a frozenset.

    Both 4.4.28 and 4.5.0 expose ``zxcvbn.frequency_lists.FREQUENCY_LISTS['passwords']`` as a
    list of strings; a comma-joined string is accepted too should a release switch to it.
    """
    global _COMMON_PASSWORDS  # pylint: disable=global-statement
    if _COMMON_PASSWORDS is None:
        require_zxcvbn()
        words = _FREQUENCY_LISTS["passwords"]
        if isinstance(words, str):
            words = words.split(",")
        _COMMON_PASSWORDS = frozenset(word.lower() for word in words if word)
    return _COMMON_PASSWORDS


def _zxcvbn_result(secret, names=()):
    require_zxcvbn()
    inputs = [name for name in names if name]
    return _zxcvbn(secret[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)


def character_space(secret):
    """How many characters an attacker brute-forcing this secret must try at each position:
    the sizes of the classes (lower, upper, digits, other printable) the secret draws from."""
    chars = set(secret)
    space = sum(size for members, size in _CHARACTER_CLASSES if chars & members)
    if any(not any(c in members for members, _ in _CHARACTER_CLASSES) for c in chars):
        space += _OTHER_PRINTABLE
    return max(space, 1)


def strength_bits(secret, zxcvbn_result):
    """log2 of the guesses needed: zxcvbn's match sequence, where each part zxcvbn explains
    keeps its own guess count and each part it can only brute-force counts log2(space) bits a
    character (zxcvbn counts 10 guesses a character there, which made a random 24-character
    secret of letters and digits 'weaker' than 80 bits). Never below zxcvbn's own figure."""
    zxcvbn_bits = math.log2(max(float(zxcvbn_result["guesses"]), 1.0))
    per_char = math.log2(character_space(secret))
    bits = 0.0
    for match in zxcvbn_result.get("sequence") or []:
        if match.get("pattern") == "bruteforce":
            bits += len(match.get("token", "")) * per_char
        else:
            bits += math.log2(max(float(match.get("guesses") or 1), 1.0))
    return max(bits, zxcvbn_bits)


def entropy_bits(secret, names=()):
    """Estimated bits (see strength_bits). ``names`` (username, extension...) count as known words."""
    if not secret:
        return 0.0
    return strength_bits(secret[:ZXCVBN_MAX_LENGTH], _zxcvbn_result(secret, names))


def is_common_password(secret, zxcvbn_result=None):
    """In zxcvbn's common password list, also when only capitalised, reversed or l33t-spelled
    ("P@ssw0rd"): zxcvbn then explains the whole secret by one 'passwords' dictionary match."""
    if not secret:
        return False
    if secret.lower() in common_passwords():
        return True
    if zxcvbn_result is None:
        zxcvbn_result = _zxcvbn_result(secret)
    sequence = zxcvbn_result.get("sequence") or []
    return (len(sequence) == 1 and sequence[0].get("pattern") == "dictionary"
            and sequence[0].get("dictionary_name") == "passwords"
            and len(sequence[0].get("token", "")) == len(secret[:ZXCVBN_MAX_LENGTH]))


def contains_name(secret, names):
    """True when the secret equals or contains one of the names (case-insensitive)."""
    if not secret:
        return False
    lowered = secret.lower()
    for name in names:
        if not name:
            continue
        name = str(name).lower()
        if lowered == name or (len(name) >= MIN_NAME_LENGTH_FOR_CONTAINS and name in lowered):
            return True
    return False


def evaluate(secret, names=(), policy=None):
    """Judge one secret. Returns {'reasons': [codes], 'entropy_bits': int, 'passed': bool}.

    Never returns anything derived from the secret other than the rounded bit count.
    Reuse is judged across accounts by ``find_reused``, not here.
    """
    policy = policy or SecretPolicy()
    names = [str(name) for name in names if name]
    if not secret:
        return dict(reasons=[REASON_EMPTY], entropy_bits=0, passed=False)
    result = _zxcvbn_result(secret, names)
    bits = strength_bits(secret[:ZXCVBN_MAX_LENGTH], result)
    reasons = []
    if len(secret) < policy.min_length:
        reasons.append(REASON_TOO_SHORT)
    if bits < policy.min_entropy_bits:
        reasons.append(REASON_LOW_ENTROPY)
    if policy.forbid_dictionary and is_common_password(secret, result):
        reasons.append(REASON_COMMON)
    if policy.forbid_username and contains_name(secret, names):
        reasons.append(REASON_NAME)
    return dict(reasons=reasons, entropy_bits=int(round(bits)), passed=not reasons)


class SecretDigester(object):
    """Keyed digests for comparing secrets without keeping them. The key is random per
    instance, so a digest is worthless outside this run (no offline dictionary attack)."""

    def __init__(self, key=None):
        self._key = key if key is not None else os.urandom(32)

    def digest(self, secret):
        if secret is None:
            return None
        return hmac.new(self._key, secret.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def find_reused(digests):
    """``digests``: {account id: digest or None}. Returns {account id: sorted other ids that
    share its secret} for every account whose secret is used by another one."""
    by_digest = {}
    for account, digest in digests.items():
        if digest is not None:
            by_digest.setdefault(digest, []).append(account)
    reused = {}
    for accounts in by_digest.values():
        if len(accounts) > 1:
            for account in accounts:
                reused[account] = sorted(a for a in accounts if a != account)
    return reused


def generate_secret(policy=None, names=(), max_attempts=20):
    """A new random secret of ``policy.generated_length`` letters and digits that passes the
    policy (redrawn in the rare case zxcvbn finds words in it)."""
    policy = policy or SecretPolicy()
    for _ in range(max_attempts):
        candidate = "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(policy.generated_length))
        if evaluate(candidate, names, policy)["passed"]:
            return candidate
    raise PolicyError("no generated secret of %d characters passed the policy in %d attempts"
                      % (policy.generated_length, max_attempts))


def describe(reasons):
    """Human-readable reason list, e.g. for a role's failure message."""
    return ", ".join(REASON_TEXT.get(code, code) for code in reasons)
