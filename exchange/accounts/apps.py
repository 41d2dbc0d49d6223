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
        # Permissions exist only after migrate has run, so roles are synced on post_migrate.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts_sync_roles")
