"""The compliance review pages under ``/surveillance/``: thin views over selectors and services.

Only the ``compliance`` role (and superusers) may use them; admins and traders get 403.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from exchange.accounts.roles import COMPLIANCE, user_has_role
from exchange.audit.context import client_ip
from exchange.errors import ExchangeError
from surveillance import charts, forms, selectors, services
from surveillance.models import Alert, BacktestRun, Case, Disposition, ReviewEvent


def compliance_only(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_has_role(request.user, COMPLIANCE):
            raise PermissionDenied("surveillance is for compliance officers")
        return view(request, *args, **kwargs)

    return wrapped


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"surveillance/{template}", {"section": template.split(".")[0], **context}, status=status)


def _do(request, form_class, action, *, back: str, done: str):
    """Validate the POST, run the service, flash the outcome, go back."""
    form = form_class(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        messages.error(request, f"Not done: {errors}")
        return redirect(back)
    try:
        action(form.cleaned_data)
    except ExchangeError as exc:
        messages.error(request, f"Not done ({exc.code}): {exc.message}")
        return redirect(back)
    messages.success(request, done)
    return redirect(back)


def _user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------------- queue


def _filtered(request):
    form = forms.AlertFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    alerts = selectors.alert_list(**filters)
    if filters.get("assignee") == "me":
        alerts = alerts.filter(assignee=request.user)
    return form, alerts


@compliance_only
@require_GET
def alert_queue(request: HttpRequest) -> HttpResponse:
    form, alerts = _filtered(request)
    page = Paginator(alerts, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _render(request, "queue.html", {"form": form, "page": page, "query": query.urlencode(),
                                           "open_cases": Case.objects.filter(status="open")})


@compliance_only
@require_GET
def alert_csv(request: HttpRequest) -> StreamingHttpResponse:
    _, alerts = _filtered(request)
    return _csv_response(selectors.alert_csv_rows(alerts.select_related("closed_by")), "alerts.csv")


# ---------------------------------------------------------------------- alert detail


@compliance_only
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("assignee", "case", "closed_by"), pk=alert_id)
    window = selectors.alert_window(alert)
    first, last = selectors.window_sequences(alert)
    chart, book = None, None
    if first is not None and last is not None:  # both or neither: one aggregate
        _, samples = selectors.replay(market=alert.market, upto=last, sample_from=window[0])
        chart = charts.price_chart(samples=samples, accounts=alert.accounts, start=alert.start, end=alert.end,
                                   window=window)
        try:
            seq = int(request.GET.get("seq") or alert.detected_sequence or last)
        except ValueError:
            seq = last
        seq = max(first, min(seq, last))
        book = selectors.book_at(market=alert.market, sequence=seq, accounts=alert.accounts)
    return _render(request, "alert.html", {
        "alert": alert, "evidence": selectors.alert_evidence(alert), "chart": chart, "book": book,
        "first_seq": first, "last_seq": last, "window": window,
        "history": alert.history.all(), "reviewers": selectors.reviewers(),
        "dispositions": Disposition.choices, "open_cases": Case.objects.filter(status="open"),
        "accounts": _account_names(alert.accounts),
    })


def _account_names(accounts) -> list[dict]:
    ids = [a for a in accounts if isinstance(a, int) or str(a).isdigit()]
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids).select_related("beneficial_owner")}
    out = []
    for account in accounts:
        user = users.get(int(account)) if str(account).isdigit() else None
        owner = getattr(user, "beneficial_owner", None) if user else None
        out.append({"id": account, "username": user.username if user else "", "owner": owner.owner if owner else ""})
    return out


def _back(alert_id: int) -> str:
    return reverse("surveillance:alert", args=[alert_id])


@compliance_only
@require_POST
def alert_assign(request, alert_id: int):
    return _do(request, forms.AssignForm, lambda d: services.alert_assign(
        actor=request.user, alert_id=alert_id, assignee=_user(d["assignee"]), comment=d["comment"], ip=client_ip(request)),
        back=_back(alert_id), done="Assigned.")


@compliance_only
@require_POST
def alert_comment(request, alert_id: int):
    return _do(request, forms.CommentForm, lambda d: services.alert_comment(
        actor=request.user, alert_id=alert_id, comment=d["comment"], ip=client_ip(request)),
        back=_back(alert_id), done="Comment added.")


@compliance_only
@require_POST
def alert_escalate(request, alert_id: int):
    return _do(request, forms.EscalateForm, lambda d: services.alert_escalate(
        actor=request.user, alert_id=alert_id, comment=d["comment"], assignee=_user(d["assignee"]), ip=client_ip(request)),
        back=_back(alert_id), done="Escalated.")


@compliance_only
@require_POST
def alert_close(request, alert_id: int):
    return _do(request, forms.CloseForm, lambda d: services.alert_close(
        actor=request.user, alert_id=alert_id, disposition=d["disposition"], comment=d["comment"], ip=client_ip(request)),
        back=_back(alert_id), done="Closed.")


@compliance_only
@require_POST
def alert_case(request, alert_id: int):
    def action(d):
        if d.get("case"):
            return services.case_add_alert(actor=request.user, case_id=d["case"], alert_id=alert_id, ip=client_ip(request))
        return services.case_create(actor=request.user, title=d.get("title") or f"Alert {alert_id}",
                                    alert_ids=[alert_id], ip=client_ip(request))

    return _do(request, forms.CaseAddForm, action, back=_back(alert_id), done="Added to the case.")


@compliance_only
@require_POST
def alerts_to_case(request):
    """From the queue: the ticked alerts into an existing or a new case."""
    ids = [int(v) for v in request.POST.getlist("alert") if v.isdigit()]
    if not ids:
        messages.error(request, "Tick at least one alert.")
        return redirect("surveillance:queue")
    try:
        case_id = request.POST.get("case")
        if case_id and case_id.isdigit():
            for alert_id in ids:
                services.case_add_alert(actor=request.user, case_id=int(case_id), alert_id=alert_id, ip=client_ip(request))
            case = Case.objects.get(pk=int(case_id))
        else:
            case = services.case_create(actor=request.user, title=request.POST.get("title") or "New case",
                                        alert_ids=ids, ip=client_ip(request))
    except ExchangeError as exc:
        messages.error(request, f"Not done ({exc.code}): {exc.message}")
        return redirect("surveillance:queue")
    messages.success(request, f"{len(ids)} alert(s) in case {case.pk}.")
    return redirect("surveillance:case", case.pk)


# ---------------------------------------------------------------------- cases


@compliance_only
@require_GET
def case_list(request):
    return _render(request, "cases.html", {"cases": selectors.case_list(status=request.GET.get("status", ""))})


@compliance_only
@require_GET
def case_csv(request):
    cases = selectors.case_list(status=request.GET.get("status", "")).select_related("closed_by")
    return _csv_response(selectors.case_csv_rows(cases), "cases.csv")


def _case_context(case_id: int) -> dict:
    case = get_object_or_404(Case.objects.select_related("assignee", "created_by", "closed_by"), pk=case_id)
    alerts = list(case.alerts.select_related("assignee", "closed_by").order_by("start"))
    history = ReviewEvent.objects.filter(case=case) | ReviewEvent.objects.filter(alert__in=alerts)
    return {"case": case, "alerts": [{"alert": a, "evidence": selectors.alert_evidence(a),
                                      "accounts": _account_names(a.accounts)} for a in alerts],
            "history": history.order_by("created_at", "id"), "dispositions": Disposition.choices}


@compliance_only
@require_GET
def case_detail(request, case_id: int):
    return _render(request, "case.html", _case_context(case_id))


@compliance_only
@require_GET
def case_report(request, case_id: int):
    """A page a regulator can read (what, who, when, evidence, decision); print it to PDF."""
    return _render(request, "report.html", {**_case_context(case_id), "generated_at": timezone.now(),
                                            "generated_by": request.user})


@compliance_only
@require_POST
def case_comment(request, case_id: int):
    return _do(request, forms.CommentForm, lambda d: services.case_comment(
        actor=request.user, case_id=case_id, comment=d["comment"], ip=client_ip(request)),
        back=reverse("surveillance:case", args=[case_id]), done="Comment added.")


@compliance_only
@require_POST
def case_close(request, case_id: int):
    return _do(request, forms.CloseForm, lambda d: services.case_close(
        actor=request.user, case_id=case_id, disposition=d["disposition"], comment=d["comment"], ip=client_ip(request)),
        back=reverse("surveillance:case", args=[case_id]), done="Case closed.")


# ---------------------------------------------------------------------- parameters, owners, metrics


@compliance_only
def parameters(request):
    if request.method == "POST":
        typology = request.POST.get("typology", "")
        table = {row["typology"]: row for row in selectors.parameters_table()}
        if typology not in table:
            raise Http404("no such detector")
        values = {}
        try:
            for field in table[typology]["fields"]:
                raw = request.POST.get(field["name"], "").strip()
                if raw == "" or raw == str(field["default"]):
                    continue
                parsers: dict[str, Callable[[str], object]] = {
                    "int": int, "float": float, "bool": lambda v: v.lower() in ("1", "true", "yes", "on")}
                kind = parsers.get(field["type"], str)
                values[field["name"]] = kind(raw)
            services.parameters_set(actor=request.user, typology=typology, values=values,
                                    comment=request.POST.get("comment", ""), ip=client_ip(request))
        except ValueError as exc:
            messages.error(request, f"Not saved: {exc}")
        except ExchangeError as exc:
            messages.error(request, f"Not saved ({exc.code}): {exc.message}")
        else:
            messages.success(request, f"Parameters of {typology} saved; the real-time consumer uses them within seconds.")
        return redirect(f"{reverse('surveillance:parameters')}#{typology}")
    return _render(request, "parameters.html", {"table": selectors.parameters_table()})


@compliance_only
def owners(request):
    from surveillance.models import BeneficialOwner

    if request.method == "POST":
        def action(d):
            value = d["user"].strip()
            users = get_user_model().objects
            user = users.filter(pk=int(value)).first() if value.isdigit() else users.filter(username=value).first()
            if user is None:
                raise ExchangeError("not_found", f"no user {value}")
            services.owner_set(actor=request.user, user=user, owner=d["owner"], note=d["note"], ip=client_ip(request))

        return _do(request, forms.OwnerForm, action, back=reverse("surveillance:owners"), done="Ownership saved.")
    return _render(request, "owners.html", {"form": forms.OwnerForm(),
                                            "rows": BeneficialOwner.objects.select_related("user")})


@compliance_only
@require_GET
def metrics(request):
    return _render(request, "metrics.html", {"rows": selectors.precision_by_detector()})


# ---------------------------------------------------------------------- back-test


@compliance_only
def backtest(request):
    form = forms.BacktestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["params"] == "current":
                params = selectors.parameters_current()
            elif d["params"] == "custom":
                params = json.loads(d["custom"] or "{}")
            else:
                params = {}
            if d["events"]:
                text = io.TextIOWrapper(d["events"].file, encoding="utf-8")
                events: Iterator[dict] = (json.loads(line) for line in text if line.strip())
                source = f"upload {d['events'].name}"
            else:
                market = d["market"].upper()
                events = selectors.journal_events(market=market, since=d["since"], until=d["until"])
                source = f"journal {market} {d['since'] or 'start'} .. {d['until'] or 'now'}"
            run = services.backtest_run(actor=request.user, events=events, source=source, params=params,
                                        ip=client_ip(request))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            messages.error(request, f"Not run: not JSON: {exc}")
        except ExchangeError as exc:
            messages.error(request, f"Not run ({exc.code}): {exc.message}")
        else:
            return redirect("surveillance:backtest_run", run.pk)
    return _render(request, "backtest.html", {"form": form, "runs": BacktestRun.objects.select_related("created_by")[:20],
                                              "markets": selectors.journal_markets()})


@compliance_only
@require_GET
def backtest_run(request, run_id: int):
    run = get_object_or_404(BacktestRun, pk=run_id)
    if request.GET.get("format") == "jsonl":
        body = "".join(json.dumps(line) + "\n" for line in run.alerts)
        response = HttpResponse(body, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="backtest-{run.pk}-alerts.jsonl"'
        return response
    return _render(request, "backtest_run.html", {"run": run})

