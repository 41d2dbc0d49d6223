"""API secrets are encrypted under EXCHANGE_API_SECRET_KEY only: never silently under SECRET_KEY."""
import pytest
from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured

from exchange.accounts.crypto import decrypt_secret, encrypt_secret


def test_no_key_no_encryption(settings):
    settings.EXCHANGE_API_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="EXCHANGE_API_SECRET_KEY"):
        encrypt_secret("s3cret")


def test_the_key_is_its_own_not_the_session_key(settings):
    settings.EXCHANGE_API_SECRET_KEY = "k" * 40
    token = encrypt_secret("s3cret")
    settings.SECRET_KEY = "rotated-session-key-" * 3  # rotating SECRET_KEY leaves API secrets readable
    assert decrypt_secret(token) == "s3cret"
    settings.EXCHANGE_API_SECRET_KEY = "j" * 40
    with pytest.raises(InvalidToken):
        decrypt_secret(token)
