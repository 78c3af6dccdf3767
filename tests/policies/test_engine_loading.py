"""Loading policy documents: both original Lexecon forms, validation errors, hashing, YAML."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
import rfc8785

from apps.policies.engine import (
    PolicyValidationError,
    compile_policy,
    detect_dialect,
    load_document_text,
    parse_policy,
    policy_hash,
)

# Shaped like the original repository's examples/example_policy.json (long form: term_id /
# term_type / label, relation_id / relation_type / source / target, string conditions, and the
# object / justification kept in metadata as the original engine's to_dict() wrote them).
LONG_FORM: dict[str, Any] = {
    "mode": "strict",
    "terms": [
        {"term_id": "actor:assistant", "term_type": "actor", "label": "Assistant",
         "description": "Office assistant model", "metadata": {}},
        {"term_id": "actor:analyst", "term_type": "actor", "label": "Analyst",
         "description": "Human analyst", "metadata": {"risk": {"security": 20}}},
        {"term_id": "action:summarise", "term_type": "action", "label": "Summarise",
         "description": "", "metadata": {}},
        {"term_id": "action:lookup", "term_type": "action", "label": "Look up",
         "description": "", "metadata": {}},
        {"term_id": "action:delete", "term_type": "action", "label": "Delete",
         "description": "", "metadata": {}},
        {"term_id": "data:contracts", "term_type": "data_class", "label": "Contracts",
         "description": "Signed contracts", "metadata": {}},
    ],
    "relations": [
        {"relation_id": "permits:actor:analyst:action:summarise", "relation_type": "permits",
         "source": "actor:analyst", "target": "action:summarise", "conditions": [],
         "metadata": {}},
        {"relation_id": "permits:actor:assistant:action:lookup", "relation_type": "permits",
         "source": "actor:assistant", "target": "action:lookup", "conditions": [],
         "metadata": {"object": "data:contracts", "justification": "Lookups are read-only"}},
        {"relation_id": "forbids:actor:assistant:action:delete", "relation_type": "forbids",
         "source": "actor:assistant", "target": "action:delete",
         "conditions": ["legal_hold"], "metadata": {"ticket": "GOV-12"}},
    ],
}  # fmt: skip

# Shaped like the original examples/policies/*.json (short form: id / type / name, extra term
# attributes, subject / action / object, string conditions, requires with a single "condition"
# and no subject, references to terms that are never declared, constraints and other top-level
# sections the original engine ignored).
SHORT_FORM: dict[str, Any] = {
    "name": "Legal department assistants",
    "version": "2.1.0",
    "description": "Assistants working on contracts and case files",
    "mode": "strict",
    "compliance_frameworks": ["SOC 2", "GDPR"],
    "terms": [
        {"id": "actor:drafting_model", "type": "actor", "name": "drafting_model",
         "description": "Drafts contract clauses"},
        {"id": "actor:paralegal", "type": "actor", "name": "paralegal",
         "description": "Human paralegal"},
        {"id": "action:draft_clause", "type": "action", "name": "draft_clause"},
        {"id": "action:read_case_file", "type": "action", "name": "read_case_file"},
        {"id": "action:share_externally", "type": "action", "name": "share_externally"},
        {"id": "data:privileged", "type": "data_class", "name": "privileged_material",
         "description": "Attorney-client privileged", "sensitivity": "critical",
         "requires_encryption": True},
        {"id": "data:public_filings", "type": "data_class", "name": "public_filings",
         "sensitivity": "low"},
    ],
    "relations": [
        {"type": "permits", "subject": "actor:drafting_model", "action": "action:draft_clause",
         "justification": "Drafting is the model's job"},
        {"type": "permits", "subject": "actor:drafting_model", "action": "action:read_case_file",
         "object": "data:public_filings", "justification": "Public filings are public"},
        {"type": "forbids", "subject": "actor:drafting_model", "action": "action:read_case_file",
         "object": "data:privileged", "justification": "Privilege stays with humans"},
        {"type": "forbids", "subject": "actor:drafting_model",
         "action": "action:share_externally",
         "conditions": ["counterparty_unverified", "contains_personal_data"],
         "justification": "No unverified disclosures"},
        {"type": "permits", "subject": "actor:paralegal", "action": "action:file_motion",
         "object": "data:court_documents", "justification": "Paralegals file motions"},
        {"type": "requires", "action": "action:draft_clause",
         "condition": "template_library_version_pinned",
         "justification": "Clauses come from the pinned template library"},
        {"type": "requires", "subject": "actor:paralegal", "action": "action:file_motion",
         "condition": "attorney_signed_off", "justification": "An attorney signs every filing"},
    ],
    "constraints": [
        {"name": "after_hours", "condition": "time_outside_business_hours",
         "action": "require_additional_approval", "justification": "Off-hours review"},
    ],
    "audit_requirements": {"log_all_decisions": True, "retention_period_days": 2555},
    "metadata": {"author": "Legal Ops", "created": "2026-01-01"},
}  # fmt: skip


def native(**overrides: Any) -> dict[str, Any]:
    """A small valid native document; keyword arguments replace top-level keys."""
    doc: dict[str, Any] = {
        "name": "Native",
        "version": "1.0.0",
        "mode": "strict",
        "terms": [
            {"id": "actor:agent", "type": "actor"},
            {"id": "actor:bot:*", "type": "actor"},
            {"id": "action:read", "type": "action"},
            {"id": "action:write", "type": "action"},
            {"id": "data:pii", "type": "data_class"},
        ],
        "relations": [
            {"id": "read", "type": "permits", "subject": "actor:agent", "action": "action:read",
             "justification": "Reading is fine", "controls": ["SOC2:CC6.1"]},
            {"id": "write", "type": "requires", "subject": "actor:bot:*",
             "action": "action:write", "object": "data:pii",
             "conditions": [{"field": "purpose", "op": "eq", "value": "support"}],
             "justification": "Bots write PII for support"},
        ],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def decide(doc: dict[str, Any], **request: Any):
    """Evaluate one request against a document."""
    policy = parse_policy(doc)
    return compile_policy(policy, policy_hash(policy)).evaluate(request)


def error_paths(doc: Any) -> list[str]:
    """The paths of every validation error of ``doc`` (fails if the document is valid)."""
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(doc)
    return [error["path"] for error in caught.value.errors]


def reorder_keys(value: Any) -> Any:
    """Reverse the key order of every object, recursively."""
    if isinstance(value, dict):
        return {key: reorder_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reorder_keys(item) for item in value]
    return value


# -- the original Lexecon forms ---------------------------------------------------------------


def test_long_form_loads_with_ids_and_lifted_metadata():
    policy = parse_policy(copy.deepcopy(LONG_FORM))
    assert policy.dialect == "legacy"
    assert policy.name == "Untitled legacy policy"
    relations = {relation.id: relation for relation in policy.relations}
    lookup = relations["permits:actor:assistant:action:lookup"]
    assert (lookup.subject, lookup.action, lookup.object) == (
        "actor:assistant",
        "action:lookup",
        "data:contracts",
    )
    assert lookup.justification == "Lookups are read-only"
    assert dict(lookup.metadata) == {}
    delete = relations["forbids:actor:assistant:action:delete"]
    assert [c.to_dict() for c in delete.conditions] == [
        {"field": "legal_hold", "op": "eq", "value": True}
    ]
    assert dict(delete.metadata) == {"ticket": "GOV-12"}
    assert policy.terms_by_id["actor:analyst"].name == "Analyst"
    assert dict(policy.terms_by_id["actor:analyst"].metadata) == {"risk": {"security": 20}}


# The original's short form as its users write it: no legacy marker at all (so it reads as a
# native document) and no justification on any relation (the original treats it as optional).
SHORT_FORM_WITHOUT_JUSTIFICATIONS: dict[str, Any] = {
    "name": "Support desk",
    "version": "1.0",
    "mode": "strict",
    "terms": [
        {"id": "actor:ai_agent:*", "type": "actor", "name": "Any AI agent"},
        {"id": "action:read_ticket", "type": "action", "name": "Read a ticket"},
        {"id": "action:close_account", "type": "action", "name": "Close an account"},
        {"id": "action:issue_refund", "type": "action", "name": "Issue a refund"},
        {"id": "action:export", "type": "action", "name": "Export"},
        {"id": "data:pii", "type": "data_class", "name": "Personal data"},
        {"id": "resource:crm/*", "type": "resource", "name": "CRM records"},
    ],
    "relations": [
        {"type": "permits", "subject": "actor:ai_agent:*", "action": "action:read_ticket"},
        {"type": "escalates", "subject": "actor:ai_agent:*", "action": "action:close_account"},
        {"type": "forbids", "subject": "actor:ai_agent:*", "action": "action:export",
         "object": "data:pii"},
        {"type": "forbids", "subject": "actor:ai_agent:*", "action": "action:export",
         "object": "resource:crm/*"},
        {"type": "requires", "subject": "actor:ai_agent:*", "action": "action:issue_refund",
         "conditions": [{"field": "amount", "op": "lte", "value": 500},
                        {"field": "currency", "op": "in", "value": ["EUR", "USD"]}]},
    ],
}  # fmt: skip


def test_short_form_without_justifications_loads_with_generated_reasons():
    # Issue 15 §4: this was refused ("relations[0].justification is required").
    policy = parse_policy(copy.deepcopy(SHORT_FORM_WITHOUT_JUSTIFICATIONS))
    assert policy.dialect == "native"
    reasons = sorted(relation.justification for relation in policy.relations)
    assert reasons == [
        "escalates ai_agent:* → close_account",
        "forbids ai_agent:* → export on data class pii",
        "forbids ai_agent:* → export on resource crm/*",
        "permits ai_agent:* → read_ticket",
        'requires ai_agent:* → issue_refund when amount ≤ 500 and currency in ["EUR","USD"]',
    ]
    doc = copy.deepcopy(SHORT_FORM_WITHOUT_JUSTIFICATIONS)
    read = decide(doc, actor="ai_agent:support", action="read_ticket")
    assert read.outcome == "allowed"
    assert read.reason == "permits ai_agent:* → read_ticket"
    refund = decide(
        doc, actor="ai_agent:x", action="issue_refund", context={"amount": 20, "currency": "EUR"}
    )
    assert refund.outcome == "allowed"
    assert refund.reason.startswith("requires ai_agent:* → issue_refund when amount ≤ 500")


def test_generated_reason_is_part_of_the_hash_and_an_explicit_one_wins():
    doc = copy.deepcopy(SHORT_FORM_WITHOUT_JUSTIFICATIONS)
    written = copy.deepcopy(doc)
    written["relations"][0]["justification"] = "permits ai_agent:* → read_ticket"
    assert policy_hash(doc) == policy_hash(written)  # the generated text is the normalised form
    written["relations"][0]["justification"] = "Reading tickets is the job"
    assert policy_hash(doc) != policy_hash(written)


def test_long_form_decisions():
    doc = copy.deepcopy(LONG_FORM)
    assert decide(doc, actor="analyst", action="summarise").outcome == "allowed"
    assert decide(doc, actor="assistant", action="lookup").outcome == "denied"
    looked_up = decide(doc, actor="assistant", action="lookup", data_classes=["contracts"])
    assert looked_up.outcome == "allowed"
    assert looked_up.reason == "Lookups are read-only"
    # The string condition names a fact; when the caller does not state it, the forbid still
    # applies (fail closed) and says so.
    unstated = decide(doc, actor="assistant", action="delete")
    assert unstated.outcome == "denied"
    assert unstated.reasons[0].rule_id == "forbids:actor:assistant:action:delete"
    assert "fail-closed" in unstated.reasons[0].message
    no_hold = decide(doc, actor="assistant", action="delete", context={"legal_hold": False})
    assert [r.rule_id for r in no_hold.reasons] == ["mode:strict"]


def test_short_form_maps_terms_and_keeps_legacy_sections():
    policy = parse_policy(copy.deepcopy(SHORT_FORM))
    assert policy.dialect == "legacy"
    assert (policy.name, policy.version, policy.mode) == (
        "Legal department assistants",
        "2.1.0",
        "strict",
    )
    privileged = policy.terms_by_id["data:privileged"]
    assert privileged.name == "privileged_material"
    assert dict(privileged.metadata) == {"sensitivity": "critical", "requires_encryption": True}
    implicit = {t.id for t in policy.terms if t.description.startswith("Implicitly defined")}
    assert implicit == {"action:file_motion", "data:court_documents", "actor:*"}
    legacy = policy.to_document()["metadata"]["legacy"]
    assert legacy["compliance_frameworks"] == ["SOC 2", "GDPR"]
    assert legacy["constraints"][0]["name"] == "after_hours"
    assert legacy["audit_requirements"]["retention_period_days"] == 2555
    assert policy.to_document()["metadata"]["author"] == "Legal Ops"


def test_legacy_requires_is_a_fail_closed_precondition():
    doc = copy.deepcopy(SHORT_FORM)
    unpinned = decide(doc, actor="drafting_model", action="draft_clause")
    assert unpinned.outcome == "denied"
    assert unpinned.reasons[0].effect == "forbid"
    assert "template_library_version_pinned" in unpinned.reasons[0].message
    assert "Clauses come from the pinned template library" in unpinned.reasons[0].message
    pinned = decide(
        doc,
        actor="drafting_model",
        action="draft_clause",
        context={"template_library_version_pinned": True},
    )
    assert pinned.outcome == "allowed"
    # The requirement binds every actor (no subject in the original), and it never grants:
    # an actor with no permit stays denied even when the fact is asserted.
    stranger = decide(
        doc,
        actor="intern",
        action="draft_clause",
        context={"template_library_version_pinned": True},
    )
    assert stranger.outcome == "denied"
    assert [r.rule_id for r in stranger.reasons] == ["mode:strict"]
    forbids = [r for r in parse_policy(doc).relations if "legacy_requires" in r.metadata]
    assert {r.subject for r in forbids} == {"actor:*", "actor:paralegal"}
    assert all(r.type == "forbids" for r in forbids)


def test_legacy_requires_with_subject_and_implicit_terms():
    doc = copy.deepcopy(SHORT_FORM)
    signed = decide(
        doc,
        actor="paralegal",
        action="file_motion",
        data_classes=["court_documents"],
        context={"attorney_signed_off": True},
    )
    assert signed.outcome == "allowed"
    unsigned = decide(
        doc,
        actor="paralegal",
        action="file_motion",
        data_classes=["court_documents"],
        context={"attorney_signed_off": False},
    )
    assert unsigned.outcome == "denied"


def test_legacy_string_conditions_are_anded_flags():
    doc = copy.deepcopy(SHORT_FORM)
    both = {"counterparty_unverified": True, "contains_personal_data": True}
    one = {"counterparty_unverified": True, "contains_personal_data": False}
    request = {"actor": "drafting_model", "action": "share_externally"}
    assert decide(doc, **request, context=both).reasons[0].effect == "forbid"
    assert decide(doc, **request, context=one).reasons[0].rule_id == "mode:strict"
    missing = decide(doc, **request, context={"contains_personal_data": True})
    assert missing.reasons[0].effect == "forbid"
    assert "fail-closed" in missing.reasons[0].message


@pytest.mark.parametrize(
    "doc",
    [pytest.param(LONG_FORM, id="long_form"), pytest.param(SHORT_FORM, id="short_form")],
)
def test_legacy_documents_normalise_to_an_equivalent_native_document(doc):
    policy = parse_policy(copy.deepcopy(doc))
    normalised = policy.to_document()
    assert detect_dialect(normalised) == "native"
    again = parse_policy(normalised)
    assert again == policy
    assert policy_hash(again) == policy_hash(copy.deepcopy(doc))


def test_original_engine_request_shapes_still_work():
    """Requests name actors without prefix (``model``) or with it (``actor:model``)."""
    doc = copy.deepcopy(LONG_FORM)
    for actor in ("analyst", "actor:analyst"):
        assert decide(doc, actor=actor, action="action:summarise").outcome == "allowed"
    # The original engine also matched by substring ("lys" in "actor:analyst"); not any more.
    assert decide(doc, actor="lys", action="summarise").outcome == "denied"
    assert decide(doc, actor="Analyst", action="summarise").outcome == "denied"


# -- validation errors ------------------------------------------------------------------------


def test_every_error_is_reported_with_its_path():
    doc = native(mode="lenient")
    doc["relations"][1]["conditions"][0]["op"] = "between"
    doc["relations"].append(
        {"type": "allows", "subject": "actor:agent", "action": "action:read", "justification": "x"}
    )
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(doc)
    errors = caught.value.errors
    assert [e["path"] for e in errors] == [
        "mode",
        "relations[1].conditions[0].op",
        "relations[2].type",
    ]
    assert "lenient" in errors[0]["message"]
    assert "between" in errors[1]["message"]
    assert "allows" in errors[2]["message"]
    assert "(and 2 more)" in str(caught.value)


def relation(**fields: Any) -> dict[str, Any]:
    """A valid relation with some fields replaced (a value of None removes the field)."""
    base = {
        "type": "permits",
        "subject": "actor:agent",
        "action": "action:read",
        "justification": "because",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def condition(**fields: Any) -> dict[str, Any]:
    """A one-condition relation with the condition's fields given."""
    return relation(conditions=[fields])


