from django import forms

from exchange.markets.models import Asset


def _asset_choices() -> list[tuple[str, str]]:
    return [(a.symbol, a.symbol) for a in Asset.objects.order_by("symbol")]


def _set_asset_choices(form: forms.Form) -> None:
    """The assets are rows, read when the form is built (a new asset needs no restart)."""
    field = form.fields["asset"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = _asset_choices()


class FaucetForm(forms.Form):
    asset = forms.ChoiceField(label="Asset", choices=())
    amount = forms.DecimalField(label="Amount", min_value=0, max_digits=30, decimal_places=18)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _set_asset_choices(self)


class WithdrawalForm(forms.Form):
    asset = forms.ChoiceField(label="Asset", choices=())
    amount = forms.DecimalField(label="Amount", min_value=0, max_digits=30, decimal_places=18)
    address = forms.CharField(label="Destination address", max_length=128)
    otp_token = forms.CharField(label="Two-factor code", max_length=8, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _set_asset_choices(self)
