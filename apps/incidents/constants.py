"""The vocabulary of serious incidents (EU AI Act Art. 73): categories and their reporting
periods, the states an incident moves through, the clocks, report kinds, suggestion sources.

The periods are the Act's, in calendar days from the moment the provider became aware of the
incident (Art. 73(2)-(4); Regulation 1182/71 counts calendar days). GDPR Art. 33's 72 hours run
alongside when the incident involves personal data. See docs/eu-ai-act/incidents.md and ADR 0023.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models


class Category(models.TextChoices):
    """Which of the Art. 73 periods applies."""

    GENERAL = "general", "Serious incident (Art. 73(2)): at most 15 days"
    DEATH = "death", "Death of a person (Art. 73(4)): at most 10 days"
    WIDESPREAD_OR_CRITICAL_INFRASTRUCTURE = (
        "widespread_or_critical_infrastructure",
        "Widespread infringement or critical-infrastructure disruption (Art. 73(3)): at most 2 days",
    )


#: Calendar days from awareness to the (first) report to the market surveillance authority.
REPORT_DAYS: dict[str, int] = {
    Category.GENERAL: 15,
    Category.DEATH: 10,
    Category.WIDESPREAD_OR_CRITICAL_INFRASTRUCTURE: 2,
}

#: Where each period comes from.
REPORT_BASIS: dict[str, str] = {
    Category.GENERAL: "EU AI Act Art. 73(2)",
    Category.DEATH: "EU AI Act Art. 73(4)",
    Category.WIDESPREAD_OR_CRITICAL_INFRASTRUCTURE: "EU AI Act Art. 73(3)",
}

#: GDPR Art. 33(1): notify the supervisory authority within 72 hours of becoming aware.
GDPR_NOTIFICATION_PERIOD = timedelta(hours=72)


class Status(models.TextChoices):
    OPEN = "open", "Open: no report sent yet"
    INITIAL_REPORT_SENT = "initial_report_sent", "Initial report sent"
    COMPLETE_REPORT_SENT = "complete_report_sent", "Complete report sent"
    CLOSED = "closed", "Closed"


#: The moves an incident may make (``services.incident_transition``). Closing an open incident
#: is for one that turned out not to be a reportable serious incident; it needs a note saying why.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.OPEN: (Status.INITIAL_REPORT_SENT, Status.CLOSED),
    Status.INITIAL_REPORT_SENT: (Status.COMPLETE_REPORT_SENT,),
    Status.COMPLETE_REPORT_SENT: (Status.CLOSED,),
    Status.CLOSED: (),
}


class ReportKind(models.TextChoices):
    """Art. 73(5): an initial, possibly incomplete report within the period, then the complete one."""

    INITIAL = "initial", "Initial report"
    COMPLETE = "complete", "Complete report"


#: The report that must exist (generated, stored as evidence) before the incident may move to a
#: state, and the state the incident must be in for a report of that kind to be generated.
REPORT_FOR_STATE: dict[str, str] = {
    Status.INITIAL_REPORT_SENT: ReportKind.INITIAL,
    Status.COMPLETE_REPORT_SENT: ReportKind.COMPLETE,
}
STATE_FOR_REPORT: dict[str, str] = {
    ReportKind.INITIAL: Status.OPEN,
    ReportKind.COMPLETE: Status.INITIAL_REPORT_SENT,
}


class Clock(models.TextChoices):
    ART73 = "art73", "EU AI Act Art. 73 report"
    GDPR_ART33 = "gdpr_art33", "GDPR Art. 33 notification"


class SuggestionSource(models.TextChoices):
    AGENT_STOP = "agent_stop", "An agent was stopped (Art. 14(4)(e))"
    EMERGENCY_BYPASS = "emergency_bypass", "An emergency bypass override"
    DENY_SPIKE = "deny_spike", "A spike of the deny rate"


class SuggestionOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (an incident was opened)"
    DISMISSED = "dismissed", "Dismissed"


#: Member States (and the EEA states that apply the Act) with the time zone of their capital:
#: the last day of a period ends at midnight there (Regulation 1182/71, Art. 3(2)(b)).
MEMBER_STATE_TIMEZONES: dict[str, str] = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    "IS": "Atlantic/Reykjavik",
    "LI": "Europe/Vaduz",
    "NO": "Europe/Oslo",
}

DESCRIPTION_MAX_LENGTH = 10_000
NOTE_MAX_LENGTH = 4_000
#: Closing an incident that was never reported must say why, in at least this many characters.
CLOSE_UNREPORTED_NOTE_MIN_LENGTH = 20
#: Dismissing a suggestion must say why.
DISMISS_REASON_MIN_LENGTH = 10
MAX_LINKS = 100
#: Denied decisions of a spike named in its suggestion (and linked when it is accepted).
SPIKE_DECISIONS_SHOWN = 20