BAD_DOCUMENTS = [
    ("missing_name", native(name=None), "name", "required"),
    ("empty_name", native(name="  "), "name", "non-empty"),
    ("float_version", native(version=1.0), "version", "quote it"),
    ("missing_mode", native(mode=None), "mode", "required"),
    ("unknown_top_level_key", {**native(), "owner": "me"}, "owner", "unknown key"),
    ("terms_not_a_list", native(terms={"a": 1}), "terms", "must be a list"),
    ("unknown_relation_type", native(relations=[relation(type="implies")]),
     "relations[0].type", "must be one of"),
    ("undefined_subject", native(relations=[relation(subject="actor:ghost")]),
     "relations[0].subject", "undefined term 'actor:ghost'"),
    ("wrong_slot_type", native(relations=[relation(subject="action:read")]),
     "relations[0].subject", "is a action term"),
    ("object_must_be_data_or_resource", native(relations=[relation(object="actor:agent")]),
     "relations[0].object", "is a actor term"),
    ("empty_justification", native(relations=[relation(justification=" ")]),
     "relations[0].justification", "non-empty"),
    ("requires_without_conditions", native(relations=[relation(type="requires")]),
     "relations[0].conditions", "at least one condition"),
    ("unknown_relation_key", native(relations=[relation(conditons=[])]),
     "relations[0].conditons", "unknown key"),
    ("reserved_rule_id", native(relations=[relation(id="mode:strict")]),
     "relations[0].id", "reserved"),
    ("bad_control_id", native(relations=[relation(controls=["SOC2 CC6.1"])]),
     "relations[0].controls[0]", "control id"),
    ("unknown_op", native(relations=[condition(field="a", op="between", value=1)]),
     "relations[0].conditions[0].op", "must be one of"),
    ("order_op_on_bool", native(relations=[condition(field="a", op="lt", value=True)]),
     "relations[0].conditions[0].value", "only numbers or strings"),
    ("mixed_in_list", native(relations=[condition(field="a", op="in", value=[1, "1"])]),
     "relations[0].conditions[0].value", "must all be strings"),
    ("empty_in_list", native(relations=[condition(field="a", op="not_in", value=[])]),
     "relations[0].conditions[0].value", "non-empty list"),
    ("in_without_list", native(relations=[condition(field="a", op="in", value="x")]),
     "relations[0].conditions[0].value", "non-empty list"),
    ("exists_needs_bool", native(relations=[condition(field="a", op="exists", value=1)]),
     "relations[0].conditions[0].value", "true or false"),
    ("eq_null", native(relations=[condition(field="a", op="eq", value=None)]),
     "relations[0].conditions[0].value", "use exists"),
    ("missing_value", native(relations=[condition(field="a", op="eq")]),
     "relations[0].conditions[0].value", "required"),
    ("empty_path_segment", native(relations=[condition(field="a..b", op="eq", value=1)]),
     "relations[0].conditions[0].field", "empty path segments"),
    ("unknown_condition_key",
     native(relations=[condition(field="a", op="eq", value=1, unit="EUR")]),
     "relations[0].conditions[0].unit", "unknown key"),
    ("huge_integer_literal", native(relations=[condition(field="a", op="gt", value=2**60)]),
     "relations[0].conditions[0].value", "2**53"),
    ("term_prefix_mismatch", native(terms=[{"id": "data:x", "type": "actor"}]),
     "terms[0].id", "is a data_class term"),
    ("term_without_prefix", native(terms=[{"id": "agent", "type": "actor"}]),
     "terms[0].id", "type prefix"),
    ("term_id_with_space", native(terms=[{"id": "actor:a b", "type": "actor"}]),
     "terms[0].id", "whitespace"),
    ("unknown_term_type", native(terms=[{"id": "actor:x", "type": "context"}]),
     "terms[0].type", "must be one of"),
    ("unknown_risk_dimension",
     native(terms=[{"id": "actor:x", "type": "actor", "metadata": {"risk": {"happiness": 3}}}]),
     "terms[0].metadata.risk.happiness", "unknown risk dimension"),
    ("risk_out_of_range",
     native(terms=[{"id": "actor:x", "type": "actor", "metadata": {"risk": {"privacy": 101}}}]),
     "terms[0].metadata.risk.privacy", "0 to 100"),
    ("nan_in_metadata", native(metadata={"score": float("nan")}), "metadata.score", "finite"),
    ("non_json_metadata", native(metadata={"when": {1, 2}}), "metadata.when", "not a JSON"),
    ("nul_in_name", native(name="a\u0000b"), "name", "NUL"),
    ("nul_in_condition_value",
     native(relations=[condition(field="a", op="in", value=["x", "\u0000"])]),
     "relations[0].conditions[0].value[1]", "NUL"),
    ("nul_in_metadata_key", native(metadata={"a\u0000b": 1}), "metadata.a\\u0000b", "NUL"),
    ("nul_in_legacy_section", {**copy.deepcopy(SHORT_FORM), "constraints": ["\u0000"]},
     "constraints[0]", "NUL"),
    ("legacy_implies", {**copy.deepcopy(LONG_FORM), "relations": [
        {"relation_id": "x", "relation_type": "implies", "source": "actor:user",
         "target": "action:read"}]}, "relations[0].relation_type", "not supported"),
    ("legacy_context_term", {**copy.deepcopy(LONG_FORM), "terms": [
        {"term_id": "context:office", "term_type": "context", "label": "Office"}]},
     "terms[0].term_type", "must be one of"),
    ("legacy_requires_without_condition", {**copy.deepcopy(SHORT_FORM), "relations": [
        {"type": "requires", "action": "action:draft_clause", "condition": None}]},
     "relations[0].conditions", "at least one condition"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [pytest.param(doc, path, fragment, id=case) for case, doc, path, fragment in BAD_DOCUMENTS],
)
def test_bad_documents_are_rejected_with_path_and_reason(doc, path, fragment):
    with pytest.raises(PolicyValidationError) as caught:
        parse_policy(doc)
    messages = {error["path"]: error["message"] for error in caught.value.errors}
    assert path in messages, caught.value.errors
    assert fragment in messages[path]


def test_non_object_documents_are_rejected():
    for value in (None, [], "policy", 3):
        assert error_paths(value) == [""]


def test_duplicate_ids_with_different_content_are_rejected():
    twice = native()
    twice["relations"].append({**twice["relations"][0], "justification": "changed"})
    assert error_paths(twice) == ["relations[2].id"]
    terms = native()
    terms["terms"].append({"id": "actor:agent", "type": "actor", "name": "other"})
    assert error_paths(terms) == ["terms[5].id"]


def test_a_broken_term_is_reported_once_not_at_every_reference():
    doc = native()
    doc["terms"][0]["metadata"] = {"risk": {"privacy": "high"}}
    assert error_paths(doc) == ["terms[0].metadata.risk.privacy"]


# -- normalisation and hashing ----------------------------------------------------------------


def test_hash_is_sha256_of_rfc8785_of_the_normalised_document():
    policy = parse_policy(native())
    expected = hashlib.sha256(rfc8785.dumps(policy.to_document())).hexdigest()
    assert policy_hash(policy) == expected == policy_hash(native())
    assert len(expected) == 64


def test_reordered_keys_give_the_same_hash():
    doc = native()
    assert list(reorder_keys(doc)) != list(doc)
    assert policy_hash(reorder_keys(doc)) == policy_hash(doc)
    assert policy_hash(reorder_keys(copy.deepcopy(SHORT_FORM))) == policy_hash(SHORT_FORM)


def test_reordered_and_duplicated_entries_give_the_same_hash():
    doc = native()
    shuffled = native(
        terms=list(reversed(doc["terms"])),
        relations=[*reversed(doc["relations"]), copy.deepcopy(doc["relations"][0])],
    )
    shuffled["relations"][0]["conditions"][0:0] = [
        {"field": "purpose", "op": "eq", "value": "support"}  # an exact duplicate condition
    ]
    assert policy_hash(shuffled) == policy_hash(doc)


def test_equivalent_literals_give_the_same_hash():
    one = native(
        relations=[relation(conditions=[{"field": "n", "op": "in", "value": [3, 1, 2.0]}])]
    )
    two = native(
        relations=[relation(conditions=[{"field": "n", "op": "in", "value": [1, 2, 3, 1]}])]
    )
    assert policy_hash(one) == policy_hash(two)
    assert parse_policy(one).relations[0].conditions[0].value == (1, 2, 3)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.update(mode="permissive"), id="mode"),
        pytest.param(lambda d: d.update(version="1.0.1"), id="version"),
        pytest.param(lambda d: d["relations"][0].update(justification="new"), id="justification"),
        pytest.param(lambda d: d["relations"][1]["conditions"][0].update(value="x"), id="literal"),
        pytest.param(lambda d: d["relations"][0].update(controls=[]), id="controls"),
        pytest.param(lambda d: d["terms"][0].update(metadata={"risk": {"privacy": 1}}), id="risk"),
    ],
)
def test_meaningful_changes_change_the_hash(change):
    doc = native()
    change(doc)
    assert policy_hash(doc) != policy_hash(native())


