"""The three roles, as Django groups, each with only the permissions it needs.

- ``trader``: every signed-up user; trades through the site and the API, no admin access.
- ``admin``: runs markets, users and funds.
- ``compliance``: reviews surveillance; reads markets and users, changes none of them.
"""
from django.contrib.auth.models import Group, Permission

TRADER, ADMIN, COMPLIANCE = "trader", "admin", "compliance"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    TRADER: [],
    ADMIN: [
        "markets.add_asset", "markets.change_asset", "markets.view_asset",
        "markets.add_market", "markets.change_market", "markets.view_market",
        "accounts.view_profile", "accounts.change_profile", "accounts.view_apikey", "accounts.change_apikey",
        "auth.view_user",
        "ledger.view_ledgeraccount", "ledger.view_balance", "ledger.view_ledgerentry", "ledger.view_posting",
        "ledger.view_withdrawal", "ledger.change_withdrawal",
    ],
    COMPLIANCE: [
        "markets.view_asset", "markets.view_market",
        "accounts.view_profile", "auth.view_user",
        "ledger.view_balance", "ledger.view_ledgerentry",
    ],
}


def roles_sync() -> None:
    """Create the role groups and set exactly their permissions (safe to run any number of times)."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


def user_has_role(user, role: str) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.groups.filter(name=role).exists()))
