from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    from exchange.accounts.roles import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "exchange.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from exchange.accounts import events, sessions  # noqa: F401 - connect the auth signal receivers

        # Permissions exist only once each app's post_migrate has run, so the roles are synced
        # after every app's (it is idempotent and cheap); the last run sees every permission.
        post_migrate.connect(_sync_roles, dispatch_uid="accounts_sync_roles")
