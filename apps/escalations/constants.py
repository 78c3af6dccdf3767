"""Limits and role grants of the oversight workflow (documented in docs/oversight.md)."""

from __future__ import annotations

# A resolution note must say something (Art. 14: the rationale is part of the record).
NOTE_MIN_LENGTH = 10
NOTE_MAX_LENGTH = 4000
# DESIGN §9: overrides need a written justification of at least 20 characters.
JUSTIFICATION_MIN_LENGTH = 20
REASON_MIN_LENGTH = 10
# The SLA warning goes out once, when this share of the SLA has elapsed.
SLA_WARNING_FRACTION = 0.75
# How many escalations one run of the SLA task handles (the next run continues).
SLA_BATCH_SIZE = 1000
# Priorities that need two distinct approvers unless LEXECON_FOUR_EYES_PRIORITIES says otherwise.
DEFAULT_FOUR_EYES_PRIORITIES = ("critical",)

# Object permissions given to an assigned reviewer (guardian, on one escalation).
OBJECT_PERMISSIONS = ("view_escalation", "review_escalation")

# Context keys whose values are personal data: the reviewer screen shows the key, never the value.
SENSITIVE_KEY_PARTS = (
    "name",
    "email",
    "mail",
    "phone",
    "mobile",
    "address",
    "street",
    "postcode",
    "zip",
    "city",
    "ssn",
    "social_security",
    "national_id",
    "passport",
    "licence",
    "license",
    "birth",
    "dob",
    "iban",
    "account_number",
    "card",
    "pan",
    "cvv",
    "ip",
    "user_agent",
    "device_id",
    "location",
    "lat",
    "lon",
    "gender",
    "ethnic",
    "religion",
    "health",
    "diagnosis",
    "salary",
    "password",
    "secret",
    "token",
    "customer_id",
    "user_id",
    "subject_id",
)
