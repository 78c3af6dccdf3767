"""Forms of the reviewer pages (validation only; the services decide and write)."""

from __future__ import annotations

from django import forms

from apps.escalations.constants import (
    JUSTIFICATION_MIN_LENGTH,
    NOTE_MAX_LENGTH,
    NOTE_MIN_LENGTH,
    REASON_MIN_LENGTH,
)
from apps.escalations.models import Escalation, Override


class ResolveForm(forms.Form):
    """Approve or deny (the button pressed sets ``resolution``) with a required written note."""

    resolution = forms.ChoiceField(choices=Escalation.Resolution.choices)
    note = forms.CharField(
        label="Your reasoning (required)",
        min_length=NOTE_MIN_LENGTH,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "aria-describedby": "note-help"}),
        help_text=f"At least {NOTE_MIN_LENGTH} characters. Stored with the case; the ledger keeps "
        "only a commitment to it.",
    )


class AssignForm(forms.Form):
    """Nobody is preselected: an assignment is a deliberate choice, not the first name in a list."""

    reviewer = forms.ChoiceField(label="Assign a reviewer")

    def __init__(self, *args, reviewers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].choices = [
            ("", "Choose a reviewer…"),
            *((user.get_username(), user.get_username()) for user in reviewers),
        ]


class OverrideForm(forms.Form):
    override_type = forms.ChoiceField(label="Override type", choices=Override.Type.choices)
    outcome = forms.ChoiceField(
        label="New outcome",
        choices=Override.Outcome.choices,
        initial=Override.Outcome.ALLOWED,
        help_text="Only an executive override may deny.",
    )
    justification = forms.CharField(
        label="Justification (required)",
        min_length=JUSTIFICATION_MIN_LENGTH,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {JUSTIFICATION_MIN_LENGTH} characters.",
    )
    expires_at = forms.DateTimeField(
        label="Expires at (UTC, optional)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Required for a time-limited exception.",
    )


class StopForm(forms.Form):
    reason = forms.CharField(
        label="Why stop this agent? (required)",
        min_length=REASON_MIN_LENGTH,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label="I confirm: revoke every outstanding capability token of this agent now.",
        required=True,
    )
