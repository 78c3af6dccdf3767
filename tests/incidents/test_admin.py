"""The incidents' admin pages: read-only, for staff who read incidents (view_dashboard)."""

from __future__ import annotations

from django.test import Client

from apps.incidents.models import Incident
from tests.conftest import verify_session
from tests.incidents.conftest import counts


def test_an_officer_reads_an_incident_with_its_clocks_and_changes_nothing(officer, opened):
    page = verify_session(Client(), officer.user)
    listing = page.get("/admin/incidents/incident/?status__exact=open")
    assert listing.status_code == 200
    assert "cv-screening" in listing.content.decode()
    assert "art73: " in listing.content.decode()  # the next deadline column

    detail = page.get(f"/admin/incidents/incident/{opened['id']}/change/")
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "Clocks" in text
    assert "due " in text
    assert 'name="_save"' not in text  # read-only: no save button

    before = counts()
    assert page.post(f"/admin/incidents/incident/{opened['id']}/change/", {}).status_code == 403
    assert page.get("/admin/incidents/incident/add/").status_code == 403
    assert page.post(f"/admin/incidents/incident/{opened['id']}/delete/").status_code == 403
    assert counts() == before
    assert Incident.objects.get(pk=opened["id"]).status == "open"


def test_staff_without_view_dashboard_and_anonymous_users_do_not_see_incidents(make_user, opened):
    anonymous = Client().get("/admin/incidents/incident/")
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]
    nina = make_user("nina", "reviewer")
    nina.groups.clear()  # signed in with both factors, but no role: no permission at all
    roleless = verify_session(Client(), nina)
    assert roleless.get("/admin/incidents/incident/").status_code == 403
    assert roleless.get(f"/admin/incidents/incident/{opened['id']}/change/").status_code == 403


def test_the_menu_offers_incidents_to_those_who_may_read_them(officer, make_user):
    link = '<a href="/admin/incidents/incident/"'
    officer_home = verify_session(Client(), officer.user).get("/", follow=True)
    assert link in officer_home.content.decode()
    reviewer_home = verify_session(Client(), make_user("rita", "reviewer")).get("/", follow=True)
    assert reviewer_home.status_code == 200
    assert link not in reviewer_home.content.decode()
