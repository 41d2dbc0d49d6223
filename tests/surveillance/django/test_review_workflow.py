"""The compliance workflow: who may see it, assign, escalate, close only with a disposition,
cases, the append-only trail, CSV, the case report, parameters with history, metrics, back-test."""
import csv
import io
import json

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from exchange.audit.models import AppendOnlyError, AuditEntry
from surveillance import services
from surveillance.models import Alert, Case, ParameterVersion, ReviewEvent
from surveillance.realtime import Consumer

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(market, tape, make_user, reviewer, write_journal):
    """A real wash-trading alert raised by the consumer over a hand-written journal."""
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        services.owner_set(actor=reviewer, user=user, owner="desk-7")
    tape.at(40).ladder(make_user("mm").pk, "30000", levels=3, step="5")
    for i in range(3):
        tape.at(60 + 60 * i).cross(alice.pk, bob.pk, "30000", "0.1")
    write_journal(tape.events)
    consumer = Consumer(["BTC-USD"])
    while consumer.step()[0]:
        pass
    return Alert.objects.get()


PAGES = ["/surveillance/", "/surveillance/cases/", "/surveillance/parameters/", "/surveillance/owners/",
         "/surveillance/metrics/", "/surveillance/backtest/", "/surveillance/alerts.csv"]


def test_traders_and_admins_without_the_compliance_role_get_403(alert, clients, client):
    for role, visitor in clients.items():
        for url in [*PAGES, f"/surveillance/alerts/{alert.pk}/"]:
            assert visitor.get(url).status_code == 403, (role, url)
        response = visitor.post(f"/surveillance/alerts/{alert.pk}/close",
                                {"disposition": "false_positive", "comment": "not mine to close"})
        assert response.status_code == 403
    assert Alert.objects.get().status == "new"
    assert client.get("/surveillance/").status_code == 302  # anonymous: to the login page


def test_compliance_and_superusers_see_every_page(alert, reviewer_client, superuser_client):
    for visitor in (reviewer_client, superuser_client):
        for url in PAGES:
            assert visitor.get(url).status_code == 200, url


def test_the_alert_page_explains_shows_evidence_chart_and_replays_the_book(alert, reviewer_client):
    page = reviewer_client.get(f"/surveillance/alerts/{alert.pk}/").content.decode()
    assert alert.reason in page
    assert page.count('class="ev ev-trade"') == 2  # the wash trades up to the alert (the second), with times and sizes
    assert page.count('class="ev ev-order_accepted"') == 4
    assert "<svg" in page
    assert 'class="fill-dot mine"' in page
    assert 'class="order sell accepted"' in page
    assert "Book replay at sequence" in page
    # CSP: no inline script or style anywhere.
    assert "<script" not in page.split("</header>")[-1]
    assert "style=" not in page
    assert "<style" not in page
    # Replay at the first event of the ladder: one bid level and nothing else.
    first = reviewer_client.get(f"/surveillance/alerts/{alert.pk}/?seq=1").content.decode()
    assert "Book replay at sequence 1<" in first
    full = reviewer_client.get(f"/surveillance/alerts/{alert.pk}/?seq=6").content.decode()
    assert full.count('class="up"') == 3
    assert full.count('class="down"') == 3


def test_queue_filters_sorts_and_exports(alert, reviewer_client):
    def ids(query):
        page = reviewer_client.get(f"/surveillance/?{query}").content.decode()
        return page.count(f'href="/surveillance/alerts/{alert.pk}/"')

    assert ids("") == 1
    assert ids("typology=wash_trading&market=btc-usd&account=alice&min_score=0.5&status=open&sort=score") == 1
    assert ids("typology=spoofing") == 0
    assert ids("account=mm") == 0
    assert ids("min_score=1") == 0 or alert.score == 1
    assert ids(f"date_from={alert.start:%Y-%m-%d}&date_to={alert.start:%Y-%m-%d}") == 1
    assert ids("status=closed") == 0
    response = reviewer_client.get("/surveillance/alerts.csv?typology=wash_trading")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "typology", "market"]
    assert [r[0] for r in rows[1:]] == [str(alert.pk)]


def test_assign_escalate_and_close_only_with_a_disposition(alert, reviewer, senior, reviewer_client):
    url = f"/surveillance/alerts/{alert.pk}"
    reviewer_client.post(f"{url}/assign", {"assignee": reviewer.pk})
    alert.refresh_from_db()
    assert (alert.status, alert.assignee) == ("in_review", reviewer)
    reviewer_client.post(f"{url}/escalate", {"assignee": senior.pk, "comment": "same owner, three times in two minutes"})
    alert.refresh_from_db()
    assert (alert.status, alert.assignee) == ("escalated", senior)

    reviewer_client.post(f"{url}/close", {"comment": "looks fine"})  # no disposition
    reviewer_client.post(f"{url}/close", {"disposition": "true_positive", "comment": ""})  # no rationale
    reviewer_client.post(f"{url}/close", {"disposition": "maybe", "comment": "?"})  # not a disposition
    alert.refresh_from_db()
    assert alert.status == "escalated"

    response = reviewer_client.post(f"{url}/close", {"disposition": "true_positive", "comment": "Prearranged; STOR filed."},
                                    follow=True)
    assert b"Closed." in response.content
    alert.refresh_from_db()
    assert (alert.status, alert.disposition, alert.closed_by) == ("closed", "true_positive", reviewer)
    assert alert.closed_at is not None

    actions = list(alert.history.values_list("action", "actor_username"))
    assert actions == [("raised", ""), ("assign", "carol_compliance"), ("escalate", "carol_compliance"),
                       ("close", "carol_compliance")]
    audit = list(AuditEntry.objects.filter(object_type="surveillance.alert", object_id=str(alert.pk))
                 .order_by("id").values_list("action", flat=True))
    assert audit == ["surveillance.alert_assign", "surveillance.alert_escalate", "surveillance.alert_close"]
    # A closed alert cannot be changed again.
    reviewer_client.post(f"{url}/assign", {"assignee": ""})
    alert.refresh_from_db()
    assert alert.assignee == senior


