"""The ledger browser's filter form (GET): entry type, time range (UTC), actor, subject, cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms

from apps.ledger.browse import EntryFilters
from apps.ledger.entry_types import EntryType

MAX_CURSOR = 2**62
TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _rfc3339(value: datetime | None) -> str | None:
    """The ledger's own timestamp form, so a range compares as the stored strings do."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EntryFilterForm(forms.Form):
    entry_type = forms.ChoiceField(
        label="Entry type",
        required=False,
        choices=[("", "Any type"), *sorted(EntryType.choices)],
    )
    time_from = forms.DateTimeField(
        label="From (UTC)",
        required=False,
        input_formats=TIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    time_to = forms.DateTimeField(
        label="Until (UTC, excluded)",
        required=False,
        input_formats=TIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    actor = forms.CharField(
        label="Actor",
        required=False,
        max_length=200,
        help_text="user:<id>, agent:<key prefix> or system:<component>",
    )
    subject_type = forms.CharField(
        label="Subject type", required=False, max_length=64, help_text="e.g. decision, escalation"
    )
    subject_id = forms.CharField(
        label="Subject id", required=False, max_length=200, help_text="e.g. a decision's id"
    )
    before = forms.IntegerField(required=False, min_value=0, max_value=MAX_CURSOR)
    after = forms.IntegerField(required=False, min_value=-1, max_value=MAX_CURSOR)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("time_from"), data.get("time_to")
        if start and end and end <= start:
            self.add_error("time_to", "The end of the range must be after its start.")
        if data.get("before") is not None and data.get("after") is not None:
            raise forms.ValidationError("Give either an older or a newer page, not both.")
        return data

    def filters(self) -> EntryFilters:
        data = self.cleaned_data
        return EntryFilters(
            entry_type=data.get("entry_type") or None,
            actor=(data.get("actor") or "").strip() or None,
            subject_type=(data.get("subject_type") or "").strip() or None,
            subject_id=(data.get("subject_id") or "").strip() or None,
            time_from=_rfc3339(data.get("time_from")),
            time_to=_rfc3339(data.get("time_to")),
        )


class CursorForm(forms.Form):
    """Keyset cursor of the checkpoints list (tree sizes)."""

    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_CURSOR)
    after = forms.IntegerField(required=False, min_value=0, max_value=MAX_CURSOR)
