"""The checks every console write starts with: the role, the reason, and nobody acting on their own account."""
from django.contrib.auth.models import User

from exchange.accounts.roles import ADMIN, user_has_role
from exchange.errors import ExchangeError


def check_admin(actor: User) -> None:
    """Refuse (403) anyone who is not an admin; the views check it too."""
    if not user_has_role(actor, ADMIN):
        raise ExchangeError("forbidden", "only admins can do this", status=403)


def check_reason(reason: str | None) -> str:
    """The stripped reason, required: it goes into the audit log."""
    text = (reason or "").strip()
    if not text:
        raise ExchangeError("reason_required", "give a reason: it goes into the audit log")
    return text


def check_not_own_account(actor: User, beneficiary_id: object, doing: str) -> None:
    """Refuse (``own_account``, 403) an admin acting on their own account: another admin must."""
    if beneficiary_id == actor.pk:
        raise ExchangeError("own_account", f"you cannot {doing} your own account: another admin must", status=403)
