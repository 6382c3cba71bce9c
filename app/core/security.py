"""Password hashing, opaque tokens, CSRF tokens and signed cookies.

Passwords: Argon2id through pwdlib (the successor of passlib used by FastAPI's own docs), with
transparent re-hashing when parameters change. Session ids and API tokens are random 256-bit values;
only their SHA-256 digest is stored, so a copy of the database does not hand out live sessions.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import get_settings

SESSION_COOKIE = "shixun_session"
CSRF_COOKIE = "shixun_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

_password_hash = PasswordHash((Argon2Hasher(),))
# Hashing a throwaway password makes "no such user" cost as much as "wrong password".
_DUMMY_HASH = _password_hash.hash("shixun-timing-equalizer")


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Returns (valid, new_hash): new_hash is set when the stored hash should be upgraded."""
    if not password_hash:
        _password_hash.verify(password, _DUMMY_HASH)
        return False, None
    try:
        return _password_hash.verify_and_update(password, password_hash)
    except Exception:
        return False, None


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _secret() -> bytes:
    return get_settings().secret_key.get_secret_value().encode("utf-8")


def csrf_token_for(binding: str) -> str:
    """Signed double-submit token bound to the session (or the anonymous CSRF cookie)."""
    return _csrf_token(_secret(), binding)


@functools.lru_cache(maxsize=4096)  # every page asks for its session's token; an HMAC each time showed in profiles
def _csrf_token(secret: bytes, binding: str) -> str:
    return hmac.new(secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_token_valid(binding: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token_for(binding), str(token))


def signer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt=f"shixun:{purpose}")


def sign(purpose: str, value: Any) -> str:
    return signer(purpose).dumps(value)


def unsign(purpose: str, value: str | None) -> Any:
    if not value:
        return None
    try:
        return signer(purpose).loads(value)
    except BadSignature:
        return None


def _fernet(purpose: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"shixun:{purpose}".encode()).derive(_secret())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, value: Any) -> str:
    """Encrypts and authenticates a JSON value (Fernet: AES-CBC + HMAC) with a key derived from the
    secret key for this purpose: for secrets that must wait in the database, e.g. in a job payload."""
    return _fernet(purpose).encrypt(json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")


def unseal(purpose: str, token: str) -> Any:
    """Raises ValueError when the token was altered, sealed for another purpose or with another key."""
    try:
        return json.loads(_fernet(purpose).decrypt(token.encode("ascii")))
    except (InvalidToken, UnicodeEncodeError, ValueError) as exc:
        raise ValueError("not a sealed value, or sealed with another key") from exc


def generate_password(length: int = 12) -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
