"""The rule-by-rule diff of two normalised policy documents (``apps.policies.diff``)."""

from __future__ import annotations

import copy

from apps.policies import engine
from apps.policies.diff import policy_diff
from tests.policies.test_simulation import DEMO_DOCUMENT


def normalised(document: dict) -> dict:
    return engine.parse_policy(document).to_document()


def test_reordering_is_no_change_and_a_mode_change_is_one():
    before = normalised(DEMO_DOCUMENT)
    shuffled = copy.deepcopy(DEMO_DOCUMENT)
    shuffled["relations"].reverse()
    shuffled["terms"].reverse()
    assert policy_diff(before, normalised(shuffled)).identical
    permissive = copy.deepcopy(DEMO_DOCUMENT)
    permissive["mode"] = "permissive"
    diff = policy_diff(before, normalised(permissive))
    assert [(c.field, c.before, c.after) for c in diff.settings] == [
        ("mode", "strict", "permissive")
    ]
    assert diff.counts == dict.fromkeys(diff.counts, 0)
    assert diff.unchanged_rules == len(before["relations"])


def test_changed_rule_lists_exactly_the_fields_that_differ():
    after = copy.deepcopy(DEMO_DOCUMENT)
    for rule in after["relations"]:
        if rule["id"] == "cs-no-deletion":
            rule["type"] = "escalates"
    after["terms"].append({"id": "action:archive", "type": "action", "name": "Archive"})
    diff = policy_diff(normalised(DEMO_DOCUMENT), normalised(after))
    (change,) = diff.rules_changed
    assert change.id == "cs-no-deletion"
    fields = {f.field: (f.before, f.after) for f in change.fields}
    assert fields["type"] == ("forbids", "escalates")
    assert set(fields) <= {"type", "justification"}  # a generated reason may follow the type
    assert [t["id"] for t in diff.terms_added] == ["action:archive"]
    assert (diff.rules_added, diff.rules_removed) == ((), ())
