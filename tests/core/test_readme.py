"""The README's commands do what the README says (issue 15: its ``load_policy … --activate``
example silently replaced the demo policy, and the README's ``/decide`` example then answered
denied)."""

from __future__ import annotations

import io
import re
import shlex

import pytest
from django.core.management import call_command

from tests.conftest import DEMO, ROOT, load_demo_policy

pytestmark = pytest.mark.django_db

README = (ROOT / "README.md").read_text()


def test_the_readme_load_policy_example_keeps_the_quick_start_decision_allowed(agent_client):
    load_demo_policy()
    commands = re.findall(r"manage\.py load_policy ([^#\n]+)", README)
    assert commands, "the README shows how to load a policy"
    for arguments in commands:
        call_command("load_policy", *shlex.split(arguments), stdout=io.StringIO())
    response = agent_client("decide").post("/decide", DEMO, format="json")
    assert response.status_code == 200
    assert response.json()["outcome"] == "allowed"


def test_the_readme_says_what_activating_another_policy_does():
    operating = README.split("## Operating", 1)[1].split("\n## ", 1)[0]
    assert "--activate" in operating
    assert "replaces the demo policy" in operating
