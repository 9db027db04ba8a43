"""The charger's Basic-auth password, which OCPP 1.6 calls the AuthorizationKey
(Security Profiles 1 and 2 of the Security Whitepaper): its configuration key
name, the rule a password must satisfy, how it is hidden, and how it is
stored.

The key travels in a ChangeConfiguration CALL, and a charger may (wrongly)
report it in a GetConfiguration answer. Everything the central system keeps
or shows of those messages (the message log, command records, API answers,
the charger's stored configuration) goes through `redact` first, so the key
is never written anywhere but as a hash.

Secrets the central system must read back (a simulator's key and client
private key) are encrypted at rest instead (`secret_encrypt`, below).
"""

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ImproperlyConfigured

from ocpp_app.lib.keyfiles import KeyFileError, key_file

AUTHORIZATION_KEY = "AuthorizationKey"
# What is kept and shown in place of a key.
REDACTED = "********"
PASSWORD_MIN, PASSWORD_MAX = 16, 40

_FOLDED_KEY = AUTHORIZATION_KEY.casefold()
RULE = (
    f"{AUTHORIZATION_KEY} (the Basic-auth password) must be {PASSWORD_MIN}-{PASSWORD_MAX} "
    "printable ASCII characters without spaces"
)


class InvalidPassword(ValueError):
    """A password that breaks the AuthorizationKey rule."""


def is_authorization_key(key: object) -> bool:
    """Configuration key names are case-insensitive (OCPP 1.6 CiString): any
    spelling of AuthorizationKey names the Basic-auth password."""
    return isinstance(key, str) and key.casefold() == _FOLDED_KEY


def password_validate(password: object) -> None:
    """Raise InvalidPassword unless `password` is 16-40 printable ASCII
    characters (0x21-0x7E, so no spaces): what a charger must be able to send
    in a Basic-auth header, and what we must be able to check."""
    if not isinstance(password, str):
        raise InvalidPassword(f"{RULE}; this one is not text")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidPassword(f"{RULE}; this one has {len(password)} characters")
    if any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in password):
        raise InvalidPassword(f"{RULE}; this one has a space, a control or a non-ASCII character")


# An AuthorizationKey is a 16-40 character machine secret checked on every
# reconnect, not a person's password: Django's hashers spend ~100 ms of CPU
# per check on purpose, so a storm of 10 000 authenticated chargers (or an
# attacker guessing) cost minutes of CPU. A salted HMAC-SHA256 costs
# microseconds and is fit for high-entropy keys; passwords stored by the
# Django hasher are still accepted and re-stored this way on their next
# successful login (`secret_needs_rehash`).
FAST_SCHEME = "hmac_sha256"
_SALT_BYTES = 16


def secret_hash(password: str) -> str:
    """The stored form of a password: `hmac_sha256$<salt hex>$<digest hex>`."""
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{FAST_SCHEME}${salt.hex()}${_digest(salt, password)}"


def _digest(salt: bytes, password: str) -> str:
    return hmac.new(salt, password.encode("utf-8"), hashlib.sha256).hexdigest()


def secret_is_fast(password_hash: str) -> bool:
    """Whether checking against this hash is cheap enough for the event loop."""
    return password_hash.startswith(FAST_SCHEME + "$")


def secret_needs_rehash(password_hash: str) -> bool:
    return bool(password_hash) and not secret_is_fast(password_hash)


# Passwords verified against a slow (legacy) hash, for the life of the
# process: their check is not paid again before the hash is migrated.
# password hash -> SHA-256 of the password that matched it; bounded.
_verified: dict[str, bytes] = {}
_VERIFIED_MAX = 100_000


def secret_verify(*, password: str, password_hash: str) -> bool:
    """Constant-time check of a password against its stored hash; no hash
    never matches."""
    if not password_hash:
        return False
    if secret_is_fast(password_hash):
        try:
            _, salt, digest = password_hash.split("$")
            salt_bytes = bytes.fromhex(salt)
        except ValueError:  # a damaged hash
            return False
        return hmac.compare_digest(_digest(salt_bytes, password), digest)
    fingerprint = hashlib.sha256(password.encode("utf-8")).digest()
    known = _verified.get(password_hash)
    if known is not None:
        return hmac.compare_digest(known, fingerprint)
    if not check_password(password, password_hash):
        return False
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[password_hash] = fingerprint
    return True


