"""Pages for signing up and the landing page. Login, logout and password change are Django's."""
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from exchange.accounts.forms import SignupForm
from exchange.accounts.services import user_create
from exchange.errors import ExchangeError
from exchange.markets.models import Market

_FIELD_FOR_CODE = {
    "invalid_username": "username",
    "username_taken": "username",
    "invalid_email": "email",
    "weak_password": "password1",
}


def home(request: HttpRequest) -> HttpResponse:
    markets = Market.objects.select_related("base", "quote").all()
    return render(request, "home.html", {"markets": markets})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ExchangeError as exc:
            form.add_error(_FIELD_FOR_CODE.get(exc.code), exc.message)
        else:
            login(request, user, backend="exchange.accounts.backends.ActiveProfileBackend")
            return redirect("home")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/signup.html", {"form": form}, status=status)
