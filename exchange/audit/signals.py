"""Hooks that feed the audit log from outside the console: Django admin changes and logins.

Django admin writes a ``LogEntry`` for every add, change and delete, inside the transaction of
the change; each one is copied into the audit log there. During a Django admin request, the row
is read just before it is saved or deleted, so the entry carries the values before and after
(secrets and password hashes left out).
"""
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save, pre_delete, pre_save

from exchange.audit.context import admin_snapshots, client_ip, current_ip

_ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}
SECRET_FIELDS = {"password", "secret_encrypted"}


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _row(model, pk) -> dict | None:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in SECRET_FIELDS]
    return model._default_manager.filter(pk=pk).values(*fields).first()


def _remember_before(sender, instance, **kwargs) -> None:
    snapshots = admin_snapshots()
    if snapshots is None or sender is LogEntry or instance.pk is None or sender._meta.app_label == "audit":
        return
    key = (_label(sender), str(instance.pk))
    if key not in snapshots:
        snapshots[key] = _row(sender, instance.pk)


def _on_admin_log_entry(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    from exchange.audit.services import audit_record

    if not created:
        return
    content_type = instance.content_type
    model = content_type.model_class() if content_type else None
    label = f"{content_type.app_label}.{content_type.model}" if content_type else ""
    before = (admin_snapshots() or {}).get((label, str(instance.object_id)))
    after = None
    if model is not None and instance.action_flag != DELETION and instance.object_id:
        after = _row(model, instance.object_id)
    audit_record(
        actor=instance.user,
        ip=current_ip(),
        action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        object_type=label,
        object_id=instance.object_id or "",
        before=before,
        after={"object": instance.object_repr, "change": instance.get_change_message(), "values": after},
        source="admin",
    )


def _on_login(sender, request, user, **kwargs) -> None:
    from exchange.audit.services import login_record

    login_record(user=user, username=user.get_username(), ip=client_ip(request) if request else None,
                 user_agent=request.headers.get("user-agent", "") if request else "", succeeded=True)


def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    from exchange.audit.services import login_record

    username = str(credentials.get("username", ""))
    user = get_user_model().objects.filter(username=username).first()
    login_record(user=user, username=username, ip=client_ip(request) if request else None,
                 user_agent=request.headers.get("user-agent", "") if request else "", succeeded=False)


def connect() -> None:
    pre_save.connect(_remember_before, dispatch_uid="audit_admin_before_save")
    pre_delete.connect(_remember_before, dispatch_uid="audit_admin_before_delete")
    post_save.connect(_on_admin_log_entry, sender=LogEntry, dispatch_uid="audit_admin_log_entry")
    user_logged_in.connect(_on_login, dispatch_uid="audit_login")
    user_login_failed.connect(_on_login_failed, dispatch_uid="audit_login_failed")
