"""Forms for signing up and logging in. Validation of a new user lives in ``services.user_create``."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class LoginForm(AuthenticationForm):
    """Django's login form (it authenticates through django-axes), plus the two-factor code the
    page asks for alongside the password once a username has had too many failures."""

    otp_token = forms.CharField(label="Two-factor code", required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
