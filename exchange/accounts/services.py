"""Writes for users, profiles and API keys."""
import ipaddress
import secrets

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.accounts.crypto import encrypt_secret
from exchange.accounts.models import ApiKey, ApiKeyScope, Profile, UserStatus
from exchange.accounts.roles import ADMIN, TRADER, roles_sync
from exchange.errors import ExchangeError


@transaction.atomic
def user_create(*, username: str, email: str, password: str, role: str = TRADER) -> User:
    """Sign a user up: the login, a profile and the role's group (the ledger account comes with
    the user: ``exchange.ledger.receivers``).

    Raises ``invalid_username``, ``invalid_email``, ``weak_password`` or ``username_taken``.
    """
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ExchangeError("invalid_username", "choose a username of 1 to 150 characters")
    try:
        validate_email(email)
    except ValidationError:
        raise ExchangeError("invalid_email", "enter a valid e-mail address") from None
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ExchangeError("weak_password", " ".join(exc.messages)) from None
    if User.objects.filter(username__iexact=username).exists():
        raise ExchangeError("username_taken", "that username is taken", status=409)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ExchangeError("username_taken", "that username is taken", status=409) from None
    Profile.objects.create(user=user)  # the ledger opens the user's account itself (ledger/receivers.py)
    group = Group.objects.filter(name=role).first()
    if group is None:
        roles_sync()
        group = Group.objects.get(name=role)
    user.groups.add(group)
    if role == ADMIN:
        # Admins also use Django's admin for raw data, within their group's permissions.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


def profile_for(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def user_set_status(*, user: User, status: str) -> Profile:
    """Freeze or unfreeze a user. A frozen user cannot log in, trade or use API keys."""
    if status not in UserStatus.values:
        raise ExchangeError("invalid_status", f"status must be one of {', '.join(UserStatus.values)}")
    profile = Profile.objects.select_for_update().get(pk=profile_for(user).pk)
    profile.status = status
    profile.save(update_fields=["status"])
    return profile


def api_key_validate(*, scopes: list[str], label: str = "", allowed_ips: list[str] | None = None) -> None:
    """Check a key's scopes, label and allowed addresses (before anything is spent on it, such as
    a two-factor code). Raises ``invalid_scopes``, ``invalid_label`` or ``invalid_allowed_ips``."""
    unknown = set(scopes) - set(ApiKeyScope.values)
    if not scopes or unknown:
        raise ExchangeError("invalid_scopes", f"scopes must be among {', '.join(ApiKeyScope.values)}")
    if len(label or "") > 64:
        raise ExchangeError("invalid_label", "the label has at most 64 characters")
    for ip in allowed_ips or []:
        try:
            ipaddress.ip_address(str(ip).strip())
        except ValueError:
            raise ExchangeError("invalid_allowed_ips",
                                f"{str(ip)[:60]!r} is not an IP address (give addresses separated by commas)") from None


def api_key_create(
    *, user: User, scopes: list[str], label: str = "", allowed_ips: list[str] | None = None
) -> tuple[ApiKey, str]:
    """Create an API key; return it with its secret, which is never shown again."""
    api_key_validate(scopes=scopes, label=label, allowed_ips=allowed_ips)
    allowed_ips = [str(ipaddress.ip_address(str(ip).strip())) for ip in allowed_ips or []]
    secret = secrets.token_hex(32)
    api_key = ApiKey.objects.create(
        user=user,
        key=secrets.token_hex(16),
        secret_encrypted=encrypt_secret(secret),
        label=label[:64],
        scopes=sorted(set(scopes)),
        allowed_ips=allowed_ips or [],
    )
    return api_key, secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; requests signed with it are refused from now on."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
