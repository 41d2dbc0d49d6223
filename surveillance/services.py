"""Writes for surveillance: raising alerts, the review workflow, cases, parameters, owners and
back-tests. Every review step writes a ``ReviewEvent`` (append-only) and an ``AuditEntry`` in the
same transaction."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from exchange.accounts.roles import COMPLIANCE, user_has_role
from exchange.audit.models import AuditSource
from exchange.audit.services import audit_record
from exchange.errors import ExchangeError
from surveillance.backtest import params_from_dict, run_backtest
from surveillance.detectors import DETECTORS
from surveillance.detectors import Alert as DetectedAlert
from surveillance.detectors.base import coerce_params
from surveillance.models import (
    Alert,
    AlertSource,
    AlertStatus,
    BacktestRun,
    BeneficialOwner,
    Case,
    Disposition,
    ParameterVersion,
    ReviewEvent,
)

# Two alerts of one typology, market and accounts that share evidence and are this close in
# time are one episode (the detector raised it again after a restart with a later start).
SAME_EPISODE_WITHIN = timedelta(hours=2)
MAX_BACKTEST_EVENTS = 2_000_000


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def alert_fingerprint(line: dict) -> str:
    """Stable across restarts: what the episode is, not when it was noticed."""
    key = json.dumps([line["typology"], line["market"], sorted(map(str, line["accounts"])), _dt(line["start"]).isoformat()])
    return hashlib.sha256(key.encode()).hexdigest()


def _same_episode_exists(line: dict) -> bool:
    start = _dt(line["start"])
    nearby = Alert.objects.filter(typology=line["typology"], market=line["market"],
                                  account_keys=sorted(map(str, line["accounts"])),
                                  end__gte=start - SAME_EPISODE_WITHIN, start__lte=_dt(line["end"]) + SAME_EPISODE_WITHIN)
    orders = set(map(str, line["evidence"].get("order_ids", [])))
    trades = set(map(str, line["evidence"].get("trade_ids", [])))
    for other in nearby.only("evidence"):
        if orders & set(map(str, other.evidence.get("order_ids", []))) or trades & set(
                map(str, other.evidence.get("trade_ids", []))):
            return True
    return False


def alert_raise(*, alert: DetectedAlert | dict, sequence: int | None = None,
                source: str = AlertSource.REALTIME) -> Alert | None:
    """Store a detector's alert in the queue, once per episode; returns None for a repeat."""
    line = alert.to_dict() if isinstance(alert, DetectedAlert) else alert
    fingerprint = alert_fingerprint(line)
    if Alert.objects.filter(fingerprint=fingerprint).exists() or _same_episode_exists(line):
        return None
    try:
        with transaction.atomic():
            row = Alert.objects.create(
                fingerprint=fingerprint, source=source, typology=line["typology"], market=line["market"],
                accounts=list(line["accounts"]), account_keys=sorted(map(str, line["accounts"])),
                start=_dt(line["start"]), end=_dt(line["end"]), score=float(line["score"]),
                evidence=line["evidence"], reason=line["reason"], detected_sequence=sequence,
            )
            ReviewEvent.objects.create(alert=row, action="raised", after={"score": row.score, "source": source})
    except IntegrityError:  # raised concurrently by another consumer: stored once
        return None
    return row


# ---------------------------------------------------------------------- review workflow


def _check_reviewer(user) -> None:
    if not user_has_role(user, COMPLIANCE):
        raise ExchangeError("forbidden", "only compliance reviews surveillance alerts")


def _record(*, actor, ip, action: str, alert: Alert | None = None, case: Case | None = None, before=None, after=None,
            comment: str = "") -> None:
    ReviewEvent.objects.create(alert=alert, case=case, actor_id=getattr(actor, "pk", None),
                               actor_username=getattr(actor, "username", "") or "", action=action,
                               before=before, after=after, comment=comment)
    target = alert or case
    if target is None:
        raise ValueError("a review event is about an alert or a case")
    audit_record(actor=actor, ip=ip, action=f"surveillance.{'alert' if alert else 'case'}_{action}",
                 object_type=f"surveillance.{'alert' if alert else 'case'}", object_id=target.pk,
                 before=before, after=after, reason=comment, source=AuditSource.CONSOLE)


def _locked_alert(alert_id: int) -> Alert:
    try:
        return Alert.objects.select_for_update().get(pk=alert_id)
    except Alert.DoesNotExist as exc:
        raise ExchangeError("not_found", f"no alert {alert_id}") from exc


def _open_alert(alert_id: int) -> Alert:
    alert = _locked_alert(alert_id)
    if alert.status == AlertStatus.CLOSED:
        raise ExchangeError("alert_closed", f"alert {alert_id} is closed")
    return alert


