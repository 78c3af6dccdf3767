"""The dashboard's filters (validation only: the selectors compute)."""

from __future__ import annotations

from django import forms

from apps.dashboard import selectors


class FilterForm(forms.Form):
    window = forms.ChoiceField(
        label="Time window",
        choices=[
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
            ("90d", "Last 90 days"),
        ],
        required=False,
        initial=selectors.DEFAULT_WINDOW,
    )
    bucket = forms.ChoiceField(
        label="Chart buckets",
        choices=[("", "Default"), ("hour", "Hour"), ("day", "Day"), ("week", "Week")],
        required=False,
    )
    ai_system = forms.ChoiceField(label="AI system", required=False)
    agent_key = forms.ChoiceField(label="Agent key", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = selectors.filter_choices()
        self.fields["ai_system"].choices = [("", "All AI systems"), *choices["ai_systems"]]
        self.fields["agent_key"].choices = [("", "All agent keys"), *choices["agent_keys"]]

    def clean(self):
        data = super().clean()
        window = data.get("window") or selectors.DEFAULT_WINDOW
        bucket = data.get("bucket") or None
        days = selectors.WINDOWS[window][0]
        if bucket == "hour" and days > selectors.MAX_HOUR_BUCKET_DAYS:
            self.add_error(
                "bucket",
                f"Hour buckets are offered for windows up to {selectors.MAX_HOUR_BUCKET_DAYS} "
                "days; choose day or week buckets for longer windows.",
            )
        data["window"], data["bucket"] = window, bucket
        return data

    def filters(self) -> selectors.Filters:
        data = self.cleaned_data
        return selectors.filters_for(
            window=data["window"],
            bucket=data["bucket"],
            ai_system=data.get("ai_system") or "",
            agent_key=data.get("agent_key") or None,
        )
