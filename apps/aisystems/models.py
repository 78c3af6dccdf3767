"""The AI system registry: the AI systems whose agents call ``/decide``, with their EU AI Act
classification (role, Annex III point, Art. 6(3) assessment, risk class), and the ledgered history
of every change.

A system's row is changed only by ``apps.aisystems.services`` (API and admin alike), each change
with its ``ai_system.registered`` / ``ai_system.updated`` ledger entry in the same transaction and
an :class:`AISystemChange` row naming that entry (ADR 0019).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from apps.aisystems.constants import (
    ANNEX_III_CLASSES,
    MIN_REASONING_LENGTH,
    NAME_MAX_LENGTH,
    SYSTEM_ID,
    SYSTEM_ID_MAX_LENGTH,
    VERSION_MAX_LENGTH,
    AnnexIIIPoint,
    Art63Condition,
    RiskClass,
    Role,
    Status,
)

# Messages shared by clean() and the database constraints they mirror.
ANNEX_III_NEEDS_HIGH = (
    "A system listed in Annex III is high-risk (Art. 6(2)) unless an Art. 6(3) exemption is "
    "recorded: set risk_class to 'high' (or 'prohibited' if an Art. 5 practice applies), or "
    "record the exemption with its condition and reasoning."
)
EXEMPTION_NEEDS_ANNEX_III = (
    "The Art. 6(3) exemption is a derogation for systems listed in Annex III: name the "
    "annex_iii_point it applies to, or set art_6_3_exempt to false."
)
EXEMPTION_NEEDS_CONDITION = (
    "An Art. 6(3) exemption must name the condition relied on: a, b, c or d."
)
CONDITION_NEEDS_EXEMPTION = (
    "art_6_3_condition is recorded only with an exemption (art_6_3_exempt true)."
)
EXEMPTION_NEEDS_REASONING = (
    f"An Art. 6(3) exemption must be documented (Art. 6(4)): art_6_3_reasoning needs at least "
    f"{MIN_REASONING_LENGTH} characters saying why the system poses no significant risk."
)


class AISystem(models.Model):
    """One AI system: who we are for it (provider/deployer), what it is for, how the AI Act
    classifies it, who owns it and where it is in its life."""

    id = models.CharField(
        primary_key=True,
        max_length=SYSTEM_ID_MAX_LENGTH,
        validators=[
            RegexValidator(
                SYSTEM_ID,
                "Lower-case letters, digits, '.', '_' and '-', starting with a letter or digit "
                f"(at most {SYSTEM_ID_MAX_LENGTH}).",
            )
        ],
        help_text="What agents send as ai_system on /decide; chosen once, never changed.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    version = models.CharField(max_length=VERSION_MAX_LENGTH)
    role = models.CharField(max_length=16, choices=Role.choices)
    intended_purpose = models.TextField()
    annex_iii_point = models.CharField(
        max_length=8, blank=True, choices=AnnexIIIPoint.choices, help_text="Blank: none."
    )
    art_6_3_exempt = models.BooleanField(
        default=False, verbose_name="Art. 6(3) exempt", help_text="Annex III, but not high-risk."
    )
    art_6_3_condition = models.CharField(
        max_length=1, blank=True, choices=Art63Condition.choices, verbose_name="Art. 6(3) condition"
    )
    art_6_3_reasoning = models.TextField(blank=True, verbose_name="Art. 6(3) reasoning")
    risk_class = models.CharField(max_length=16, choices=RiskClass.choices)
    owner = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DEVELOPMENT)
    # Ledger actor id of whoever registered it (``user:<id>`` or ``agent:<prefix>``).
    created_by = models.CharField(max_length=80, editable=False)
    # Salt of the text commitments on the ledger; one per system, so each past commitment can be
    # opened with that version's text. Erasing it makes every commitment unopenable (ADR 0019).
    text_salt = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "AI system"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="aisystems_known_role"
            ),
            models.CheckConstraint(
                condition=models.Q(risk_class__in=RiskClass.values),
                name="aisystems_known_risk_class",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="aisystems_known_status"
            ),
            models.CheckConstraint(
                condition=models.Q(annex_iii_point="")
                | models.Q(art_6_3_exempt=True)
                | models.Q(risk_class__in=ANNEX_III_CLASSES),
                name="aisystems_annex_iii_is_high_risk",
                violation_error_message=ANNEX_III_NEEDS_HIGH,
            ),
            models.CheckConstraint(
                condition=models.Q(art_6_3_exempt=False)
                | (~models.Q(annex_iii_point="") & ~models.Q(art_6_3_condition="")),
                name="aisystems_exemption_names_point_and_condition",
                violation_error_message=EXEMPTION_NEEDS_CONDITION,
            ),
            models.CheckConstraint(
                condition=models.Q(art_6_3_exempt=True) | models.Q(art_6_3_condition=""),
                name="aisystems_condition_only_with_exemption",
                violation_error_message=CONDITION_NEEDS_EXEMPTION,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.id})"

    def clean(self) -> None:
        """The classification rules, each reported on the field to fix (the constraints above
        hold the same rules in the database; the reasoning's length is checked only here)."""
        errors: dict[str, str] = {}
        if self.art_6_3_exempt:
            if not self.annex_iii_point:
                errors["annex_iii_point"] = EXEMPTION_NEEDS_ANNEX_III
            if not self.art_6_3_condition:
                errors["art_6_3_condition"] = EXEMPTION_NEEDS_CONDITION
            if len((self.art_6_3_reasoning or "").strip()) < MIN_REASONING_LENGTH:
                errors["art_6_3_reasoning"] = EXEMPTION_NEEDS_REASONING
        elif self.art_6_3_condition:
            errors["art_6_3_condition"] = CONDITION_NEEDS_EXEMPTION
        if (
            self.annex_iii_point
            and not self.art_6_3_exempt
            and self.risk_class not in ANNEX_III_CLASSES
        ):
            errors["risk_class"] = ANNEX_III_NEEDS_HIGH
        if errors:
            raise ValidationError(errors)


class AISystemChange(models.Model):
    """One ledgered change of a system: its registration or an update, the ledger entry that
    records it and which fields it changed. Appended by the services, never changed."""

    system = models.ForeignKey(AISystem, on_delete=models.PROTECT, related_name="changes")
    ledger_seq = models.BigIntegerField(unique=True)
    entry_type = models.CharField(max_length=64)
    changed = models.JSONField(default=list)
    actor = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ledger_seq"]
        verbose_name = "AI system change"

    def __str__(self) -> str:
        return f"{self.system_id} #{self.ledger_seq} {self.entry_type}"
