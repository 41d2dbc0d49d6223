"""The trader pages through Django's test client: who sees what, the forms and their errors,
the CSV export, password reset by e-mail, and the static files served by the app."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(client, make_user, market):
    user = make_user("tina", USD="1000", BTC="1")
    client.force_login(user)
    return user


def test_markets_is_the_home_page_and_lists_every_market(client, market):
    response = client.get("/")
    assert response.status_code == 200
    assert b'data-symbol="BTC-USD"' in response.content
    assert b"web/markets.js" in response.content


def test_trading_page_carries_the_market_rules_and_no_inline_script_or_style(client, market):
    response = client.get(reverse("web:trade", args=["BTC-USD"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '"tick_size": "0.01"' in html
    assert '"lot_size": "0.0001"' in html
    assert "style=" not in html
    assert "<style" not in html
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all('type="application/json"' in s or "src=" in s for s in scripts), scripts
    assert "Log in" in html  # anonymous: no order form, an invitation instead
    assert 'id="order-form"' not in html


def test_trade_link_goes_to_a_trading_market(client, db):
    assert client.get("/trade/")["Location"] == "/markets/"


def test_trading_page_lowercase_symbol_redirects_and_unknown_is_404(client, market):
    assert client.get("/trade/")["Location"] == "/trade/BTC-USD/"
    assert client.get("/trade/btc-usd/").status_code == 302
    assert client.get("/trade/NOPE-USD/").status_code == 404


def test_signed_in_trader_gets_the_order_form_with_labelled_inputs(client, trader):
    html = client.get(reverse("web:trade", args=["BTC-USD"])).content.decode()
    assert 'id="order-form"' in html
    for input_id in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, f"no label for #{input_id}"


def test_private_pages_need_a_login(client, market):
    for name in ("web:wallet", "web:account", "web:ledger_csv"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_wallet_shows_balances_and_ledger_and_exports_csv(client, trader):
    response = client.get(reverse("web:wallet"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-asset="USD"' in html
    assert "1000" in html
    csv_response = client.get(reverse("web:ledger_csv"))
    body = b"".join(csv_response.streaming_content).decode()
    assert csv_response["Content-Type"] == "text/csv"
    lines = body.strip().splitlines()
    assert lines[0] == "id,time,asset,bucket,amount,kind,reference"
    assert any(",USD,available,1000," in line for line in lines[1:])


def test_ledger_pages(client, trader, settings):
    from exchange.ledger.services import deposit_credit
    from exchange.markets.models import Asset

    usd = Asset.objects.get(symbol="USD")
    for i in range(60):
        deposit_credit(user=trader, asset=usd, amount="1", reference=f"t:{i}")
    first = client.get(reverse("web:wallet")).content.decode()
    assert "Older →" in first
    second = client.get(reverse("web:wallet") + "?page=2").content.decode()
    assert "← Newer" in second
    assert "Older →" not in second


def test_faucet_only_in_demo_mode(client, trader, settings):
    settings.EXCHANGE_DEMO_MODE = False
    assert b"Demo faucet" not in client.get(reverse("web:wallet")).content
    settings.EXCHANGE_DEMO_MODE = True
    html = client.get(reverse("web:wallet")).content.decode()
    assert "Demo faucet" in html
    response = client.post(reverse("web:wallet"), {"action": "faucet", "faucet-asset": "BTC", "faucet-amount": "0.5"})
    assert response.status_code == 302
    from exchange.ledger.selectors import balance_list

    assert {b.asset.symbol: b.available for b in balance_list(user=trader)}["BTC"] == 1.5
    too_much = client.post(reverse("web:wallet"), {"action": "faucet", "faucet-asset": "BTC", "faucet-amount": "50"})
    assert too_much.status_code == 400
    assert b"at most" in too_much.content


def test_withdrawal_needs_two_factor_and_stays_requested(client, trader):
    data = {"action": "withdraw", "withdraw-asset": "USD", "withdraw-amount": "10", "withdraw-address": "bank:123",
            "withdraw-otp_token": ""}
    response = client.post(reverse("web:wallet"), data)
    assert response.status_code == 400
    assert b"two-factor" in response.content
    from exchange.accounts.security import totp_setup_start
    from exchange.ledger.models import Withdrawal

    device = totp_setup_start(user=trader)
    device.confirmed = True
    device.save()
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.oath import totp

    session = client.session  # as the security page does on confirming: this session proved the device
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    from exchange.accounts.models import Profile

    Profile.objects.filter(user=trader).update(kyc_level=1)  # level 0 may not withdraw (tests/ledger/test_kyc_limits.py)
    code = f"{totp(device.bin_key):06d}"
    response = client.post(reverse("web:wallet"), {**data, "withdraw-otp_token": code})
    assert response.status_code == 302
    withdrawal = Withdrawal.objects.get(user=trader)
    assert withdrawal.status == "requested"
    assert "Requested" in client.get(reverse("web:wallet")).content.decode()


def test_account_page_links_security_pages_and_lists_sessions(client, trader):
    html = client.get(reverse("web:account")).content.decode()
    for name in ("password_change", "security", "api_keys"):
        assert f'href="{reverse(name)}"' in html
    assert "this one" in html
    response = client.post(reverse("web:sessions_end_others"))
    assert response.status_code == 302


def test_password_reset_by_email(client, make_user):
    make_user("rita")
    response = client.post(reverse("web:password_reset"), {"email": "rita@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    bad = client.post(form_page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})
    assert bad.status_code == 200
    assert b"errors" in bad.content
    new = "Another-horse-42x"
    good = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert good.status_code == 302
    assert client.login(username="rita", password="Another-horse-42x")


def test_login_form_errors_and_reset_link(client, make_user):
    make_user("sam")
    response = client.post(reverse("login"), {"username": "sam", "password": "wrong"})
    assert response.status_code == 200
    assert b"errors" in response.content
    assert reverse("web:password_reset").encode() in client.get(reverse("login")).content
    assert client.login(username="sam", password=PASSWORD)


def test_static_files_are_served_with_the_right_types(client):
    js = client.get("/static/web/trade.js")
    assert js.status_code == 200
    assert js["Content-Type"].startswith("text/javascript")  # WhiteNoise adds the charset
    vendor = client.get("/static/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs")
    assert vendor.status_code == 200
    assert vendor["Content-Type"].startswith("text/javascript")
    assert client.get("/static/css/site.css")["Content-Type"].startswith("text/css")
    assert client.get("/static/../exchange/settings.py").status_code == 404
    assert client.get("/static/web/nope.js").status_code == 404