@transaction.atomic
def alert_assign(*, actor, alert_id: int, assignee, ip: str | None = None, comment: str = "") -> Alert:
    """Give the alert to a reviewer (``assignee`` None: back to the queue)."""
    _check_reviewer(actor)
    if assignee is not None and not user_has_role(assignee, COMPLIANCE):
        raise ExchangeError("invalid_assignee", f"{assignee.username} is not a compliance reviewer")
    alert = _open_alert(alert_id)
    before = {"assignee": alert.assignee.username if alert.assignee else None, "status": alert.status}
    alert.assignee = assignee
    if assignee is not None and alert.status == AlertStatus.NEW:
        alert.status = AlertStatus.IN_REVIEW
    alert.save(update_fields=["assignee", "status"])
    _record(actor=actor, ip=ip, action="assign", alert=alert, before=before, comment=comment,
            after={"assignee": assignee.username if assignee else None, "status": alert.status})
    return alert


@transaction.atomic
def alert_comment(*, actor, alert_id: int, comment: str, ip: str | None = None) -> Alert:
    _check_reviewer(actor)
    if not comment.strip():
        raise ExchangeError("comment_required", "a comment cannot be empty")
    alert = _locked_alert(alert_id)
    _record(actor=actor, ip=ip, action="comment", alert=alert, comment=comment.strip())
    return alert


@transaction.atomic
def alert_escalate(*, actor, alert_id: int, comment: str, assignee=None, ip: str | None = None) -> Alert:
    """Escalate (to a senior reviewer when ``assignee`` is given); the reason is mandatory."""
    _check_reviewer(actor)
    if not comment.strip():
        raise ExchangeError("comment_required", "say why the alert is escalated")
    if assignee is not None and not user_has_role(assignee, COMPLIANCE):
        raise ExchangeError("invalid_assignee", f"{assignee.username} is not a compliance reviewer")
    alert = _open_alert(alert_id)
    before = {"status": alert.status, "assignee": alert.assignee.username if alert.assignee else None}
    alert.status = AlertStatus.ESCALATED
    if assignee is not None:
        alert.assignee = assignee
    alert.save(update_fields=["status", "assignee"])
    _record(actor=actor, ip=ip, action="escalate", alert=alert, before=before, comment=comment.strip(),
            after={"status": alert.status, "assignee": alert.assignee.username if alert.assignee else None})
    return alert


def _check_disposition(disposition: str, comment: str) -> None:
    if disposition not in Disposition.values:
        raise ExchangeError("disposition_required", f"closing needs a disposition: {', '.join(Disposition.values)}")
    if not comment.strip():
        raise ExchangeError("comment_required", "closing needs a comment explaining the decision")


@transaction.atomic
def alert_close(*, actor, alert_id: int, disposition: str, comment: str, ip: str | None = None) -> Alert:
    """Close with a mandatory disposition and rationale; who and when are kept for the record."""
    _check_reviewer(actor)
    _check_disposition(disposition, comment)
    alert = _open_alert(alert_id)
    before = {"status": alert.status}
    alert.status, alert.disposition = AlertStatus.CLOSED, disposition
    alert.closed_by, alert.closed_at, alert.closing_comment = actor, timezone.now(), comment.strip()
    alert.save(update_fields=["status", "disposition", "closed_by", "closed_at", "closing_comment"])
    _record(actor=actor, ip=ip, action="close", alert=alert, before=before, comment=comment.strip(),
            after={"status": alert.status, "disposition": disposition})
    return alert


@transaction.atomic
def case_create(*, actor, title: str, alert_ids: Sequence[int] = (), ip: str | None = None) -> Case:
    _check_reviewer(actor)
    if not title.strip():
        raise ExchangeError("title_required", "a case needs a title")
    case = Case.objects.create(title=title.strip()[:200], created_by=actor, assignee=actor)
    _record(actor=actor, ip=ip, action="create", case=case, after={"title": case.title})
    for alert_id in alert_ids:
        case_add_alert(actor=actor, case_id=case.pk, alert_id=alert_id, ip=ip)
    return case


@transaction.atomic
def case_add_alert(*, actor, case_id: int, alert_id: int, ip: str | None = None) -> Alert:
    _check_reviewer(actor)
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise ExchangeError("not_found", f"no case {case_id}")
    if case.status == "closed":
        raise ExchangeError("case_closed", f"case {case_id} is closed")
    alert = _locked_alert(alert_id)
    before = {"case": alert.case_id}
    alert.case = case
    alert.save(update_fields=["case"])
    _record(actor=actor, ip=ip, action="add_to_case", alert=alert, before=before, after={"case": case.pk})
    _record(actor=actor, ip=ip, action="add_alert", case=case, after={"alert": alert.pk})
    return alert


