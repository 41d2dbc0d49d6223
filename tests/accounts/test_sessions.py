"""Each user's sessions come from an index of their own (issue 20, item 9): the account page
never reads other users' session rows, however many there are; sessions end one by one or all
but this one."""
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from exchange.accounts.models import UserSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def other_users_sessions(users, count: int) -> None:
    """``count`` live sessions of other users, written straight into Django's session table."""
    store = SessionStore()
    expires = timezone.now() + timezone.timedelta(days=7)
    Session.objects.bulk_create([
        Session(session_key=f"other{n:035d}", expire_date=expires,
                session_data=store.encode({"_auth_user_id": str(users[n % len(users)].pk)}))
        for n in range(count)])


def test_the_account_page_reads_only_the_users_own_sessions(client, make_user, django_assert_max_num_queries):
    me = make_user("kim")
    others = [make_user() for _ in range(3)]
    other_users_sessions(others, 3000)
    client.login(username="kim", password=PASSWORD)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("web:account"))
    assert page.status_code == 200
    assert page.content.decode().count("this one") == 1
    session_reads = [q["sql"] for q in queries.captured_queries
                     if 'FROM "django_session"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")]
    # Django's own read of this session, by its key, and the page's read of kim's own keys.
    assert session_reads
    assert all('"django_session"."session_key"' in sql.split("WHERE", 1)[-1] for sql in session_reads), session_reads
    assert [s["key"] for s in page.context["sessions"]] == [client.session.session_key]
    assert me.web_sessions.count() == 1


def test_sessions_end_one_by_one_or_all_but_this_one(make_user):
    user = make_user("lou")
    mine, phone, laptop = Client(), Client(HTTP_USER_AGENT="Phone"), Client(HTTP_USER_AGENT="Laptop")
    for c in (mine, phone, laptop):
        assert c.login(username="lou", password=PASSWORD)
    sessions = mine.get(reverse("web:account")).context["sessions"]
    assert len(sessions) == 3
    phone_row = UserSession.objects.get(session_key=phone.session.session_key)
    make_user("ned")
    intruder = Client()
    intruder.login(username="ned", password=PASSWORD)
    intruder.post(reverse("session_end", args=[phone_row.pk]))  # not ned's: as unknown as a missing one
    assert phone.get(reverse("web:account")).status_code == 200

    mine.post(reverse("session_end", args=[phone_row.pk]))
    assert phone.get(reverse("web:account")).status_code == 302  # signed out
    assert laptop.get(reverse("web:account")).status_code == 200

    mine.post(reverse("web:sessions_end_others"))
    assert laptop.get(reverse("web:account")).status_code == 302
    assert mine.get(reverse("web:account")).status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [
        mine.session.session_key]


def test_logging_out_removes_the_session_from_the_index(client, make_user):
    make_user("ola")
    client.login(username="ola", password=PASSWORD)
    assert UserSession.objects.filter(user__username="ola").count() == 1
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user__username="ola").exists()
