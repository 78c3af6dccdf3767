"""Policy documents: parsing, validation, normalisation and hashing.

Native document (what :meth:`Policy.to_document` emits and new policies should be written in)::

    {
      "name": "Customer service",            # required, non-empty string
      "version": "1.2.0",                     # required, non-empty string
      "mode": "strict",                       # required: strict | permissive | paranoid
      "description": "...",                   # optional string
      "metadata": {...},                      # optional JSON object
      "terms": [                              # optional
        {"id": "actor:ai_agent:*", "type": "actor", "name": "...", "description": "...",
         "metadata": {"risk": {"security": 40}}}
      ],
      "relations": [                          # optional
        {"id": "cs-permit-access",            # optional; generated from content when absent
         "type": "permits",                   # permits | forbids | escalates | requires
         "subject": "actor:ai_agent:*",       # a defined actor term
         "action": "action:access_customer_data",   # a defined action term
         "object": "data:pii",                # optional: a defined data_class or resource term
         "conditions": [{"field": "purpose", "op": "eq", "value": "support_ticket"}],
         "justification": "Support staff may read tickets",   # optional reason text (below)
         "controls": ["SOC2:CC6.1"],          # optional framework control ids
         "metadata": {}}                      # optional JSON object
      ]
    }

A relation without ``justification`` (the original Lexecon treats it as optional) gets one generated
from the rule by :func:`generated_justification`, e.g. ``permits ai_agent:* → read_ticket``; an
explicit one must be a non-empty string.

Term ids carry their type as a prefix (``actor:``, ``action:``, ``resource:``, ``data:`` for
``data_class``). A term id containing ``*`` or ``?`` is a glob over the part after the prefix.
Condition semantics live in :mod:`.conditions`; a ``requires`` relation is a permit that needs at
least one condition.

Normalisation (the input of :func:`policy_hash`): missing optional fields get explicit defaults
(``""``, ``{}``, ``[]``, ``null`` object), conditions are sorted and de-duplicated, ``in`` lists
are sorted and de-duplicated, integral floats in condition literals become integers, controls are
sorted and de-duplicated, relations get their generated id, exact duplicate terms/relations are
dropped, and terms and relations are sorted by id. Because evaluation does not depend on order
or duplicates, **reordered keys, reordered terms/relations and duplicated entries all give the same
hash**; any change that could change a decision or a reason gives a different one. The hash is
hex SHA-256 of the RFC 8785 canonical JSON of the normalised document.

Generated relation ids are ``r-`` + the first 12 hex digits of SHA-256 over the RFC 8785 JSON of
the normalised relation without its id, so they are stable across loads and machines.

Legacy dialect (the original Lexecon policy JSON loads unchanged)
------------------------------------------------------------------
A document is read in the legacy dialect when it has any of these markers (see
:func:`detect_dialect`): a legacy top-level key (``compliance_frameworks``, ``constraints``,
``audit_requirements``, ``security_controls``, ``model_governance``, ``policy_id``,
``effective_from``, ``effective_until``); a term with ``term_id``, ``term_type`` or ``label``; a
relation with ``relation_id``, ``relation_type``, ``source``, ``target`` or ``condition``; or a
condition written as a bare string. Otherwise the document is native and validated strictly. The
legacy dialect maps onto the native model as follows:

* Terms: ``term_id``/``id`` -> ``id``; ``term_type``/``type`` -> ``type`` (actor, action,
  resource, data_class; the old ``context`` type is rejected because no relation could use it);
  ``label``/``name`` -> ``name``; any other key of the term (``sensitivity``,
  ``requires_encryption``, ``attributes``...) is kept in the term's ``metadata``.
* Relations: ``relation_id``/``id`` -> ``id``; ``relation_type``/``type`` -> ``type``;
  ``source``/``subject`` -> ``subject``; ``target``/``action`` -> ``action``. The long form kept
  ``object``, ``justification`` and ``condition`` inside ``metadata``; they are lifted out.
  ``implies`` and ``conflicts`` (never evaluated by the original engine) are rejected.
* A condition written as a bare string (``"need_to_know"``, ``"trade_value > threshold"``) names
  a fact the caller asserts in the context: it becomes ``{"field": <string>, "op": "eq",
  "value": true}``. Dict conditions use the native form.
* ``permits``/``forbids``/``escalates`` keep their meaning (their conditions now really are
  evaluated; the original engine ignored them, and an unevaluable forbid still applies).
* A legacy ``requires`` (``{"type": "requires", "action": ..., "condition": "audit_logged"}``)
  states a *precondition*, not a grant: "this action requires X". It becomes one ``forbids`` per
  required condition, with the condition negated (``eq`` -> ``ne``, ``in`` -> ``not_in``,
  ``lt`` -> ``gte``, ``exists true`` -> ``exists false`` ...) and the original kept in
  ``metadata.legacy_requires``. So the action is denied unless the context asserts the fact, and
  a missing fact fails closed. Mapping it to a native (permitting) ``requires`` would have granted
  the action to everyone who asserts the fact, which the original authors never wrote. A legacy
  ``requires`` without a subject applies to every actor (``actor:*``).
* Relations may reference terms that the document never defines (the original engine matched by
  id only). Those terms are defined implicitly (empty name and metadata, a description saying
  so). Native documents must define every term they reference.
* A missing justification is generated as in the native form; a missing ``name`` becomes
  ``"Untitled legacy policy"``, a missing ``version`` ``"0.0.0"``, a missing ``mode`` ``strict``
  (the original default).
* Legacy top-level keys are preserved verbatim under ``metadata.legacy`` (they are not evaluated;
  ``constraints`` were free text in the original and were never enforced by its engine).
* Term labels are not matched against request values and substring matching is gone: a request
  value matches a term only by exact id (without prefix) or by an explicit glob.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

import rfc8785
import yaml

from .conditions import OPS, SET_OPS, validate_condition_literal, validate_field
from .glob import is_glob
from .jsonvalues import EMPTY_MAPPING, freeze, gc_paused, json_problem, nul_paths, thaw

MODES = ("strict", "permissive", "paranoid")
RELATION_TYPES = ("permits", "forbids", "escalates", "requires")
TERM_TYPES = ("actor", "action", "resource", "data_class")
TERM_PREFIXES = {
    "actor": "actor:",
    "action": "action:",
    "resource": "resource:",
    "data_class": "data:",
}
PREFIX_TYPES = {prefix: term_type for term_type, prefix in TERM_PREFIXES.items()}
RISK_DIMENSIONS = frozenset(
    {"security", "privacy", "compliance", "operational", "reputational", "financial"}
)
RESERVED_RULE_PREFIXES = ("mode:", "request:", "engine:")

MAX_NAME_LENGTH = 200
MAX_VERSION_LENGTH = 64
MAX_TEXT_LENGTH = 4000
MAX_ID_LENGTH = 256
MAX_CONTROL_LENGTH = 100

LEGACY_TOP_KEYS = frozenset(
    {
        "compliance_frameworks",
        "constraints",
        "audit_requirements",
        "security_controls",
        "model_governance",
        "policy_id",
        "effective_from",
        "effective_until",
    }
)
LEGACY_TERM_KEYS = frozenset({"term_id", "term_type", "label"})
LEGACY_RELATION_KEYS = frozenset({"relation_id", "relation_type", "source", "target", "condition"})
NATIVE_TOP_KEYS = frozenset(
    {"name", "version", "mode", "description", "metadata", "terms", "relations"}
)
NATIVE_TERM_KEYS = frozenset({"id", "type", "name", "description", "metadata"})
NATIVE_RELATION_KEYS = frozenset(
    {
        "id",
        "type",
        "subject",
        "action",
        "object",
        "conditions",
        "justification",
        "controls",
        "metadata",
    }
)
CONDITION_KEYS = frozenset({"field", "op", "value"})
LEGACY_DEFAULT_NAME = "Untitled legacy policy"
LEGACY_DEFAULT_VERSION = "0.0.0"
IMPLICIT_TERM_DESCRIPTION = "Implicitly defined: referenced by a legacy relation, never declared."
NEGATED_OPS = {
    "eq": "ne",
    "ne": "eq",
    "in": "not_in",
    "not_in": "in",
    "lt": "gte",
    "gte": "lt",
    "gt": "lte",
    "lte": "gt",
}

_ID_CHARS = re.compile(r"\S+")
_CONTROL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*:\S+")


class PolicyValidationError(ValueError):
    """Raised when a policy document is invalid; ``errors`` lists every problem found.

    Each error is ``{"path": "relations[3].conditions[0].op", "message": "..."}``, in document
    order, so a UI or API can show all of them at once instead of one per round trip.
    """

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        first = errors[0] if errors else {"path": "", "message": "invalid policy"}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first['path'] or '<document>'}: {first['message']}{more}")


@dataclass(frozen=True, slots=True)
class Condition:
    """One typed comparison on a context value (see :mod:`.conditions`)."""

    field: str
    op: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """Return the normalised JSON form of the condition."""
        return {"field": self.field, "op": self.op, "value": thaw(self.value)}


@dataclass(frozen=True, slots=True)
class Term:
    """A named actor, action, resource or data class; its id may be a glob."""

    id: str
    type: str
    name: str = ""
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAPPING)

    @property
    def pattern(self) -> str:
        """The id without its type prefix: what request values are matched against."""
        return self.id[len(TERM_PREFIXES[self.type]) :]

    @property
    def is_glob(self) -> bool:
        """True when the term id holds ``*`` or ``?`` and so matches many request values."""
        return is_glob(self.pattern)

    def to_dict(self) -> dict[str, Any]:
        """Return the normalised JSON form of the term."""
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "metadata": thaw(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class Relation:
    """A rule: ``subject`` may/may not/must escalate ``action`` (on ``object``) when conditions
    hold."""

    id: str
    type: str
    subject: str
    action: str
    object: str | None = None
    conditions: tuple[Condition, ...] = ()
    justification: str = ""
    controls: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAPPING)

    def to_dict(self) -> dict[str, Any]:
        """Return the normalised JSON form of the relation."""
        return {
            "id": self.id,
            "type": self.type,
            "subject": self.subject,
            "action": self.action,
            "object": self.object,
            "conditions": [condition.to_dict() for condition in self.conditions],
            "justification": self.justification,
            "controls": list(self.controls),
            "metadata": thaw(self.metadata),
        }


@dataclass(frozen=True)
class Policy:
    """A validated, normalised policy: the immutable input of :func:`compile_policy`."""

    name: str
    version: str
    mode: str
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAPPING)
    terms: tuple[Term, ...] = ()
    relations: tuple[Relation, ...] = ()
    dialect: str = field(default="native", compare=False)

    def to_document(self) -> dict[str, Any]:
        """Return the normalised native document (what :func:`policy_hash` hashes).

        Parsing this document again yields an equal policy with the same hash, whichever dialect
        the original was written in.
        """
        return {
            "name": self.name,
            "version": self.version,
            "mode": self.mode,
            "description": self.description,
            "metadata": thaw(self.metadata),
            "terms": [term.to_dict() for term in self.terms],
            "relations": [relation.to_dict() for relation in self.relations],
        }

    @cached_property
    def terms_by_id(self) -> Mapping[str, Term]:
        """Terms keyed by id, for lookups by the compiler and by UIs."""
        return {term.id: term for term in self.terms}


def canonical_json(value: Any) -> bytes:
    """Return RFC 8785 (JCS) bytes of a JSON value; used for hashing and generated ids."""
    return rfc8785.dumps(thaw(value))


def policy_hash(document: Mapping[str, Any] | Policy) -> str:
    """Return the version hash: hex SHA-256 of the canonical JSON of the normalised document.

    Accepts a raw document (parsed and validated first, so it may raise
    :class:`PolicyValidationError`) or an already parsed :class:`Policy`.
    """
    policy = document if isinstance(document, Policy) else parse_policy(document)
    with gc_paused():
        return hashlib.sha256(canonical_json(policy.to_document())).hexdigest()


def load_document_text(text: str) -> dict[str, Any]:
    """Parse policy text (JSON, or YAML read with ``yaml.safe_load``) into a document dict.

    JSON is tried first; duplicate keys and NaN/Infinity are rejected because different readers
    would disagree about them. YAML dates and times are turned back into ISO strings so that the
    document stays JSON (and hashable); YAML anchors/aliases are refused (an alias "bomb" would
    otherwise expand exponentially), and so is nesting deeper than the interpreter allows.
    Raises :class:`PolicyValidationError` on bad text. Callers should still cap the text size.
    """
    if not isinstance(text, str):
        raise PolicyValidationError([_error("", "policy text must be a string")])
    try:
        document = _parse_text(text)
    except _TextError as exc:
        raise PolicyValidationError([_error("", str(exc))]) from None
    except RecursionError:
        raise PolicyValidationError([_error("", "document is nested too deeply")]) from None
    if not isinstance(document, dict):
        raise PolicyValidationError([_error("", "policy document must be a JSON/YAML object")])
    return document


class _TextError(Exception):
    pass


def _parse_text(text: str) -> Any:
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except _TextError:
        raise
    except ValueError as json_error:
        if text.lstrip().startswith("{"):
            raise _TextError(f"invalid JSON: {json_error}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as yaml_error:
        raise _TextError(f"invalid JSON or YAML: {yaml_error}") from None
    return _yaml_to_json(loaded, set())


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _TextError(f"duplicate key {key!r} in JSON object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _yaml_to_json(value: Any, seen: set[int]) -> Any:
    """Convert YAML-only scalars to JSON ones; refuse shared (aliased) containers."""
    if isinstance(value, dict | list):
        if id(value) in seen:
            raise _TextError("YAML anchors and aliases are not supported in policies")
        seen.add(id(value))
        if isinstance(value, list):
            return [_yaml_to_json(item, seen) for item in value]
        return {_yaml_key(key): _yaml_to_json(item, seen) for key, item in value.items()}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _yaml_key(key: Any) -> Any:
    return key.isoformat() if isinstance(key, datetime | date | time) else key


def detect_dialect(document: Mapping[str, Any]) -> str:
    """Return ``"legacy"`` when the document uses any original-Lexecon marker, else ``"native"``.

    The markers are listed in this module's docstring. Never raises, whatever the input.
    """
    if not isinstance(document, Mapping):
        return "native"
    if any(key in LEGACY_TOP_KEYS for key in document):
        return "legacy"
    terms = document.get("terms")
    if isinstance(terms, list):
        for term in terms:
            if isinstance(term, Mapping) and any(key in LEGACY_TERM_KEYS for key in term):
                return "legacy"
    relations = document.get("relations")
    if isinstance(relations, list):
        for relation in relations:
            if not isinstance(relation, Mapping):
                continue
            if any(key in LEGACY_RELATION_KEYS for key in relation):
                return "legacy"
            conditions = relation.get("conditions")
            if isinstance(conditions, list) and any(isinstance(c, str) for c in conditions):
                return "legacy"
    return "native"


def parse_policy(document: Mapping[str, Any]) -> Policy:
    """Validate and normalise a policy document (native or legacy) into a :class:`Policy`.

    Collects every problem before failing, so the caller sees all of them at once. Raises
    :class:`PolicyValidationError`; never returns a partially valid policy.
    """
    if not isinstance(document, Mapping):
        raise PolicyValidationError([_error("", "policy document must be a JSON object")])
    parser = _Parser(legacy=detect_dialect(document) == "legacy")
    with gc_paused():
        policy = parser.parse(document)
    if parser.errors or policy is None:
        raise PolicyValidationError(parser.errors)
    return policy


def _error(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass
class _RelationDraft:
    """A relation whose own fields are valid; references are checked once all terms are known."""

    path: str
    ref_paths: dict[str, str]
    explicit_id: str | None
    type: str
    subject: str
    action: str
    object: str | None
    conditions: tuple[Condition, ...]
    justification: str
    controls: tuple[str, ...]
    metadata: dict[str, Any]


class _Parser:
    """Single-pass validator that records every error with its path and keeps going."""

    def __init__(self, *, legacy: bool) -> None:
        self.legacy = legacy
        self.errors: list[dict[str, str]] = []
        # ids of term definitions that had other errors: references to them are not reported
        # again as "undefined", so each mistake is listed once.
        self.broken_term_ids: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        self.errors.append(_error(path, message))

    # -- top level ---------------------------------------------------------------------------

    def parse(self, document: Mapping[str, Any]) -> Policy | None:
        for path in nul_paths(document):
            self.fail(path, "must not contain the NUL character (\\u0000)")
        for key in document:
            if not isinstance(key, str):
                self.fail("", f"keys must be strings, got {key!r}")
            elif key not in NATIVE_TOP_KEYS and not (self.legacy and key in LEGACY_TOP_KEYS):
                self.fail(key, "unknown key")
        name = self.text(document, "name", "name", MAX_NAME_LENGTH, LEGACY_DEFAULT_NAME)
        version = self.text(
            document, "version", "version", MAX_VERSION_LENGTH, LEGACY_DEFAULT_VERSION
        )
        mode = self.mode(document)
        description = self.optional_text(document, "description", "description")
        metadata = self.json_object(document.get("metadata"), "metadata")
        if self.legacy:
            extras = {key: document[key] for key in sorted(LEGACY_TOP_KEYS) if key in document}
            if extras:
                if "legacy" in metadata:
                    self.fail("metadata.legacy", "reserved for legacy top-level keys")
                for key, value in extras.items():
                    self.check_json(value, key)
                metadata["legacy"] = extras
        terms = self.parse_terms(document.get("terms", []))
        drafts = self.parse_relations(document.get("relations", []))
        relations = self.resolve_relations(drafts, terms)
        if self.errors:
            return None
        return Policy(
            name=name or "",
            version=version or "",
            mode=mode or "",
            description=description,
            metadata=freeze(metadata),
            terms=tuple(entry[0] for _, entry in sorted(terms.items())),
            relations=relations,
            dialect="legacy" if self.legacy else "native",
        )

    def text(
        self, container: Mapping[str, Any], key: str, path: str, limit: int, default: str
    ) -> str | None:
        value = container.get(key)
        if value is None and self.legacy:
            return default
        if value is None:
            self.fail(path, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it in YAML)" if isinstance(value, int | float) else ""
            self.fail(path, f"must be a non-empty string{hint}")
            return None
        if len(value) > limit:
            self.fail(path, f"must be at most {limit} characters")
            return None
        return value

    def optional_text(self, container: Mapping[str, Any], key: str, path: str) -> str:
        value = container.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(path, "must be a string")
            return ""
        if len(value) > MAX_TEXT_LENGTH:
            self.fail(path, f"must be at most {MAX_TEXT_LENGTH} characters")
            return ""
        return value

    def mode(self, document: Mapping[str, Any]) -> str | None:
        value = document.get("mode")
        if value is None and self.legacy:
            return "strict"
        if value is None:
            self.fail("mode", f"is required (one of {', '.join(MODES)})")
            return None
        if value not in MODES:
            self.fail("mode", f"must be one of {', '.join(MODES)}, got {value!r}")
            return None
        return value

    def json_object(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, "must be a JSON object")
            return {}
        if self.check_json(value, path):
            return thaw(value)
        return {}

    def check_json(self, value: Any, path: str) -> bool:
        problem = json_problem(value)
        if problem is None:
            return True
        self.fail(path + problem[0], problem[1])
        return False

    def list_of(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            self.fail(path, "must be a list")
            return []
        return list(value)

    # -- terms -------------------------------------------------------------------------------

    def term_id(self, value: Any, path: str, allowed_types: tuple[str, ...]) -> str | None:
        """Validate a term id (in a definition or a reference) and check its type prefix."""
        expected = " or ".join(TERM_PREFIXES[t] + "..." for t in allowed_types)
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a term id such as {expected}")
            return None
        if len(value) > MAX_ID_LENGTH:
            self.fail(path, f"term ids are at most {MAX_ID_LENGTH} characters")
            return None
        if not _ID_CHARS.fullmatch(value) or not value.isprintable():
            self.fail(path, "term ids must not contain whitespace or control characters")
            return None
        prefix, _, rest = value.partition(":")
        term_type = PREFIX_TYPES.get(prefix + ":")
        if term_type is None or not rest:
            self.fail(path, f"{value!r} must start with a type prefix: {expected}")
            return None
        if term_type not in allowed_types:
            self.fail(path, f"{value!r} is a {term_type} term; expected {expected}")
            return None
        return value

    def aliased(
        self, raw: Mapping[str, Any], path: str, native: str, legacy: str
    ) -> tuple[Any, str]:
        """Read a field that the legacy dialect may spell differently; error if given twice."""
        if self.legacy and legacy in raw:
            if native in raw:
                self.fail(_join(path, legacy), f"given together with {native!r}; use one")
            return raw[legacy], _join(path, legacy)
        return raw.get(native), _join(path, native)

    def parse_terms(self, raw_terms: Any) -> dict[str, tuple[Term, str]]:
        terms: dict[str, tuple[Term, str]] = {}
        for index, raw in enumerate(self.list_of(raw_terms, "terms")):
            path = f"terms[{index}]"
            term = self.parse_term(raw, path)
            if term is None:
                continue
            previous = terms.get(term.id)
            if previous is not None and previous[0] != term:
                self.fail(_join(path, "id"), f"duplicate term id {term.id!r} (see {previous[1]})")
            elif previous is None:
                terms[term.id] = (term, path)
        return terms

    def parse_term(self, raw: Any, path: str) -> Term | None:
        if not isinstance(raw, Mapping):
            self.fail(path, "must be an object")
            return None
        before = len(self.errors)
        extras: dict[str, Any] = {}
        for key in raw:
            if key in NATIVE_TERM_KEYS or (self.legacy and key in LEGACY_TERM_KEYS):
                continue
            if self.legacy and isinstance(key, str):
                extras[key] = raw[key]
            else:
                self.fail(_join(path, str(key)), "unknown key")
        term_type, type_path = self.aliased(raw, path, "type", "term_type")
        if term_type not in TERM_TYPES:
            self.fail(type_path, f"must be one of {', '.join(TERM_TYPES)}, got {term_type!r}")
            term_type = None
        raw_id, id_path = self.aliased(raw, path, "id", "term_id")
        term_id = self.term_id(raw_id, id_path, (term_type,) if term_type else TERM_TYPES)
        name_value, name_path = self.aliased(raw, path, "name", "label")
        name = self.optional_text({"v": name_value}, "v", name_path)
        description = self.optional_text(raw, "description", _join(path, "description"))
        metadata = self.json_object(raw.get("metadata"), _join(path, "metadata"))
        for key, value in extras.items():
            if key in metadata:
                self.fail(_join(path, key), "also present in metadata; keep one")
            elif self.check_json(value, _join(path, key)):
                metadata[key] = value
        self.check_risk(metadata.get("risk"), _join(path, "metadata.risk"))
        if len(self.errors) != before or term_id is None or term_type is None:
            if term_id is not None:
                self.broken_term_ids.add(term_id)
            return None
        return Term(term_id, term_type, name, description, freeze(metadata))

    def check_risk(self, risk: Any, path: str) -> None:
        if risk is None:
            return
        if not isinstance(risk, Mapping):
            self.fail(path, "must map risk dimensions to scores 0-100")
            return
        for dimension, score in risk.items():
            if dimension not in RISK_DIMENSIONS:
                known = ", ".join(sorted(RISK_DIMENSIONS))
                self.fail(_join(path, str(dimension)), f"unknown risk dimension (use {known})")
            elif (
                isinstance(score, bool)
                or not isinstance(score, int | float)
                or not 0 <= score <= 100  # NaN fails this comparison too
            ):
                self.fail(_join(path, dimension), "must be a number from 0 to 100")

    # -- relations ---------------------------------------------------------------------------

    def parse_relations(self, raw_relations: Any) -> list[_RelationDraft]:
        drafts: list[_RelationDraft] = []
        for index, raw in enumerate(self.list_of(raw_relations, "relations")):
            drafts.extend(self.parse_relation(raw, f"relations[{index}]"))
        return drafts

    def parse_relation(self, raw: Any, path: str) -> list[_RelationDraft]:
        if not isinstance(raw, Mapping):
            self.fail(path, "must be an object")
            return []
        before = len(self.errors)
        allowed = NATIVE_RELATION_KEYS | (LEGACY_RELATION_KEYS if self.legacy else frozenset())
        for key in raw:
            if key not in allowed:
                self.fail(_join(path, str(key)), "unknown key")

        metadata = self.json_object(raw.get("metadata"), _join(path, "metadata"))
        lifted = {}
        if self.legacy:  # the long form kept these inside metadata
            for key in ("object", "justification", "condition"):
                if key in metadata:
                    if key in raw:
                        self.fail(_join(path, f"metadata.{key}"), f"given twice (also {key!r})")
                    lifted[key] = (metadata.pop(key), _join(path, f"metadata.{key}"))

        def pick(key: str) -> tuple[Any, str]:
            if key in raw:
                return raw[key], _join(path, key)
            return lifted.get(key, (None, _join(path, key)))

        rel_type, type_path = self.aliased(raw, path, "type", "relation_type")
        if rel_type not in RELATION_TYPES:
            hint = " (not supported by this engine)" if rel_type in ("implies", "conflicts") else ""
            allowed_types = ", ".join(RELATION_TYPES)
            self.fail(type_path, f"must be one of {allowed_types}, got {rel_type!r}{hint}")
            rel_type = None

        raw_id, id_path = self.aliased(raw, path, "id", "relation_id")
        explicit_id = None if raw_id is None else self.relation_id(raw_id, id_path)

        subject_value, subject_path = self.aliased(raw, path, "subject", "source")
        if subject_value is None and self.legacy and rel_type == "requires":
            subject_value = "actor:*"
        subject = self.term_id(subject_value, subject_path, ("actor",))
        action_value, action_path = self.aliased(raw, path, "action", "target")
        action = self.term_id(action_value, action_path, ("action",))
        object_value, object_path = pick("object")
        obj = None
        if object_value is not None:
            obj = self.term_id(object_value, object_path, ("data_class", "resource"))

        conditions = self.parse_conditions(raw.get("conditions"), _join(path, "conditions"))
        condition_value, condition_path = pick("condition")
        if condition_value is not None:
            single = self.parse_condition(condition_value, condition_path)
            if single is not None:
                conditions.append(single)
        legacy_requires = self.legacy and rel_type == "requires"
        if rel_type == "requires" and not conditions and len(self.errors) == before:
            self.fail(
                _join(path, "conditions"),
                "a requires relation needs at least one condition",
            )

        justification_value, justification_path = pick("justification")
        if justification_value is None:  # optional in both dialects, as in the original
            justification = ""
        else:
            justification = self.optional_text({"v": justification_value}, "v", justification_path)
            if not justification.strip() and not self.legacy:
                self.fail(justification_path, "must be a non-empty string")
        controls = self.parse_controls(raw.get("controls"), _join(path, "controls"))

        if len(self.errors) != before or rel_type is None or subject is None or action is None:
            return []
        ref_paths = {"subject": subject_path, "action": action_path, "object": object_path}
        if not legacy_requires:
            normalised = _normalise_conditions(conditions)
            if not justification:
                justification = generated_justification(rel_type, subject, action, obj, normalised)
            return [
                _RelationDraft(
                    path,
                    ref_paths,
                    explicit_id,
                    rel_type,
                    subject,
                    action,
                    obj,
                    normalised,
                    justification,
                    controls,
                    metadata,
                )
            ]
        return self.expand_legacy_requires(
            path,
            ref_paths,
            explicit_id,
            subject,
            action,
            obj,
            conditions,
            justification,
            controls,
            metadata,
        )

    def expand_legacy_requires(
        self,
        path: str,
        ref_paths: dict[str, str],
        explicit_id: str | None,
        subject: str,
        action: str,
        obj: str | None,
        conditions: list[Condition],
        justification: str,
        controls: tuple[str, ...],
        metadata: dict[str, Any],
    ) -> list[_RelationDraft]:
        """Turn a legacy precondition into one fail-closed ``forbids`` per required condition."""
        if "legacy_requires" in metadata:
            self.fail(_join(path, "metadata.legacy_requires"), "reserved for legacy requires")
            return []
        drafts = []
        required = _normalise_conditions(conditions)
        for number, condition in enumerate(required, start=1):
            negated = _negate(condition)
            text = _describe_condition(condition)
            reason = f"Requirement not met: {text}"
            if justification:
                reason = f"{reason} ({justification})"
            rule_metadata = dict(metadata)
            rule_metadata["legacy_requires"] = condition.to_dict()
            rule_id = explicit_id
            if explicit_id is not None and len(required) > 1:
                rule_id = f"{explicit_id}#{number}"
            drafts.append(
                _RelationDraft(
                    path,
                    ref_paths,
                    rule_id,
                    "forbids",
                    subject,
                    action,
                    obj,
                    (negated,),
                    reason,
                    controls,
                    rule_metadata,
                )
            )
        return drafts

    def relation_id(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.fail(path, "must be a non-empty string")
            return None
        if len(value) > MAX_ID_LENGTH:
            self.fail(path, f"must be at most {MAX_ID_LENGTH} characters")
            return None
        if not _ID_CHARS.fullmatch(value) or not value.isprintable():
            self.fail(path, "must not contain whitespace or control characters")
            return None
        if value.startswith(RESERVED_RULE_PREFIXES):
            reserved = ", ".join(RESERVED_RULE_PREFIXES)
            self.fail(path, f"ids starting with {reserved} are reserved for the engine")
            return None
        return value

    def parse_controls(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        controls = set()
        for index, control in enumerate(self.list_of(value, path)):
            if (
                not isinstance(control, str)
                or len(control) > MAX_CONTROL_LENGTH
                or not _CONTROL_ID.fullmatch(control)
            ):
                self.fail(
                    _join(path, index),
                    "must be a control id such as 'SOC2:CC6.1' (framework, colon, control)",
                )
            else:
                controls.add(control)
        return tuple(sorted(controls))

    def parse_conditions(self, value: Any, path: str) -> list[Condition]:
        if value is None:
            return []
        conditions = []
        for index, raw in enumerate(self.list_of(value, path)):
            condition = self.parse_condition(raw, _join(path, index))
            if condition is not None:
                conditions.append(condition)
        return conditions

    def parse_condition(self, raw: Any, path: str) -> Condition | None:
        if isinstance(raw, str) and self.legacy:
            problem = validate_field(raw)
            if problem is not None:
                self.fail(path, problem)
                return None
            return Condition(raw, "eq", True)
        if not isinstance(raw, Mapping):
            self.fail(path, 'must be an object {"field": ..., "op": ..., "value": ...}')
            return None
        before = len(self.errors)
        for key in raw:
            if key not in CONDITION_KEYS:
                self.fail(_join(path, str(key)), "unknown key")
        field_name = raw.get("field")
        problem = validate_field(field_name)
        if problem is not None:
            self.fail(_join(path, "field"), problem)
        op = raw.get("op")
        if op not in OPS:
            self.fail(_join(path, "op"), f"must be one of {', '.join(OPS)}, got {op!r}")
        elif "value" not in raw:
            self.fail(_join(path, "value"), "is required")
        else:
            problem = validate_condition_literal(op, raw["value"])
            if problem is not None:
                self.fail(_join(path, "value"), problem)
        if len(self.errors) != before or not isinstance(field_name, str) or not isinstance(op, str):
            return None
        return Condition(field_name, op, _normalise_literal(op, raw["value"]))

    # -- references --------------------------------------------------------------------------

    def resolve_relations(
        self, drafts: list[_RelationDraft], terms: dict[str, tuple[Term, str]]
    ) -> tuple[Relation, ...]:
        relations: dict[str, tuple[Relation, str]] = {}
        for draft in drafts:
            resolved = True
            for slot in ("subject", "action", "object"):
                term_id = getattr(draft, slot)
                if term_id is None or term_id in terms:
                    continue
                if term_id in self.broken_term_ids:  # already reported at its definition
                    resolved = False
                elif self.legacy:
                    term_type = PREFIX_TYPES[term_id.partition(":")[0] + ":"]
                    implicit = Term(term_id, term_type, "", IMPLICIT_TERM_DESCRIPTION)
                    terms[term_id] = (implicit, draft.ref_paths[slot])
                else:
                    self.fail(draft.ref_paths[slot], f"undefined term {term_id!r}")
                    resolved = False
            if not resolved:
                continue
            relation = _build_relation(draft)
            previous = relations.get(relation.id)
            if previous is not None and previous[0] != relation:
                self.fail(
                    _join(draft.path, "id"),
                    f"duplicate relation id {relation.id!r} with different content "
                    f"(see {previous[1]})",
                )
            elif previous is None:
                relations[relation.id] = (relation, draft.path)
        return tuple(entry[0] for _, entry in sorted(relations.items()))


CONDITION_SYMBOLS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "in",
    "not_in": "not in",
}
OBJECT_KINDS = {"data:": "data class", "resource:": "resource"}


def generated_justification(
    rel_type: str,
    subject: str,
    action: str,
    obj: str | None,
    conditions: tuple[Condition, ...],
) -> str:
    """The reason shown for a relation written without a justification (both dialects).

    ``<type> <subject> → <action>[ on <data class|resource> <id>][ when <condition> and …]``, ids
    without their type prefix, conditions in normalised order, literals as canonical JSON, e.g.
    ``permits ai_agent:* → read_ticket`` or
    ``requires ai_agent:* → issue_refund when amount ≤ 500 and currency in ["EUR","USD"]``.
    Part of the normalised document, so it is covered by the version hash like a written one.
    """
    text = f"{rel_type} {_unprefixed(subject)} → {_unprefixed(action)}"
    if obj:
        prefix = obj.partition(":")[0] + ":"
        text += f" on {OBJECT_KINDS[prefix]} {_unprefixed(obj)}"
    if conditions:
        text += " when " + " and ".join(_condition_text(item) for item in conditions)
    return text


def _unprefixed(term_id: str) -> str:
    return term_id.partition(":")[2]


def _condition_text(condition: Condition) -> str:
    if condition.op == "exists":
        return f"{condition.field} is {'present' if condition.value else 'absent'}"
    literal = canonical_json(condition.value).decode()
    return f"{condition.field} {CONDITION_SYMBOLS[condition.op]} {literal}"


def _describe_condition(condition: Condition) -> str:
    if condition.op == "eq" and condition.value is True:
        return f"the context must assert {condition.field!r} as true"
    literal = json.dumps(thaw(condition.value))
    return f"context.{condition.field} {condition.op} {literal}"


def _negate(condition: Condition) -> Condition:
    if condition.op == "exists":
        return Condition(condition.field, "exists", not condition.value)
    return Condition(condition.field, NEGATED_OPS[condition.op], condition.value)


def _normalise_literal(op: str, value: Any) -> Any:
    if op in SET_OPS:
        unique: dict[Any, Any] = {}
        for item in value:
            unique.setdefault(_integral(item), _integral(item))
        return tuple(sorted(unique))
    return _integral(value)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _condition_key(condition: Condition) -> bytes:
    return canonical_json(condition.to_dict())


def _normalise_conditions(conditions: list[Condition]) -> tuple[Condition, ...]:
    unique = {_condition_key(condition): condition for condition in conditions}
    return tuple(unique[key] for key in sorted(unique))


def _build_relation(draft: _RelationDraft) -> Relation:
    relation = Relation(
        id="",
        type=draft.type,
        subject=draft.subject,
        action=draft.action,
        object=draft.object,
        conditions=draft.conditions,
        justification=draft.justification,
        controls=draft.controls,
        metadata=freeze(draft.metadata),
    )
    rule_id = draft.explicit_id
    if rule_id is None:
        content = relation.to_dict()
        del content["id"]
        rule_id = "r-" + hashlib.sha256(canonical_json(content)).hexdigest()[:12]
    return Relation(
        id=rule_id,
        type=relation.type,
        subject=relation.subject,
        action=relation.action,
        object=relation.object,
        conditions=relation.conditions,
        justification=relation.justification,
        controls=relation.controls,
        metadata=relation.metadata,
    )