def _holds_key(item: object) -> bool:
    return isinstance(item, dict) and is_authorization_key(item.get("key")) and "value" in item


def redact(action: str, payload: Any) -> Any:
    """`payload` of an `action` message, in either direction, as it may be kept
    or shown: the value of an AuthorizationKey replaced by REDACTED in a
    ChangeConfiguration request and in a GetConfiguration answer's
    configurationKey list. Anything else is returned as it is (the same
    object, so the common case costs nothing)."""
    if action == "ChangeConfiguration":
        if _holds_key(payload):
            return {**payload, "value": REDACTED}
    elif action == "GetConfiguration" and isinstance(payload, dict):
        keys = payload.get("configurationKey")
        if isinstance(keys, list) and any(_holds_key(item) for item in keys):
            cleaned = [{**item, "value": REDACTED} if _holds_key(item) else item for item in keys]
            return {**payload, "configurationKey": cleaned}
    elif action in _CERTIFICATE_FIELDS and isinstance(payload, dict):
        # A certificate pasted together with its private key: the key is never kept.
        field = _CERTIFICATE_FIELDS[action]
        text = payload.get(field)
        if isinstance(text, str) and "PRIVATE KEY" in text:
            return {**payload, field: REDACTED}
    return payload


# The certificate text of the certificate commands, by action.
_CERTIFICATE_FIELDS = {"InstallCertificate": "certificate", "CertificateSigned": "certificateChain"}


def redact_details(action: str, details: Any) -> Any:
    """Error details of an answer to `action`: an answer that failed the schema
    is carried in details["response"], and is redacted like any answer."""
    if isinstance(details, dict) and "response" in details:
        response = redact(action, details["response"])
        if response is not details["response"]:
            return {**details, "response": response}
    return details


# -- secrets at rest ---------------------------------------------------------------------
# Secrets the central system must be able to read back (a simulator's
# Basic-auth key and client private key) are stored encrypted with Fernet
# (AES-128-CBC with HMAC-SHA256). The key is never in the database: it is
# OCPP_SECRETS_KEY, else DATA_DIR/secret.key, made on first use (back it up:
# without it the stored secrets cannot be read). A value without the prefix
# is legacy clear text: read as it is, and encrypted on its next save or by
# `manage.py encrypt_secrets`.
ENCRYPTED_PREFIX = "fernet:"
SECRETS_KEY_FILE = "secret.key"


class SecretUnreadable(ValueError):
    """An encrypted value this key cannot read (another key, or damaged)."""


def secrets_key_path() -> Path:
    return Path(settings.DATA_DIR) / SECRETS_KEY_FILE


_fernets: dict[bytes, Fernet] = {}


def _fernet() -> Fernet:
    configured = settings.OCPP_SECRETS_KEY
    try:
        key = configured.encode() if configured else key_file(secrets_key_path(), Fernet.generate_key)
    except (OSError, KeyFileError) as error:
        raise ImproperlyConfigured(
            f"the key for secrets at rest cannot be read or made in {secrets_key_path()} ({error}): "
            "set OCPP_SECRETS_KEY or make OCPP_DATA_DIR writable"
        ) from None
    fernet = _fernets.get(key)
    if fernet is None:
        try:
            fernet = _fernets[key] = Fernet(key)
        except ValueError:
            where = "OCPP_SECRETS_KEY" if configured else str(secrets_key_path())
            raise ImproperlyConfigured(
                f"{where} is not a Fernet key (32 bytes, URL-safe base64); make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return fernet


def secret_is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX)


def secret_encrypt(value: str) -> str:
    """The stored form of a secret: `fernet:<token>`; "" stays "" (no secret),
    and an already encrypted value is returned as it is."""
    if not value or secret_is_encrypted(value):
        return value
    return ENCRYPTED_PREFIX + _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def secret_decrypt(token: str) -> str:
    """The secret of a stored value; a value without the prefix is legacy
    clear text and is returned as it is."""
    if not secret_is_encrypted(token):
        return token
    try:
        return _fernet().decrypt(token[len(ENCRYPTED_PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with this key (was OCPP_SECRETS_KEY or "
            f"{SECRETS_KEY_FILE} changed?); enter the secret again"
        ) from error