def test_generated_relation_ids_are_content_hashes():
    doc = native(relations=[relation(), relation(type="forbids", justification="no")])
    policy = parse_policy(doc)
    for rel in policy.relations:
        content = rel.to_dict()
        del content["id"]
        digest = hashlib.sha256(rfc8785.dumps(content)).hexdigest()
        assert rel.id == f"r-{digest[:12]}"
    assert {r.id for r in parse_policy(reorder_keys(doc)).relations} == {
        r.id for r in policy.relations
    }


def test_policy_and_results_are_immutable():
    policy = parse_policy(native(metadata={"owner": {"team": "x"}}))
    with pytest.raises(TypeError):
        policy.metadata["owner"] = "me"  # type: ignore[index]
    document = policy.to_document()
    document["metadata"]["owner"]["team"] = "changed"
    assert policy.to_document()["metadata"]["owner"]["team"] == "x"
    result = decide(native(), actor="agent", action="read")
    with pytest.raises(AttributeError):
        result.outcome = "allowed"  # type: ignore[misc]


# -- text loading -----------------------------------------------------------------------------

YAML_TEXT = """
name: Native
version: "1.0.0"
mode: strict
terms:
  - {id: "actor:agent", type: actor}
  - {id: "actor:bot:*", type: actor}
  - {id: "action:read", type: action}
  - {id: "action:write", type: action}
  - {id: "data:pii", type: data_class}
relations:
  - id: write
    type: requires
    subject: "actor:bot:*"
    action: "action:write"
    object: "data:pii"
    conditions:
      - {field: purpose, op: eq, value: support}
    justification: Bots write PII for support
  - id: read
    type: permits
    subject: "actor:agent"
    action: "action:read"
    justification: Reading is fine
    controls: ["SOC2:CC6.1"]
"""


