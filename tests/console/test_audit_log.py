"""The audit log: append-only in the model and in PostgreSQL, fed by the console and by Django
admin, searchable, exportable as CSV; logins recorded for the user page."""
import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction

from exchange.audit.models import AppendOnlyError, AuditEntry, LoginRecord
from exchange.audit.services import audit_record
from tests.console.conftest import verified_login

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def entry(admin):
    return audit_record(actor=admin, ip="198.51.100.1", action="market.status_change", object_type="markets.market",
                        object_id="BTC-USD", before={"status": "trading"}, after={"status": "halted"}, reason="incident")


def test_an_entry_records_who_when_where_what_before_after_and_why(entry, admin):
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor_id, stored.actor_username, stored.ip) == (admin.pk, admin.username, "198.51.100.1")
    assert (stored.action, stored.object_type, stored.object_id) == ("market.status_change", "markets.market", "BTC-USD")
    assert (stored.before, stored.after, stored.reason) == ({"status": "trading"}, {"status": "halted"}, "incident")
    assert stored.created_at is not None


def test_the_model_refuses_updates_and_deletes(entry):
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == "incident"


@pytest.mark.parametrize("sql", ["UPDATE audit_auditentry SET reason = 'x' WHERE id = %s",
                                 "DELETE FROM audit_auditentry WHERE id = %s"])
def test_postgresql_refuses_updates_and_deletes_even_in_raw_sql(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).reason == "incident"


def test_django_admin_changes_are_audited_and_the_log_is_read_only_there(db, assets, admin):
    from django.test import Client

    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = verified_login(Client(REMOTE_ADDR="192.0.2.5"), admin)
    usd = assets["USD"]
    response = client.post(f"/admin/markets/asset/{usd.pk}/change/", {"symbol": "USD", "name": "Dollar", "decimals": 8})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(source="admin")
    assert (entry.action, entry.object_type, entry.object_id) == ("admin.change", "markets.asset", str(usd.pk))
    assert (entry.actor_username, entry.ip) == (admin.username, "192.0.2.5")
    assert "Name" in entry.after["change"]
    assert (entry.before["name"], entry.after["values"]["name"]) == ("US dollar", "Dollar")
    # A user changed in Django admin: before and after, never the password hash.
    target = admin.__class__.objects.create_user("zed", "zed@example.com", PASSWORD)
    client.post(f"/admin/auth/user/{target.pk}/change/", {
        "username": "zed", "email": "zed@example.org", "is_active": "on", "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00"})
    changed = AuditEntry.objects.get(source="admin", object_type="auth.user")
    assert "password" not in changed.before
    assert (changed.before["email"], changed.after["values"]["email"]) == ("zed@example.com", "zed@example.org")
    # The audit log itself: listed, but no change or delete in Django admin.
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_search_filters_and_csv_export(admin_client, admin, admin2):
    audit_record(actor=admin, ip="192.0.2.1", action="user.freeze", object_type="auth.user", object_id=7, reason="fraud, case 12")
    audit_record(actor=admin2, ip="192.0.2.2", action="market.status_change", object_type="markets.market",
                 object_id="BTC-USD", after={"status": "halted"}, reason="incident")
    page = admin_client.get("/console/audit/", {"q": "fraud"})
    assert page.status_code == 200
    assert [e.action for e in page.context["entries"]] == ["user.freeze"]
    assert [e.action for e in admin_client.get("/console/audit/", {"actor": "bob_admin"}).context["entries"]] == [
        "market.status_change"]
    assert [e.object_id for e in admin_client.get("/console/audit/", {"action": "market."}).context["entries"]] == ["BTC-USD"]

    response = admin_client.get("/console/audit.csv", {"object_type": "markets.market"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["action"] == "market.status_change"
    assert rows[0]["actor_username"] == "bob_admin"
    assert rows[0]["ip"] == "192.0.2.2"
    assert rows[0]["after"] == '{"status": "halted"}'


def test_logins_are_recorded_with_address_and_result(db, make_user, client):
    user = make_user("frank")
    client.post("/accounts/login/", {"username": "frank", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    client.post("/accounts/login/", {"username": "frank", "password": PASSWORD}, REMOTE_ADDR="192.0.2.9",
                HTTP_USER_AGENT="pytest")
    records = list(LoginRecord.objects.filter(user=user).order_by("id").values_list("succeeded", "ip", "user_agent"))
    assert records == [(False, "192.0.2.9", ""), (True, "192.0.2.9", "pytest")]
