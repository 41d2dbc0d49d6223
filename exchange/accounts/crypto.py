"""Encryption at rest for API secrets.

HMAC verification needs the secret itself, so it cannot be hashed; it is encrypted with Fernet
under a key derived from ``EXCHANGE_API_SECRET_KEY``. A stolen database alone therefore does not
reveal any secret. The key is its own setting, never ``SECRET_KEY`` behind the scenes: in
production the settings refuse to start without it (exchange/infra/safety.py); development's
default is derived from the development ``SECRET_KEY`` in settings, so keys made before stay
readable there.
"""
import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    material = getattr(settings, "EXCHANGE_API_SECRET_KEY", "")
    if not material:
        raise ImproperlyConfigured("EXCHANGE_API_SECRET_KEY is not set: API secrets cannot be encrypted or read")
    key = base64.urlsafe_b64encode(hashlib.sha256(f"api-secret:{material}".encode()).digest())
    return Fernet(key)


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