def test_the_trail_cannot_be_edited_or_deleted(alert):
    entry = ReviewEvent.objects.get(alert=alert)
    entry.comment = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ReviewEvent.objects.all().delete()
    for sql in ("UPDATE surveillance_reviewevent SET comment = 'x'", "DELETE FROM surveillance_reviewevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert ReviewEvent.objects.get(alert=alert).comment == ""


def test_cases_group_alerts_close_them_and_give_a_report(alert, reviewer, reviewer_client):
    response = reviewer_client.post("/surveillance/alerts/to-case", {"alert": [alert.pk], "title": "Desk 7 washing"})
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/surveillance/cases/{case.pk}/"
    assert list(case.alerts.all()) == [alert]
    reviewer_client.post(f"/surveillance/cases/{case.pk}/comment", {"comment": "asked the desk for an explanation"})
    reviewer_client.post(f"/surveillance/cases/{case.pk}/close", {"disposition": "true_positive"})
    case.refresh_from_db()
    assert case.status == "open"  # no rationale, no closing
    reviewer_client.post(f"/surveillance/cases/{case.pk}/close",
                         {"disposition": "true_positive", "comment": "Wash trades between accounts of one owner."})
    case.refresh_from_db()
    alert.refresh_from_db()
    assert (case.status, case.disposition, case.closed_by) == ("closed", "true_positive", reviewer)
    assert (alert.status, alert.disposition) == ("closed", "true_positive")

    report = reviewer_client.get(f"/surveillance/cases/{case.pk}/report").content.decode()
    for text in ("Desk 7 washing", "True positive", "Wash trades between accounts of one owner.", alert.reason,
                 "alice", "bob", "desk-7", "asked the desk for an explanation", 'class="ev ev-trade"'):
        assert text in report, text
    rows = list(csv.reader(io.StringIO(b"".join(reviewer_client.get("/surveillance/cases.csv").streaming_content).decode())))
    assert rows[1][:4] == [str(case.pk), "Desk 7 washing", "closed", "true_positive"]
    metrics = reviewer_client.get("/surveillance/metrics/").content.decode()
    assert "<td>wash_trading</td><td>1</td><td>0</td><td>1</td><td>0</td><td>0</td>\n      <td>1.00</td>" in metrics


def test_parameters_are_edited_with_history(reviewer_client):
    response = reviewer_client.post("/surveillance/parameters/", {"typology": "wash_trading", "min_trades": "5",
                                                                  "window": "3600.0", "comment": "too noisy"}, follow=True)
    assert b"saved" in response.content
    version = ParameterVersion.objects.get()
    assert (version.typology, version.values, version.created_by.username) == (
        "wash_trading", {"min_trades": 5}, "carol_compliance")
    assert AuditEntry.objects.filter(action="surveillance.parameters_set", object_id="wash_trading").exists()
    page = reviewer_client.get("/surveillance/parameters/").content.decode()
    assert "too noisy" in page
    assert "{&#x27;min_trades&#x27;: 5}" in page
    reviewer_client.post("/surveillance/parameters/", {"typology": "wash_trading", "min_trades": "many"})
    assert ParameterVersion.objects.count() == 1


def test_backtest_from_the_ui_on_an_upload_and_on_the_journal(alert, tape, reviewer_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = "".join(json.dumps(e) + "\n" for e in tape.events).encode()
    response = reviewer_client.post("/surveillance/backtest/", {
        "events": SimpleUploadedFile("events.jsonl", body), "params": "custom",
        "custom": '{"wash_trading": {"min_trades": 2}}'})
    assert response.status_code == 302
    # The uploaded tape has no owners: the accounts are their own, nothing to find.
    run = reviewer_client.get(response["Location"]).content.decode()
    assert "0 alerts" in run
    response = reviewer_client.post("/surveillance/backtest/", {"market": "BTC-USD", "params": "current"})
    page = reviewer_client.get(response["Location"]).content.decode()
    assert "1 alerts" in page
    assert "wash_trading" in page
    jsonl = reviewer_client.get(response["Location"] + "?format=jsonl").content.decode().splitlines()
    assert json.loads(jsonl[0])["typology"] == "wash_trading"


def test_owners_page_links_accounts(reviewer_client, make_user):
    user = make_user("erin")
    reviewer_client.post("/surveillance/owners/", {"user": "erin", "owner": "fund-3", "note": "KYC 2024-11"})
    assert user.beneficial_owner.owner == "fund-3"
    reviewer_client.post("/surveillance/owners/", {"user": str(user.pk), "owner": ""})
    assert not type(user.beneficial_owner).objects.filter(user=user).exists()
