"""Forms for the two-step login and MFA enrolment."""

from django import forms


class OTPForm(forms.Form):
    """The second step: a 6-digit TOTP code or a backup code."""

    token = forms.CharField(
        label="One-time code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
    )


class EnrolForm(forms.Form):
    """Confirm a new authenticator by entering the code it shows."""

    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ReauthForm(forms.Form):
    """Both factors again, before a change to how one signs in."""

    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    token = forms.CharField(
        label="One-time code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )
