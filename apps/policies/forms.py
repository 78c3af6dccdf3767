"""Forms of the policy staff pages (validation only; the services write)."""

from __future__ import annotations

from django import forms

from apps.policies import services


class ActivateForm(forms.Form):
    reason = forms.CharField(
        label="Reason for activating this version",
        max_length=services.MAX_REASON_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required. Kept with the activation; the ledger records its commitment.",
    )


class SimulateForm(forms.Form):
    limit = forms.IntegerField(
        label="Decisions to replay (the latest)",
        min_value=1,
        max_value=services.SIMULATION_MAX,
        initial=services.SIMULATION_DEFAULT,
        help_text=f"1 to {services.SIMULATION_MAX:,}; default {services.SIMULATION_DEFAULT:,}.",
    )
