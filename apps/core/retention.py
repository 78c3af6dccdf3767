"""Retention classes (EU AI Act Art. 12/19, GDPR Art. 5(1)(e)): the vocabulary and the rule that
gives every decision and every evidence artifact its class when it is written.

Pure functions over settings, with no model and no query, so that ``/decide`` (whose pipeline
sits far below ``apps.retention``) and evidence registration can both call them on their hot
paths. ``apps.retention`` reads the same functions to find what has passed its retention.

The rule (docs/eu-ai-act/retention.md, ADR 0021):

- ``high_risk`` — the decision names a registered AI system classed ``high`` or ``prohibited``;
  an artifact linked to such a decision, or whose ``metadata.ai_system`` names such a system.
- ``gdpr_intersect`` — otherwise, a decision whose ``data_classes`` declare personal data
  (``LEXECON_RETENTION_PERSONAL_DATA_CLASSES``): its context is personal data and not needed as
  high-risk evidence, so data-protection law sets the shorter period.
- ``standard`` — everything else: the Art. 19 / 26(6) floor of six months.

An artifact takes the longest (by configured days) class among the decisions it is linked to at registration
(``standard`` when none); for an artifact the class is a floor on its retention, never a
shortening of its type's period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class RetentionClass(models.TextChoices):
    HIGH_RISK = "high_risk", "High-risk AI system (Art. 18/19, ten years by default)"
    STANDARD = "standard", "Standard (Art. 19/26(6) minimum of six months)"
    GDPR_INTERSECT = "gdpr_intersect", "Personal data not needed as high-risk evidence"


#: The legal floor for automatically generated logs (Art. 19(1), 26(6)): six months. Production
#: settings refuse a ``standard`` period below it.
ART_19_MINIMUM_DAYS = 180
#: Registry risk classes whose decisions are kept as high-risk evidence.
HIGH_RISK_SYSTEM_CLASSES = frozenset({"high", "prohibited"})
#: Between classes of equal configured length, the first of these wins.
_PRECEDENCE = (RetentionClass.HIGH_RISK, RetentionClass.STANDARD, RetentionClass.GDPR_INTERSECT)


def retention_days(retention_class: str) -> int:
    """The configured length of a class in days (``LEXECON_RETENTION_DAYS``)."""
    return int(settings.LEXECON_RETENTION_DAYS[retention_class])


def retention_period(retention_class: str) -> timedelta:
    return timedelta(days=retention_days(retention_class))


def retention_cutoff(retention_class: str, now: datetime) -> datetime:
    """Records of the class written at or before this moment are past their retention."""
    return now - retention_period(retention_class)


def personal_data_classes() -> frozenset[str]:
    return frozenset(settings.LEXECON_RETENTION_PERSONAL_DATA_CLASSES)


def decision_retention_class(
    *, ai_system_risk_class: str | None, data_classes: Iterable[str]
) -> str:
    """The class of a decision, from what ``/decide`` already holds: the risk class of its
    registered AI system (None when it names none or an unregistered one) and its data
    classes."""
    if ai_system_risk_class in HIGH_RISK_SYSTEM_CLASSES:
        return RetentionClass.HIGH_RISK.value
    if personal_data_classes().intersection(data_classes):
        return RetentionClass.GDPR_INTERSECT.value
    return RetentionClass.STANDARD.value


def artifact_retention_class(
    *, linked_classes: Iterable[str], ai_system_risk_class: str | None = None
) -> str:
    """The class of an artifact: high-risk when its ``metadata.ai_system`` is a high-risk
    system, else the longest class among its linked decisions, else ``standard``."""
    if ai_system_risk_class in HIGH_RISK_SYSTEM_CLASSES:
        return RetentionClass.HIGH_RISK.value
    linked = [c for c in _PRECEDENCE if c in set(linked_classes)]
    if not linked:
        return RetentionClass.STANDARD.value
    # max() keeps the first of equals: the precedence order breaks ties.
    return max(linked, key=retention_days).value
