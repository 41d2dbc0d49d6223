"""Console forms: they parse and label; amounts stay strings and the services check them."""
from django import forms

from exchange.markets.models import Asset, MarketStatus

REASON = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"placeholder": "reason (audited)"}))


def _amount(required: bool = True, **kwargs) -> forms.CharField:
    return forms.CharField(max_length=64, required=required, **kwargs)


class ReasonForm(forms.Form):
    reason = REASON


class AssetForm(ReasonForm):
    symbol = forms.CharField(max_length=16)
    name = forms.CharField(max_length=64, required=False)
    decimals = forms.IntegerField(min_value=0, max_value=18)
    field_order = ["symbol", "name", "decimals", "reason"]


class RulesForm(ReasonForm):
    tick_size = _amount(False)
    lot_size = _amount(False)
    min_notional = _amount(False)
    min_quantity = _amount(False)
    max_quantity = _amount(False, help_text="empty: no maximum")
    price_band_pct = _amount(False, help_text="empty: no band")
    maker_fee = _amount(False)
    taker_fee = _amount(False)
    field_order = ["tick_size", "lot_size", "min_notional", "min_quantity", "max_quantity", "price_band_pct",
                   "maker_fee", "taker_fee", "reason"]


class MarketForm(RulesForm):
    base = forms.ModelChoiceField(Asset.objects.all(), to_field_name="symbol")
    quote = forms.ModelChoiceField(Asset.objects.all(), to_field_name="symbol")
    tick_size = _amount()
    lot_size = _amount()
    field_order = ["base", "quote", *RulesForm.field_order]


class StatusForm(ReasonForm):
    status = forms.ChoiceField(choices=MarketStatus.choices)


class KycForm(ReasonForm):
    level = forms.TypedChoiceField(choices=[(i, str(i)) for i in range(4)], coerce=int)


class DepositForm(ReasonForm):
    """A request to credit a deposit: a second admin approves it before anything is credited."""

    username = forms.CharField(max_length=150)
    asset = forms.ModelChoiceField(Asset.objects.all(), to_field_name="symbol")
    amount = _amount()
    reference = forms.CharField(max_length=100,
                                help_text="external reference (bank transfer, transaction hash): credited once per asset")
    field_order = ["username", "asset", "amount", "reference", "reason"]


class AdjustForm(ReasonForm):
    username = forms.CharField(max_length=150)
    asset = forms.ModelChoiceField(Asset.objects.all(), to_field_name="symbol")
    amount = _amount(help_text="negative to debit")
    field_order = ["username", "asset", "amount", "reason"]


class FeeTierForm(ReasonForm):
    quote = forms.ModelChoiceField(Asset.objects.all(), to_field_name="symbol")
    min_volume = _amount()
    maker_fee = _amount()
    taker_fee = _amount()
    field_order = ["quote", "min_volume", "maker_fee", "taker_fee", "reason"]


class AuditSearchForm(forms.Form):
    q = forms.CharField(required=False)
    actor = forms.CharField(required=False)
    action = forms.CharField(required=False)
    object_type = forms.CharField(required=False)
    object_id = forms.CharField(required=False)
    since = forms.DateTimeField(required=False)
    until = forms.DateTimeField(required=False)
