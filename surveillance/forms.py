"""Forms of the review pages (parsing only; the services decide)."""
from django import forms

from surveillance.models import TYPOLOGY_CHOICES, AlertStatus, Disposition
from surveillance.selectors import SORTS

BLANK = [("", "any")]


class AlertFilterForm(forms.Form):
    typology = forms.ChoiceField(choices=[*BLANK, *TYPOLOGY_CHOICES], required=False)
    market = forms.CharField(required=False, max_length=32)
    account = forms.CharField(required=False, max_length=150, help_text="user id or username")
    min_score = forms.FloatField(required=False, min_value=0, max_value=1, label="Score ≥")
    status = forms.ChoiceField(choices=[*BLANK, ("open", "not closed"), *AlertStatus.choices], required=False)
    assignee = forms.ChoiceField(choices=[*BLANK, ("me", "mine"), ("none", "unassigned")], required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)


class CommentForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False)
    comment = forms.CharField(required=False, max_length=5000)


class EscalateForm(forms.Form):
    assignee = forms.IntegerField(required=False)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class CloseForm(forms.Form):
    disposition = forms.ChoiceField(choices=Disposition.choices)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class CaseAddForm(forms.Form):
    case = forms.IntegerField(required=False)
    title = forms.CharField(required=False, max_length=200)


class OwnerForm(forms.Form):
    user = forms.CharField(max_length=150, help_text="user id or username")
    owner = forms.CharField(required=False, max_length=100, help_text="empty to unlink")
    note = forms.CharField(required=False, max_length=200)


class BacktestForm(forms.Form):
    events = forms.FileField(required=False, help_text="DESIGN 6.5 JSON Lines, e.g. from export_events")
    market = forms.CharField(required=False, max_length=32)
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    params = forms.ChoiceField(choices=[("current", "current parameters"), ("defaults", "documented defaults"),
                                        ("custom", "custom JSON below")])
    custom = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                             help_text='{"spoofing": {"alert_score": 0.7}}')

    def clean(self):
        data = super().clean() or {}
        if not data.get("events") and not data.get("market"):
            raise forms.ValidationError("upload an event log or choose a market")
        return data
