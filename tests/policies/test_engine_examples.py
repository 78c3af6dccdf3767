"""The example policies in policies/examples load and decide as their justifications say."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from apps.policies.engine import (
    CompiledPolicy,
    compile_policy,
    load_document_text,
    parse_policy,
    policy_hash,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "policies" / "examples"
NAMES = ["customer_service", "healthcare_hipaa", "financial_services", "gdpr"]

DEMO_REQUEST = {
    "actor": "ai_agent:customer_service",
    "action": "access_customer_data",
    "context": {"purpose": "support_ticket", "data_sensitivity": "high"},
}


@cache
def compiled(name: str) -> CompiledPolicy:
    """Load, validate and compile one example (once per test session)."""
    text = (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")
    policy = parse_policy(load_document_text(text))
    return compile_policy(policy, policy_hash(policy))


def decide(name: str, actor: str, action: str, **extra: Any):
    """Evaluate one request against an example policy."""
    return compiled(name).evaluate({"actor": actor, "action": action, **extra})


@pytest.mark.parametrize("name", NAMES)
def test_example_loads_as_a_realistic_native_policy(name):
    policy = compiled(name).policy
    assert policy.dialect == "native"
    assert policy.mode == "strict"
    assert 10 <= len(policy.relations) <= 30
    assert all(relation.controls for relation in policy.relations)
    assert all(relation.justification for relation in policy.relations)
    assert {r.type for r in policy.relations} == {"permits", "requires", "forbids", "escalates"}
    assert parse_policy(policy.to_document()) == policy
    assert compiled(name).version == policy_hash(policy.to_document())


def test_every_example_file_is_covered():
    assert sorted(path.stem for path in EXAMPLES.glob("*.json")) == sorted(NAMES)


# -- customer service (the demo policy) ----------------------------------------------------------


def test_demo_request_is_allowed_with_its_reasons_and_controls():
    result = compiled("customer_service").evaluate(DEMO_REQUEST)
    assert result.outcome == "allowed"
    assert [(r.rule_id, r.effect) for r in result.reasons] == [("cs-access-for-ticket", "permit")]
    assert result.reason.startswith("The support agent may read a customer record")
    assert result.controls == (
        "GDPR:Art.5",
        "GDPR:Art.6",
        "ISO27001:A.5.15",
        "NIST-CSF:PR.AA-05",
        "SOC2:CC6.1",
    )
    terms = {term.id: term for term in result.matched_terms}
    assert set(terms) == {
        "action:access_customer_data",
        "actor:ai_agent:*",
        "actor:ai_agent:customer_service",
    }
    assert terms["action:access_customer_data"].metadata["risk"]["privacy"] == 60
    again = compiled("customer_service").evaluate(json.loads(json.dumps(DEMO_REQUEST)))
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(
        result.to_dict(), sort_keys=True
    )


def test_demo_request_without_purpose_is_denied_and_says_why():
    result = decide(
        "customer_service",
        "ai_agent:customer_service",
        "access_customer_data",
        context={"data_sensitivity": "high"},
    )
    assert result.outcome == "denied"
    assert [(r.rule_id, r.effect) for r in result.reasons] == [
        ("mode:strict", "default_deny"),
        ("cs-access-for-ticket", "permit_error"),
    ]
    assert "context.purpose is missing" in result.reasons[1].message


@pytest.mark.parametrize("purpose", ["marketing", "SUPPORT_TICKET", 1])
def test_demo_request_with_another_purpose_is_not_allowed(purpose):
    context = {"purpose": purpose, "data_sensitivity": "high"}
    result = decide(
        "customer_service", "ai_agent:customer_service", "access_customer_data", context=context
    )
    assert result.outcome == "denied"
    assert result.reasons[0].rule_id == "mode:strict"


CUSTOMER_SERVICE_CASES = [
    ("delete_is_forbidden", "ai_agent:customer_service", "delete_customer_data", {},
     "denied", ["cs-no-deletion"]),
    ("small_refund", "ai_agent:customer_service", "issue_refund",
     {"context": {"amount": 120, "currency": "EUR"}}, "allowed", ["cs-refund-small"]),
    ("refund_over_limit_escalates", "ai_agent:customer_service", "issue_refund",
     {"context": {"amount": 1200, "currency": "EUR"}}, "escalated", ["cs-refund-large-review"]),
    ("refund_without_amount_fails_closed", "ai_agent:customer_service", "issue_refund",
     {"context": {"currency": "EUR"}}, "denied", ["cs-refund-ceiling"]),
    ("refund_over_ceiling_is_forbidden", "ai_agent:customer_service", "issue_refund",
     {"context": {"amount": 12000, "currency": "EUR"}}, "denied", ["cs-refund-ceiling"]),
    ("critical_record_escalates", "ai_agent:customer_service", "access_customer_data",
     {"context": {"purpose": "support_ticket", "data_sensitivity": "critical"}}, "escalated",
     ["cs-escalate-critical-records"]),
    ("card_data_is_forbidden", "ai_agent:customer_service", "access_customer_data",
     {"data_classes": ["payment_card"], "context": {"purpose": "support_ticket"}}, "denied",
     ["cs-no-card-data"]),
    ("legal_hold_is_read_only", "ai_agent:customer_service", "update_ticket",
     {"resource": "crm/legal_hold/case-9", "context": {"ticket_status": "open"}}, "denied",
     ["cs-legal-hold-read-only"]),
    ("open_ticket_update", "ai_agent:customer_service", "update_ticket",
     {"resource": "crm/tickets/77", "context": {"ticket_status": "open"}}, "allowed",
     ["cs-update-open-tickets"]),
    ("other_agents_get_nothing", "ai_agent:sales", "read_ticket", {}, "denied", []),
    ("closing_accounts_escalates", "ai_agent:sales", "close_account", {}, "escalated",
     ["cs-close-account-review"]),
    ("lead_quality_review", "human:support_lead", "access_customer_data",
     {"context": {"purpose": "quality_review"}}, "allowed", ["cs-lead-access"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "action", "extra", "outcome", "deciding"),
    [pytest.param(*case[1:], id=case[0]) for case in CUSTOMER_SERVICE_CASES],
)
def test_customer_service_decisions(actor, action, extra, outcome, deciding):
    result = decide("customer_service", actor, action, **extra)
    assert result.outcome == outcome
    assert list(result.deciding_rule_ids) == deciding


def test_refund_over_ceiling_reports_the_outranked_escalation():
    result = decide(
        "customer_service",
        "ai_agent:customer_service",
        "issue_refund",
        context={"amount": 12000, "currency": "EUR"},
    )
    assert [(r.rule_id, r.effect) for r in result.reasons] == [
        ("cs-refund-ceiling", "forbid"),
        ("cs-refund-large-review", "escalate_outranked"),
    ]
    assert result.controls == ("SOC2:CC5.2",)


# -- the other examples -------------------------------------------------------------------------

OTHER_CASES = [
    ("healthcare_hipaa", "summary_for_treatment", "ai_agent:clinical_assistant",
     "summarize_record", {"data_classes": ["phi"],
                          "context": {"purpose": "treatment", "requesting_clinician_id": "c-7"}},
     "allowed", ["hc-summary-for-treatment"]),
    ("healthcare_hipaa", "summary_without_clinician", "ai_agent:clinical_assistant",
     "summarize_record", {"data_classes": ["phi"], "context": {"purpose": "treatment"}},
     "denied", []),
    ("healthcare_hipaa", "psychotherapy_notes", "ai_agent:clinical_assistant", "view_phi",
     {"data_classes": ["phi", "psychotherapy_notes"],
      "context": {"purpose": "treatment", "patient_count": 1}},
     "denied", ["hc-no-psychotherapy-notes"]),
    ("healthcare_hipaa", "bulk_phi_view", "ai_agent:clinical_assistant", "view_phi",
     {"data_classes": ["phi"], "context": {"purpose": "treatment", "patient_count": 40}},
     "escalated", ["hc-bulk-view-review"]),
    ("healthcare_hipaa", "unencrypted_transmission", "ai_agent:clinical_assistant",
     "transmit_phi", {}, "denied", ["hc-encrypted-transmission"]),
    ("healthcare_hipaa", "encrypted_ai_transmission", "ai_agent:clinical_assistant",
     "transmit_phi", {"context": {"encrypted_channel": True}}, "escalated",
     ["hc-ai-transmission-review"]),
    ("healthcare_hipaa", "deidentified_imaging", "ai_agent:imaging", "analyze_medical_image",
     {"data_classes": ["deidentified"]}, "allowed", ["hc-imaging-deidentified"]),
    ("healthcare_hipaa", "no_phi_export", "human:clinician", "export_dataset",
     {"data_classes": ["phi", "deidentified"]}, "denied", ["hc-no-phi-export"]),
    ("healthcare_hipaa", "limited_dataset_with_dua", "human:researcher", "export_dataset",
     {"data_classes": ["limited_dataset"], "context": {"data_use_agreement_id": "dua-3"}},
     "allowed", ["hc-export-limited-dataset"]),
    ("financial_services", "trade_within_limits", "ai_agent:trading", "execute_trade",
     {"context": {"notional_usd": 250000, "pre_trade_checks_passed": True,
                  "volatility_index": 18}}, "allowed", ["fs-trade-within-limits"]),
    ("financial_services", "trade_without_volatility", "ai_agent:trading", "execute_trade",
     {"context": {"notional_usd": 250000, "pre_trade_checks_passed": True}}, "denied",
     ["fs-volatility-halt"]),
    ("financial_services", "large_trade", "ai_agent:trading", "execute_trade",
     {"context": {"notional_usd": 5000000, "pre_trade_checks_passed": True,
                  "volatility_index": 18}}, "escalated", ["fs-large-trade-review"]),
    ("financial_services", "pan_access", "ai_agent:fraud_detection", "read_cardholder_data",
     {"data_classes": ["pan"]}, "denied", ["fs-no-pan"]),
    ("financial_services", "tokenized_fraud_analysis", "ai_agent:fraud_detection",
     "analyze_transactions", {"data_classes": ["tokenized_card"]}, "allowed",
     ["fs-fraud-tokenized"]),
    ("financial_services", "adverse_credit_decision", "ai_agent:credit_scoring",
     "credit_decision", {"context": {"decision": "decline", "loan_amount": 9000}}, "escalated",
     ["fs-credit-adverse-review"]),
    ("financial_services", "sanctioned_destination", "ai_agent:treasury", "transfer_funds",
     {"context": {"amount": 500, "destination_country": "KP"}}, "denied", ["fs-sanctions"]),
    ("financial_services", "small_payment", "ai_agent:treasury", "transfer_funds",
     {"context": {"amount": 500, "destination_country": "DE"}}, "allowed",
     ["fs-treasury-small"]),
    ("financial_services", "ledger_change_by_officer", "human:compliance_officer",
     "modify_ledger_record", {"resource": "ledger/2026/q1", "context": {"change_ticket": "CH-1"}},
     "allowed", ["fs-officer-ledger-change"]),
    ("financial_services", "ledger_change_by_ai", "ai_agent:treasury", "modify_ledger_record",
     {"resource": "ledger/2026/q1", "context": {"change_ticket": "CH-1"}}, "denied",
     ["fs-no-ai-ledger-changes"]),
    ("gdpr", "lawful_processing", "ai_agent:analytics", "process_personal_data",
     {"data_classes": ["personal_data"],
      "context": {"lawful_basis": "contract", "purpose": "fraud_prevention"}},
     "allowed", ["gdpr-lawful-basis"]),
    ("gdpr", "no_lawful_basis", "ai_agent:analytics", "process_personal_data",
     {"data_classes": ["personal_data"], "context": {"purpose": "fraud_prevention"}},
     "denied", []),
    ("gdpr", "special_category_without_consent", "ai_agent:analytics",
     "process_special_category", {}, "denied", ["gdpr-special-category-consent"]),
    ("gdpr", "special_category_with_consent", "ai_agent:analytics", "process_special_category",
     {"context": {"explicit_consent": True}}, "escalated", ["gdpr-special-category-review"]),
    ("gdpr", "transfer_without_safeguards", "human:dpo", "transfer_outside_eea",
     {"context": {"transfer_impact_assessment_id": "tia-1"}}, "denied",
     ["gdpr-transfer-mechanism"]),
    ("gdpr", "dpo_transfer_with_scc", "human:dpo", "transfer_outside_eea",
     {"context": {"transfer_mechanism": "standard_contractual_clauses",
                  "transfer_impact_assessment_id": "tia-1"}}, "allowed", ["gdpr-dpo-transfer"]),
    ("gdpr", "profiling_with_consent", "ai_agent:marketing", "profile_customer",
     {"context": {"lawful_basis": "consent", "objected_to_profiling": False}}, "allowed",
     ["gdpr-profiling-consent"]),
    ("gdpr", "profiling_objection_unstated", "ai_agent:marketing", "profile_customer",
     {"context": {"lawful_basis": "consent"}}, "denied", ["gdpr-profiling-objection"]),
    ("gdpr", "profiling_with_legal_effect", "ai_agent:marketing", "profile_customer",
     {"context": {"lawful_basis": "consent", "objected_to_profiling": False,
                  "legal_effect": True}}, "escalated", ["gdpr-automated-decision"]),
    ("gdpr", "erasure_by_dpo", "human:dpo", "erase_personal_data",
     {"context": {"request_verified": True, "legal_hold": False}}, "allowed",
     ["gdpr-dpo-erasure"]),
    ("gdpr", "erasure_hold_unstated", "human:dpo", "erase_personal_data",
     {"context": {"request_verified": True}}, "denied", ["gdpr-erasure-legal-hold"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "actor", "action", "extra", "outcome", "deciding"),
    [pytest.param(case[0], *case[2:], id=f"{case[0]}-{case[1]}") for case in OTHER_CASES],
)
def test_example_decisions(name, actor, action, extra, outcome, deciding):
    result = decide(name, actor, action, **extra)
    assert result.outcome == outcome, result.reasons
    assert list(result.deciding_rule_ids) == deciding
    if not deciding:
        assert result.reasons[0].rule_id == "mode:strict"