@transaction.atomic
def case_comment(*, actor, case_id: int, comment: str, ip: str | None = None) -> Case:
    _check_reviewer(actor)
    if not comment.strip():
        raise ExchangeError("comment_required", "a comment cannot be empty")
    case = Case.objects.get(pk=case_id)
    _record(actor=actor, ip=ip, action="comment", case=case, comment=comment.strip())
    return case


@transaction.atomic
def case_close(*, actor, case_id: int, disposition: str, comment: str, ip: str | None = None) -> Case:
    """Close the case and every alert of it still open, with the case's disposition and comment."""
    _check_reviewer(actor)
    _check_disposition(disposition, comment)
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status == "closed":
        raise ExchangeError("case_closed", f"case {case_id} is already closed")
    case.status, case.disposition = "closed", disposition
    case.closed_by, case.closed_at, case.closing_comment = actor, timezone.now(), comment.strip()
    case.save(update_fields=["status", "disposition", "closed_by", "closed_at", "closing_comment"])
    _record(actor=actor, ip=ip, action="close", case=case, before={"status": "open"}, comment=comment.strip(),
            after={"status": "closed", "disposition": disposition})
    for alert_id in case.alerts.exclude(status=AlertStatus.CLOSED).values_list("id", flat=True):
        alert_close(actor=actor, alert_id=alert_id, disposition=disposition, ip=ip,
                    comment=f"Closed with case {case.pk}: {comment.strip()}")
    return case


# ---------------------------------------------------------------------- parameters and owners


@transaction.atomic
def parameters_set(*, actor, typology: str, values: dict, comment: str = "", ip: str | None = None) -> ParameterVersion:
    """A new parameter version for one detector (validated); the consumer picks it up within seconds."""
    _check_reviewer(actor)
    detector = DETECTORS.get(typology)
    if detector is None:
        raise ExchangeError("unknown_typology", f"no detector {typology!r}")
    try:
        coerce_params(detector.Params, values)
    except (TypeError, ValueError) as exc:
        raise ExchangeError("invalid_parameters", str(exc)) from exc
    previous = ParameterVersion.objects.filter(typology=typology).first()
    version = ParameterVersion.objects.create(typology=typology, values=values, created_by=actor, comment=comment)
    audit_record(actor=actor, ip=ip, action="surveillance.parameters_set", object_type="surveillance.parameters",
                 object_id=typology, before=previous.values if previous else {}, after=values, reason=comment)
    return version


@transaction.atomic
def owner_set(*, actor, user, owner: str, note: str = "", ip: str | None = None) -> BeneficialOwner | None:
    """Link an account (user) to a beneficial owner; an empty ``owner`` unlinks it."""
    _check_reviewer(actor)
    row = BeneficialOwner.objects.filter(user=user).first()
    before = {"owner": row.owner} if row else None
    if not owner.strip():
        if row is not None:
            BeneficialOwner.objects.filter(pk=row.pk).delete()
        result = None
    else:
        result, _ = BeneficialOwner.objects.update_or_create(user=user, defaults={"owner": owner.strip()[:100], "note": note})
    audit_record(actor=actor, ip=ip, action="surveillance.owner_set", object_type="auth.user", object_id=user.pk,
                 before=before, after={"owner": owner.strip()} if owner.strip() else None, reason=note)
    return result


# ---------------------------------------------------------------------- back-test


def backtest_run(*, actor, events, source: str, params: dict, ip: str | None = None) -> BacktestRun:
    """Run every detector over ``events`` with ``params`` ({typology: overrides}) and keep the result."""
    _check_reviewer(actor)
    try:
        parsed = params_from_dict(params)
    except (TypeError, ValueError) as exc:
        raise ExchangeError("invalid_parameters", str(exc)) from exc
    counted = []

    def counting():
        for event in events:
            counted.append(1)
            if len(counted) > MAX_BACKTEST_EVENTS:
                raise ExchangeError("too_many_events", f"a back-test from the UI takes at most {MAX_BACKTEST_EVENTS} events")
            yield event

    try:
        alerts = run_backtest(counting(), parsed)
    except (KeyError, ValueError, TypeError) as exc:
        raise ExchangeError("invalid_events", f"the events could not be read: {exc}") from exc
    run = BacktestRun.objects.create(created_by=actor, source=source[:300], params=params, event_count=len(counted),
                                     alerts=[a.to_dict() for a in alerts])
    audit_record(actor=actor, ip=ip, action="surveillance.backtest", object_type="surveillance.backtest",
                 object_id=run.pk, after={"source": run.source, "alerts": len(alerts), "events": run.event_count})
    return run
