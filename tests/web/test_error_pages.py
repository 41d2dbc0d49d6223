"""Error pages outside /api/ are the site's own (layout, navigation, a way back), through a real
Daphne with DEBUG off: Django's bare "Not Found" and "Server Error (500)" pages, and the empty
body of a 405, are never what a visitor sees."""
import pytest
import requests

from tests.api.production import PRODUCTION_ENV, browser, collect_static, start_production

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    return collect_static(tmp_path_factory.mktemp("static"))


@pytest.fixture
def web(start_web, settings, static_root, market):
    assert PRODUCTION_ENV["DJANGO_DEBUG"] == "false"
    return start_production(start_web, settings, static_root)


def looks_like_the_site(response) -> bool:
    return 'class="topbar"' in response.text and 'href="/markets/"' in response.text


def test_error_pages_are_the_sites_own(web, make_user):
    missing = requests.get(web.url + "/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert looks_like_the_site(missing)

    session = browser(web, make_user(USD="100"))
    bad = session.get(web.url + "/trade/BTC%00-USD/", timeout=10)  # a NUL byte in the symbol was a 500
    assert bad.status_code == 400
    assert "Bad request" in bad.text
    assert looks_like_the_site(bad)

    wrong_method = session.get(web.url + "/account/sessions/end-others/", timeout=10)  # POST only
    assert wrong_method.status_code == 405
    assert "Method not allowed" in wrong_method.text
    assert wrong_method.headers["Allow"] == "POST"
    assert looks_like_the_site(wrong_method)

    unknown_asset = session.get(web.url + "/wallet/?asset=NOPE", timeout=10)
    assert unknown_asset.status_code == 400
    assert looks_like_the_site(unknown_asset)

    expired = requests.post(web.url + "/accounts/login/", data={"username": "a", "password": "b"}, timeout=10)
    assert expired.status_code == 403  # no CSRF token: the site's page, not Django's
    assert "Reload the page" in expired.text
    assert looks_like_the_site(expired)
