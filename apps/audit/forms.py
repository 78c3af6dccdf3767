"""The staff page's request form: scope, format, period (dates), and the optional filters."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django import forms

from apps.audit.constants import Format, Scope


class ExportForm(forms.Form):
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.ALL)
    format = forms.ChoiceField(choices=Format.choices, initial=Format.PDF)
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    framework = forms.CharField(required=False, max_length=32, help_text="with scope framework")
    ai_system = forms.CharField(required=False, max_length=200, label="AI system")

    def period(self) -> tuple[datetime | None, datetime | None]:
        """The dates as UTC times: the start of ``From`` and the end of ``To`` (both inclusive)."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (
            datetime.combine(start, time.min, tzinfo=UTC) if start else None,
            datetime.combine(end, time.max, tzinfo=UTC) if end else None,
        )
