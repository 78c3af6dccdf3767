"""The staff pages: the list of AI systems and the per-system page (OTP-gated), with the Annex IV
document, the missing items, the narrative form for those who may write, and other apps'
sections. Viewing stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.techdoc.sections import register_system_section, unregister_system_section
from tests.techdoc.conftest import REQUIRED, SYSTEM_ID, counts, label, page_url, write_narratives

pytestmark = pytest.mark.django_db

LIST = "/compliance/eu-ai-act/systems/"


def test_the_list_shows_each_system_and_its_narratives(system, staff_page, officer):
    client = staff_page("auditor")
    page = client.get(LIST).content.decode()
    assert "CV screening assistant" in page
    assert f"0 of {len(REQUIRED)}" in page
    write_narratives(officer, REQUIRED[:2])
    assert f"2 of {len(REQUIRED)}" in client.get(LIST).content.decode()


def test_the_system_page_shows_the_document_and_what_is_missing(system, staff_page):
    client = staff_page("compliance_officer")
    before = counts()
    response = client.get(page_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "INCOMPLETE" in page
    for field in REQUIRED:
        assert label(field) in page
    for number in range(1, 10):
        assert f'id="item-{number}"' in page
    assert 'id="narrative-form"' in page
    assert f"?ai_system={SYSTEM_ID}&amp;format=pdf" in page
    assert counts() == before  # a preview, not a stored document


def test_readers_see_no_form(system, staff_page):
    page = staff_page("auditor").get(page_url()).content.decode()
    assert 'id="narrative-form"' not in page
    assert "needs the manage_policies permission" in page
    # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
    assert staff_page("reviewer").get(page_url()).status_code == 403


def test_edit_link_prefills_the_form(system, staff_page, officer):
    write_narratives(officer, ["standards"])
    client = staff_page("compliance_officer")
    page = client.get(page_url() + "?edit=standards").content.decode()
    assert '<option value="standards" selected>' in page
    assert "Our harmonised standards or other specifications applied." in page


def test_pages_need_sign_in_the_second_factor_and_an_existing_system(system, make_user, staff_page):
    for url in (LIST, page_url()):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
        half = Client()
        half.force_login(make_user(f"half{len(url)}", "auditor"))
        response = half.get(url)
        assert response.status_code == 302
        assert "/accounts/otp/" in response["Location"]
    assert staff_page("auditor").get(page_url("no-such-system")).status_code == 404


@pytest.fixture
def fragment(settings, tmp_path):
    """A template fragment as another app would ship (templates/<app>/_system_section.html)."""
    (tmp_path / "tpl" / "fake").mkdir(parents=True)
    (tmp_path / "tpl" / "fake" / "_system_section.html").write_text(
        '<p id="held">{{ ai_system.pk }} holds: {{ section.holds }} = {{ holds }}</p>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path / "tpl"]}
    ]
    seen = []

    def context(ai_system, *, principal):
        seen.append((ai_system.pk, principal.username))
        return {"holds": 3}

    register_system_section(
        key="fake-12",
        title="Art. 12 and 19: record-keeping",
        template="fake/_system_section.html",
        context=context,
    )
    yield seen
    unregister_system_section("fake-12")


def test_other_apps_sections_are_included(system, staff_page, fragment):
    page = staff_page("auditor").get(page_url()).content.decode()
    assert fragment == [(SYSTEM_ID, "page_auditor")]
    assert 'id="fake-12"' in page
    assert "Art. 12 and 19: record-keeping" in page
    assert f'<p id="held">{SYSTEM_ID} holds: 3 = 3</p>' in page
    assert 'href="#fake-12"' in page


def test_sections_need_a_template_and_a_context():
    with pytest.raises(ValueError, match="needs a key, a template and a context"):
        register_system_section(key="x", title="x", template="", context=lambda s: {})
    with pytest.raises(ValueError, match="needs a key, a template and a context"):
        register_system_section(key="x", title="x", template="t.html", context=None)


def test_the_home_page_links_to_the_ai_systems(staff_page):
    page = staff_page("auditor").get("/", follow=True).content.decode()  # the dashboard's menu
    assert f'href="{LIST}"' in page


def test_generated_documents_are_listed_and_open_for_those_who_see_all_evidence(system, staff_page):
    officer = staff_page("compliance_officer")
    response = officer.get(
        "/compliance/eu-ai-act/article-11/documentation", {"ai_system": SYSTEM_ID}
    )
    artifact_id = response["X-Evidence-Artifact-Id"]
    page = officer.get(page_url()).content.decode()
    assert f'href="/evidence/{artifact_id}/content"' in page
    assert officer.get(f"/evidence/{artifact_id}/content").status_code == 200
    # Issue 19: reviewers no longer hold view_dashboard (compliance reads are not theirs).
    assert staff_page("reviewer").get(page_url()).status_code == 403
