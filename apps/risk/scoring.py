"""Six-dimension risk scoring (DESIGN §9) — pure functions, no database.

Score = weighted mean of the dimensions present (weights below), each 0-100. Levels: critical >= 80,
high >= 60, medium >= 30, else low. Where a request's dimensions come from (docs/api.md, "Risk"):

1. policy term metadata — any matched actor/action/resource/data term may carry
   ``metadata.risk = {"privacy": 70, ...}`` (a deployment's own, audited configuration);
2. data-class sensitivity — ``DATA_CLASS_DIMENSIONS`` below (a term's metadata wins over it);
3. the original Lexecon ``risk_level`` 1-5 → security and operational ``RISK_LEVEL_VALUES``;
4. ``context.data_sensitivity`` (low/medium/high/critical) → privacy ``SENSITIVITY_VALUES``;
5. dimensions the caller supplies in ``risk_dimensions``.

Every source only raises: a dimension is the maximum any source gives it.

Sources 1-2 classify what the request touches (the *base*); sources 3-5 are the caller's *hints*, and a
hint may only raise the score, never lower it. Raising a dimension can only raise a weighted mean, but
adding one the base does not name could dilute it (``{"financial": 0}`` would pull 87.78 down to
79.0, under the escalation threshold). So a dimension only hints name is shown, yet counts toward the
score only when counting it raises the score: the score is the highest weighted mean over the base's
dimensions plus any choice of hint-only dimensions (``_best_mean``). With no base dimension at all (a
standalone assessment from hints alone) the score is the plain weighted mean of the hints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WEIGHTS: dict[str, float] = {
    "security": 0.25,
    "privacy": 0.20,
    "compliance": 0.20,
    "operational": 0.15,
    "reputational": 0.10,
    "financial": 0.10,
}
DIMENSIONS = tuple(WEIGHTS)
LEVELS = (("critical", 80.0), ("high", 60.0), ("medium", 30.0))

DATA_CLASS_DIMENSIONS: dict[str, dict[str, int]] = {
    "public": {"privacy": 0},
    "internal": {"privacy": 20, "security": 20},
    "pii": {"privacy": 70, "compliance": 60},
    "personal_data": {"privacy": 70, "compliance": 60},
    "customer_data": {"privacy": 60, "compliance": 50},
    "special_category": {"privacy": 90, "compliance": 85, "reputational": 70},
    "phi": {"privacy": 90, "compliance": 90, "reputational": 70},
    "pci": {"financial": 80, "compliance": 85, "security": 75},
    "payment_card": {"financial": 80, "compliance": 85, "security": 75},
    "financial": {"financial": 70, "compliance": 60},
    "credentials": {"security": 95},
    "secrets": {"security": 95},
}
RISK_LEVEL_VALUES = {1: 10, 2: 30, 3: 50, 4: 70, 5: 90}
SENSITIVITY_VALUES = {"low": 20, "medium": 45, "high": 70, "critical": 90}


@dataclass(frozen=True)
class RiskScore:
    score: float
    level: str
    dimensions: dict[str, float]
    sources: dict[str, list[str]]
    counted: tuple[str, ...] = ()  # the dimensions the score is the weighted mean of

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "dimensions": dict(sorted(self.dimensions.items())),
        }


def level_for(score: float) -> str:
    for name, threshold in LEVELS:
        if score >= threshold:
            return name
    return "low"


def score_dimensions(dimensions: Mapping[str, float]) -> tuple[float, str]:
    """Weighted mean over the dimensions present, rounded to 2 decimals, and its level."""
    present = {name: float(value) for name, value in dimensions.items() if name in WEIGHTS}
    if not present:
        return 0.0, "low"
    total_weight = sum(WEIGHTS[name] for name in present)
    score = round(sum(WEIGHTS[name] * value for name, value in present.items()) / total_weight, 2)
    return score, level_for(score)


def _best_mean(
    dimensions: Mapping[str, float], base: Iterable[str]
) -> tuple[float, tuple[str, ...]]:
    """Highest weighted mean over the ``base`` dimensions plus any subset of the others, and that set.

    The best subset holds exactly the optional dimensions above the resulting mean, so taking them
    in descending order while each one raises the mean finds it (ties by name, for determinism).
    Unrounded, so the caller rounds once.
    """
    chosen = [name for name in dimensions if name in base]
    weight = sum(WEIGHTS[name] for name in chosen)
    total = sum(WEIGHTS[name] * dimensions[name] for name in chosen)
    optional = sorted(
        (name for name in dimensions if name not in base),
        key=lambda name: (-dimensions[name], name),
    )
    for name in optional:
        if weight and dimensions[name] * weight <= total:  # would not raise the mean
            break
        chosen.append(name)
        weight += WEIGHTS[name]
        total += WEIGHTS[name] * dimensions[name]
    if not weight:
        return 0.0, ()
    return total / weight, tuple(sorted(chosen))


def _clamp(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value:  # NaN
        return None
    return float(min(100, max(0, value)))


def assess(
    *,
    term_metadata: Iterable[Mapping[str, Any]] = (),
    data_classes: Iterable[str] = (),
    risk_level: int | None = None,
    context: Mapping[str, Any] | None = None,
    caller_dimensions: Mapping[str, Any] | None = None,
) -> RiskScore:
    """Combine every source (each can only raise a dimension) and score the result.

    Hints (``risk_level``, ``context.data_sensitivity``, ``caller_dimensions``) never lower the score
    below what ``term_metadata`` and ``data_classes`` alone give (module docstring).
    """
    dimensions: dict[str, float] = {}
    sources: dict[str, list[str]] = {}

    def raise_to(name: str, value: Any, source: str) -> None:
        clamped = _clamp(value)
        if name not in WEIGHTS or clamped is None:
            return
        if clamped >= dimensions.get(name, -1):
            if clamped > dimensions.get(name, -1):
                sources[name] = []
            dimensions[name] = clamped
            sources.setdefault(name, []).append(source)

    for data_class in sorted(set(data_classes)):
        for name, value in DATA_CLASS_DIMENSIONS.get(data_class, {}).items():
            raise_to(name, value, f"data_class:{data_class}")
    for metadata in term_metadata:
        risk = metadata.get("risk") if isinstance(metadata, Mapping) else None
        if isinstance(risk, Mapping):
            for name, value in risk.items():
                raise_to(str(name), value, "policy_term")
    base = set(dimensions)
    if isinstance(risk_level, int) and risk_level in RISK_LEVEL_VALUES:
        for name in ("security", "operational"):
            raise_to(name, RISK_LEVEL_VALUES[risk_level], "risk_level")
    sensitivity = (context or {}).get("data_sensitivity")
    if isinstance(sensitivity, str) and sensitivity.lower() in SENSITIVITY_VALUES:
        raise_to("privacy", SENSITIVITY_VALUES[sensitivity.lower()], "data_sensitivity")
    for name, value in (caller_dimensions or {}).items():
        raise_to(str(name), value, "caller")
    if base:
        mean, counted = _best_mean(dimensions, base)
        score = round(mean, 2)
        level = level_for(score)
    else:  # hints are the only source: their plain weighted mean
        score, level = score_dimensions(dimensions)
        counted = tuple(sorted(dimensions))
    return RiskScore(score, level, dimensions, sources, counted)
