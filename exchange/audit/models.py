"""The append-only audit log, and the record of logins.

An ``AuditEntry`` is written in the same transaction as the change it describes, and is never
changed or removed afterwards: ``save`` refuses updates, ``delete`` (on an entry or a queryset)
raises, and a PostgreSQL trigger (migration 0002) refuses UPDATE and DELETE from anywhere, raw
SQL included. The actor is stored by id and name, not as a foreign key, so that no cascade
from deleting a user can ever touch the log.
"""
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry."""


class AuditQuerySet(models.QuerySet):
    def update(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only")

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only")

    _raw_delete = delete
    _update = update
    bulk_update = update
    update_or_create = update


class AuditSource(models.TextChoices):
    CONSOLE = "console", "Console"
    ADMIN = "admin", "Django admin"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    """Who did what, when, from where, to which object, with the state before and after and why."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=AuditSource.choices, default=AuditSource.CONSOLE)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.actor_username or 'system'} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the audit log is append-only: entries cannot be changed")
        kwargs.pop("force_update", None)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only: entries cannot be deleted")


class LoginRecord(models.Model):
    """One login attempt on the site (successful or not), for the console's user page."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="login_records")
    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="login_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.created_at:%Y-%m-%d %H:%M}"
