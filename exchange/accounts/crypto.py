"""Encryption at rest for API secrets.

HMAC verification needs the secret itself, so it cannot be hashed; it is encrypted with Fernet
under a key derived from ``EXCHANGE_API_SECRET_KEY`` (falling back to ``SECRET_KEY``). A stolen
database alone therefore does not reveal any secret.
"""
import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    material = getattr(settings, "EXCHANGE_API_SECRET_KEY", "") or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(f"api-secret:{material}".encode()).digest())
    return Fernet(key)


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
