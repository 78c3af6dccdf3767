"""The vocabulary of the technical documentation: the narrative fields an officer writes per AI
system (which Annex IV item each belongs to, whether the document needs it), output formats and
limits. Titles and help texts are our own short summaries of Annex IV, not its wording."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

#: The longest narrative text accepted (characters).
NARRATIVE_MAX_LENGTH = 50_000
#: Rows of a long history (item 6 changes) shown in one document; the total is always given.
CHANGE_ROWS_LIMIT = 200
#: The Art. 11 control of the EU AI Act catalog every generated document is linked to.
ART_11_CONTROL = "eu_ai_act:Art.11"
#: Where generated documents say they came from (the evidence artifact's ``source``).
EVIDENCE_SOURCE = "techdoc"
#: The JSON document's own format version (bumped when its shape changes).
DOCUMENT_FORMAT_VERSION = 1


class NarrativeField(models.TextChoices):
    """What only a person can write, one field per topic. Each maps to one Annex IV item below."""

    DISTRIBUTION = "distribution", "Distribution, hardware and interactions"
    INSTRUCTIONS_FOR_USE = "instructions_for_use", "Instructions for use"
    DEVELOPMENT_METHODS = "development_methods", "Development methods and third-party components"
    DESIGN_CHOICES = "design_choices", "Design specifications and key design choices"
    ARCHITECTURE = "architecture", "System architecture and computational resources"
    DATA_REQUIREMENTS = "data_requirements", "Datasets and data requirements"
    OVERSIGHT_ASSESSMENT = "oversight_assessment", "Human-oversight assessment (Art. 14)"
    PREDETERMINED_CHANGES = "predetermined_changes", "Pre-determined changes"
    TEST_REPORTS = "test_reports", "Validation and testing: procedures, metrics, test reports"
    CYBERSECURITY = "cybersecurity", "Cybersecurity measures"
    CAPABILITIES_AND_LIMITS = "capabilities_and_limits", "Capabilities, limitations and accuracy"
    METRIC_RATIONALE = "metric_rationale", "Why the performance metrics are appropriate"
    RISK_MANAGEMENT = "risk_management", "Risk-management system (Art. 9)"
    CHANGE_NOTES = "change_notes", "Lifecycle changes not recorded by the product"
    STANDARDS = "standards", "Harmonised standards or other specifications applied"
    DECLARATION_OF_CONFORMITY = "declaration_of_conformity", "EU declaration of conformity"
    PMM_EVALUATION = "pmm_evaluation", "Post-market performance evaluation (Art. 72)"


@dataclass(frozen=True)
class NarrativeSpec:
    item: int
    required: bool
    help_text: str


#: Each field's Annex IV item, whether a complete document needs it, and what to write in it.
NARRATIVES: dict[str, NarrativeSpec] = {
    NarrativeField.DISTRIBUTION: NarrativeSpec(
        1,
        True,
        "How the system is made available (package, API, service), the hardware it runs on, the "
        "software and AI systems it interacts with, and what updating it requires.",
    ),
    NarrativeField.INSTRUCTIONS_FOR_USE: NarrativeSpec(
        1,
        True,
        "The instructions for use given to deployers, or where they are published, and a short "
        "description of the user interface.",
    ),
    NarrativeField.DEVELOPMENT_METHODS: NarrativeSpec(
        2,
        True,
        "How the system was built: methods and steps, and which pre-trained systems or tools "
        "from third parties were used and how they were integrated.",
    ),
    NarrativeField.DESIGN_CHOICES: NarrativeSpec(
        2,
        True,
        "The general logic and algorithms, the key design choices and why, the persons or groups "
        "it is meant for, what it optimises for, the expected output quality and the trade-offs.",
    ),
    NarrativeField.ARCHITECTURE: NarrativeSpec(
        2,
        True,
        "How the software components fit together, and the computational resources used to "
        "develop, train, test and validate it.",
    ),
    NarrativeField.DATA_REQUIREMENTS: NarrativeSpec(
        2,
        True,
        "The datasets used (provenance, scope, main characteristics, how they were selected, "
        "labelled and cleaned), or the data requirements where no training data is used.",
    ),
    NarrativeField.OVERSIGHT_ASSESSMENT: NarrativeSpec(
        2,
        True,
        "The assessment of the human-oversight measures needed (Art. 14), and what helps deployers "
        "interpret the output (Art. 13(3)(d)). The product's own oversight configuration is shown "
        "beside it.",
    ),
    NarrativeField.PREDETERMINED_CHANGES: NarrativeSpec(
        2,
        False,
        "Changes to the system and its performance decided in advance, and the technical "
        "solutions that keep it compliant through them.",
    ),
    NarrativeField.TEST_REPORTS: NarrativeSpec(
        2,
        True,
        "Validation and testing procedures, the data used, the metrics (accuracy, robustness, "
        "discriminatory impact) and the dated and signed test logs and reports, or where they are "
        "kept.",
    ),
    NarrativeField.CYBERSECURITY: NarrativeSpec(
        2, True, "The cybersecurity measures in place (Art. 15)."
    ),
    NarrativeField.CAPABILITIES_AND_LIMITS: NarrativeSpec(
        3,
        True,
        "What the system can and cannot do, its accuracy for the persons or groups it is used on "
        "and overall, foreseeable unintended outcomes and sources of risk, and the specifications "
        "of its input data.",
    ),
    NarrativeField.METRIC_RATIONALE: NarrativeSpec(
        4, True, "Why the performance metrics chosen are appropriate for this system."
    ),
    NarrativeField.RISK_MANAGEMENT: NarrativeSpec(
        5,
        True,
        "How the risk-management system of Art. 9 works for this system: who runs it, how risks "
        "are identified, estimated, evaluated and treated, and how often it is reviewed.",
    ),
    NarrativeField.CHANGE_NOTES: NarrativeSpec(
        6,
        False,
        "Relevant changes the product does not record itself (model retraining, new data "
        "sources, hardware changes), with their dates.",
    ),
    NarrativeField.STANDARDS: NarrativeSpec(
        7,
        True,
        "The harmonised standards applied (with their Official Journal references), or, where "
        "none were applied, the solutions adopted to meet the requirements and any other "
        "standards or technical specifications used.",
    ),
    NarrativeField.DECLARATION_OF_CONFORMITY: NarrativeSpec(
        8,
        True,
        "A copy of the EU declaration of conformity (Art. 47, Annex V), or its reference and "
        "where the signed original is kept.",
    ),
    NarrativeField.PMM_EVALUATION: NarrativeSpec(
        9,
        True,
        "How performance is evaluated once the system is in use, and the post-market monitoring "
        "plan of Art. 72(3).",
    ),
}


class DocumentFormat(models.TextChoices):
    JSON = "json", "JSON"
    HTML = "html", "HTML"
    PDF = "pdf", "PDF"


#: Media type and evidence artifact type of each format (issue #17: JSON as a snapshot of the
#: documented state, HTML and PDF as reports).
FORMAT_MEDIA_TYPES: dict[str, str] = {
    DocumentFormat.JSON: "application/json",
    DocumentFormat.HTML: "text/html; charset=utf-8",
    DocumentFormat.PDF: "application/pdf",
}
FORMAT_ARTIFACT_TYPES: dict[str, str] = {
    DocumentFormat.JSON: "policy_snapshot",
    DocumentFormat.HTML: "external_report",
    DocumentFormat.PDF: "external_report",
}
