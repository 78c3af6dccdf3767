"""The EU AI Act calendar: obligations per registered system from the registry and the dated
data file, under the original dates or the Omnibus ones, moved by settings; a broken file or
override fails the system check."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apps.aisystems import services as registry
from apps.incidents import ai_act_calendar
from tests.incidents.conftest import assert_error

pytestmark = pytest.mark.django_db

URL = "/compliance/eu-ai-act/calendar"


def obligations(answer: dict, system: str) -> dict[str, dict]:
    (row,) = [s for s in answer["systems"] if s["ai_system"] == system]
    return {o["key"]: o for o in row["obligations"]}


def register(officer, system_id: str, **fields):
    values = {
        "name": system_id,
        "version": "1",
        "role": "provider",
        "intended_purpose": "Does something useful for the organisation.",
        "risk_class": "minimal",
        **fields,
    }
    return registry.ai_system_register(principal=officer.user, system_id=system_id, **values)


def test_a_high_risk_annex_iii_provider_system(officer, system):
    answer = officer.get(URL, {"as_of": "2026-12-05"}).json()
    assert answer["regime"] == "original"
    assert answer["as_of"] == "2026-12-05"
    assert answer["checked"] == "2026-07-03"
    assert "Council" in answer["regimes"]["omnibus_2026"]["status"]
    found = obligations(answer, "cv-screening")
    assert set(found) == {
        "ai_literacy",
        "prohibited_practices",
        "prohibited_intimate_imagery",
        "transparency",
        "transparency_marking_legacy",
        "high_risk_annex_iii_provider",
    }
    provider = found["high_risk_annex_iii_provider"]
    assert provider["applies_from"] == "2026-08-02"
    assert provider["applies_now"] is True
    assert provider["dates"] == {"original": "2026-08-02", "omnibus_2026": "2027-12-02"}
    # Not in the original text at all.
    assert found["prohibited_intimate_imagery"]["applies_from"] is None
    assert found["prohibited_intimate_imagery"]["applies_now"] is False
    (row,) = answer["systems"]
    assert "high_risk_annex_iii_provider" in row["applies_now"]
    assert row["upcoming"] == []


def test_the_omnibus_regime_moves_the_annex_iii_date(officer, system):
    answer = officer.get(URL, {"as_of": "2026-12-05", "regime": "omnibus_2026"}).json()
    found = obligations(answer, "cv-screening")
    assert found["high_risk_annex_iii_provider"]["applies_from"] == "2027-12-02"
    assert found["high_risk_annex_iii_provider"]["applies_now"] is False
    assert found["prohibited_intimate_imagery"]["applies_now"] is True  # from 2 Dec 2026
    earlier = officer.get(URL, {"as_of": "2026-12-01", "regime": "omnibus_2026"}).json()
    assert (
        obligations(earlier, "cv-screening")["prohibited_intimate_imagery"]["applies_now"] is False
    )
    (row,) = answer["systems"]
    assert "high_risk_annex_iii_provider" in row["upcoming"]


def test_the_regime_and_single_dates_are_settings(officer, system, settings):
    settings.LEXECON_AI_ACT_REGIME = "omnibus_2026"
    answer = officer.get(URL, {"as_of": "2026-12-05"}).json()
    assert answer["regime"] == "omnibus_2026"
    settings.LEXECON_AI_ACT_CALENDAR_OVERRIDES = {"high_risk_annex_iii_provider": "2026-11-01"}
    answer = officer.get(URL, {"as_of": "2026-12-05"}).json()
    moved = obligations(answer, "cv-screening")["high_risk_annex_iii_provider"]
    assert (moved["applies_from"], moved["applies_now"], moved["overridden"]) == (
        "2026-11-01",
        True,
        True,
    )
    assert answer["overrides"] == {"high_risk_annex_iii_provider": "2026-11-01"}


def test_the_answer_follows_the_registry(officer, system):
    """Computed from the registry: change the system, read again."""
    before = obligations(officer.get(URL).json(), "cv-screening")
    assert "high_risk_annex_iii_provider" in before
    registry.ai_system_update(
        principal=officer.user,
        system_id="cv-screening",
        changes={"role": "deployer"},
    )
    after = obligations(officer.get(URL).json(), "cv-screening")
    assert "high_risk_annex_iii_provider" not in after
    assert "high_risk_annex_iii_deployer" in after
    assert "transparency_marking_legacy" not in after  # a provider's duty


@pytest.mark.parametrize(
    ("_case", "fields", "expected", "absent"),
    [
        (
            "credit scoring deployer",
            {"role": "deployer", "annex_iii_point": "5(b)", "risk_class": "high"},
            {"high_risk_annex_iii_deployer", "fundamental_rights_impact_assessment"},
            {"high_risk_annex_iii_provider"},
        ),
        (
            "exempt Annex III provider",
            {
                "annex_iii_point": "4(a)",
                "art_6_3_exempt": True,
                "art_6_3_condition": "a",
                "art_6_3_reasoning": "It only files applications into folders by job.",
                "risk_class": "minimal",
            },
            {"not_high_risk_registration"},
            {"high_risk_annex_iii_provider", "transparency"},
        ),
        (
            "Annex I product",
            {"risk_class": "high"},
            {"high_risk_annex_i"},
            {"high_risk_annex_iii_provider"},
        ),
        (
            "prohibited",
            {"annex_iii_point": "1(c)", "risk_class": "prohibited"},
            {"prohibited_system", "prohibited_practices"},
            {"high_risk_annex_iii_provider"},
        ),
        (
            "minimal chatbot",
            {},
            {"ai_literacy", "prohibited_practices"},
            {"transparency", "high_risk_annex_i", "not_high_risk_registration"},
        ),
    ],
)
def test_obligations_per_kind_of_system(officer, _case, fields, expected, absent):
    register(officer, "sys", **fields)
    found = set(obligations(officer.get(URL, {"ai_system": "sys"}).json(), "sys"))
    assert expected <= found
    assert not (absent & found)


def test_an_annex_i_system_is_upcoming_until_2027(officer):
    register(officer, "machine", risk_class="high")
    answer = officer.get(URL, {"ai_system": "machine", "as_of": "2027-08-01"}).json()
    assert obligations(answer, "machine")["high_risk_annex_i"]["applies_now"] is False
    answer = officer.get(URL, {"ai_system": "machine", "as_of": "2027-08-02"}).json()
    assert obligations(answer, "machine")["high_risk_annex_i"]["applies_now"] is True


def test_bad_queries(officer, system, agent_client, staff_api):
    assert_error(officer.get(URL, {"ai_system": "nope"}), 404, "not_found")
    assert_error(officer.get(URL, {"regime": "2028"}), 400, "validation_error")
    assert_error(officer.get(URL, {"as_of": "yesterday"}), 400, "validation_error")
    assert agent_client("compliance:read").get(URL).status_code == 200
    # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
    assert staff_api("reviewer").get(URL).status_code == 403
    assert_error(agent_client("decide").get(URL), 403, "permission_denied")


def test_the_milestones_are_dated(officer):
    answer = officer.get(URL, {"as_of": "2026-12-05"}).json()
    passed = {m["date"]: m["passed"] for m in answer["milestones"]}
    assert passed["2026-08-02"] is True
    assert passed["2027-08-02"] is False
    assert answer["systems"] == []


def test_a_broken_calendar_fails_the_system_check(settings, tmp_path):
    call_command("check")  # the shipped file is valid
    broken = tmp_path / "calendar.yaml"
    broken.write_text("format: lexecon-ai-act-calendar/1\nobligations: [{key: x}]\n")
    settings.LEXECON_AI_ACT_CALENDAR_FILE = str(broken)
    with pytest.raises(SystemCheckError, match=r"incidents\.E001"):
        call_command("check")
    settings.LEXECON_AI_ACT_CALENDAR_FILE = ""
    settings.LEXECON_AI_ACT_CALENDAR_OVERRIDES = {"no_such_obligation": "2027-01-01"}
    with pytest.raises(SystemCheckError, match="names no obligation"):
        call_command("check")
    settings.LEXECON_AI_ACT_CALENDAR_OVERRIDES = {"ai_literacy": "soon"}
    with pytest.raises(SystemCheckError, match="not a date"):
        call_command("check")
    settings.LEXECON_AI_ACT_CALENDAR_OVERRIDES = {}
    settings.LEXECON_AI_ACT_REGIME = "draft"
    with pytest.raises(SystemCheckError, match="LEXECON_AI_ACT_REGIME"):
        call_command("check")


def test_the_shipped_file_names_no_date_twice_and_both_regimes():
    calendar = ai_act_calendar.calendar_file()
    assert set(calendar.regimes) == {"original", "omnibus_2026"}
    keys = [o.key for o in calendar.obligations]
    assert len(keys) == len(set(keys))
