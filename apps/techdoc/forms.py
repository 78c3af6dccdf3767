"""The narrative form of the per-system staff page (validation only; the service writes)."""

from __future__ import annotations

from django import forms

from apps.techdoc.annex_iv import ANNEX_IV_ITEMS
from apps.techdoc.constants import NARRATIVE_MAX_LENGTH, NARRATIVES, NarrativeField


def field_choices() -> list:
    """The narrative fields grouped by Annex IV item (an ``<optgroup>`` per item)."""
    groups = []
    for item, title in ANNEX_IV_ITEMS.items():
        fields = [
            (field, NarrativeField(field).label + ("" if spec.required else " (optional)"))
            for field, spec in NARRATIVES.items()
            if spec.item == item
        ]
        if fields:
            groups.append((f"Item {item}: {title}", fields))
    return [("", "Choose the narrative to write…"), *groups]


class NarrativeForm(forms.Form):
    """Nothing is preselected unless the page was opened to edit one field."""

    field = forms.ChoiceField(label="Narrative", choices=field_choices)
    text = forms.CharField(
        label="Text",
        max_length=NARRATIVE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=(
            "Plain text; blank lines separate paragraphs. Saving makes a new version with you as "
            "its author; the ledger keeps the text's SHA-256, the text stays here."
        ),
    )