def test_yaml_text_loads_to_the_same_policy_as_json():
    from_yaml = load_document_text(YAML_TEXT)
    from_json = load_document_text(json.dumps(native()))
    assert policy_hash(from_yaml) == policy_hash(from_json)


def test_yaml_dates_become_iso_strings():
    text = YAML_TEXT + "metadata:\n  created: 2026-01-01\n"
    assert parse_policy(load_document_text(text)).metadata["created"] == "2026-01-01"


def test_yaml_unquoted_version_is_explained():
    text = YAML_TEXT.replace('version: "1.0.0"', "version: 1.0")
    assert error_paths(load_document_text(text)) == ["version"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param('{"name": "a", "name": "b"}', "duplicate key", id="duplicate_json_key"),
        pytest.param('{"name": NaN}', "invalid JSON", id="nan"),
        pytest.param('{"name": ', "invalid JSON", id="truncated_json"),
        pytest.param("- just\n- a list\n", "must be a JSON/YAML object", id="yaml_list"),
        pytest.param("name: [unclosed\n", "invalid JSON or YAML", id="bad_yaml"),
        pytest.param("", "must be a JSON/YAML object", id="empty"),
        pytest.param(
            "a: &x [1, 2]\nb: [*x, *x]\nname: n\n", "aliases are not supported", id="yaml_alias"
        ),
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep_json"),
    ],
)
def test_bad_text_is_rejected(text, fragment):
    with pytest.raises(PolicyValidationError) as caught:
        load_document_text(text)
    assert fragment in caught.value.errors[0]["message"]
