"""Every staff page needs password AND a verified one-time code; backup codes are hashed and single-use."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from apps.accounts import services
from apps.accounts.models import BackupCode, BackupCodeDevice
from tests.conftest import PASSWORD

STAFF_PAGES = [
    "/",
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/agentkey/",
    "/admin/accounts/agentkey/add/",
    "/admin/otp_totp/totpdevice/",
]


def current_code(device) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{value:0{device.digits}d}"


def password_login(client: Client, username: str, password: str = PASSWORD, next_url: str = "/"):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password, "next": next_url}
    )


@pytest.mark.django_db
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_anonymous_is_sent_to_password_step(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_password_alone_is_redirected_to_otp_step(client, make_user, page):
    make_user("bob", "admin")
    assert password_login(client, "bob").status_code == 302
    response = client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp"))
    assert b"Governance records" not in response.content


@pytest.mark.django_db
def test_two_step_login_reaches_admin(client, make_user):
    user = make_user("carol", "admin")
    response = password_login(client, "carol", next_url="/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp"))
    device = user.totpdevice_set.get()
    response = client.post(response.url, {"token": current_code(device), "next": "/admin/"})
    assert response.status_code == 302
    assert response.url == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"Lexecon administration" in page.content


@pytest.mark.django_db
def test_wrong_code_is_rejected_and_then_throttled(client, make_user):
    user = make_user("dave", "reviewer")
    password_login(client, "dave")
    device = user.totpdevice_set.get()
    bad = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:otp"), {"token": bad})
    assert response.status_code == 400
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # While throttled even the right code is refused.
    response = client.post(reverse("accounts:otp"), {"token": current_code(device)})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_totp_code_cannot_be_reused(make_user):
    user = make_user("erin", "reviewer")
    device = user.totpdevice_set.get()
    code = current_code(device)
    first, second = Client(), Client()
    password_login(first, "erin")
    assert first.post(reverse("accounts:otp"), {"token": code}).status_code == 302
    password_login(second, "erin")
    assert second.post(reverse("accounts:otp"), {"token": code}).status_code == 400


@pytest.mark.django_db
def test_backup_codes_are_stored_hashed_and_single_use(make_user):
    user = make_user("frank", "auditor")
    codes = services.backup_codes_regenerate(user=user)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    stored = list(BackupCode.objects.filter(device__user=user).values_list("code_hash", "salt"))
    assert len(stored) == 10
    for code in codes:
        normalised = BackupCode.normalise(code)
        for code_hash, salt in stored:
            assert normalised not in code_hash
            assert normalised not in salt
            assert code not in code_hash

    client = Client()
    password_login(client, "frank")
    assert client.post(reverse("accounts:otp"), {"token": codes[0]}).status_code == 302
    # Issue 19: the signed-in home of an auditor is the dashboard.
    assert client.get("/").url == reverse("dashboard:home")
    assert client.get(reverse("dashboard:home")).status_code == 200

    again = Client()
    password_login(again, "frank")
    assert again.post(reverse("accounts:otp"), {"token": codes[0]}).status_code == 400
    assert BackupCode.objects.filter(device__user=user, used_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_regenerating_backup_codes_invalidates_the_old_set(make_user):
    user = make_user("gina", "auditor")
    old = services.backup_codes_regenerate(user=user)
    new = services.backup_codes_regenerate(user=user)
    assert BackupCode.objects.filter(device__user=user).count() == 10
    device = BackupCodeDevice.objects.get(user=user)
    assert device.verify_token(old[1]) is False
    device.throttle_reset()
    assert device.verify_token(new[1]) is True


@pytest.mark.django_db
def test_enrolment_shows_qr_confirms_device_and_issues_backup_codes(client, make_user):
    user = make_user("hank", "reviewer", totp=False)
    response = password_login(client, "hank")
    assert response.url.startswith(reverse("accounts:enrol"))
    page = client.get(response.url)
    assert page.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in page.content
    device = user.totpdevice_set.get(confirmed=False)
    assert client.get("/").status_code == 302  # still unverified
    done = client.post(reverse("accounts:enrol"), {"token": current_code(device)})
    assert done.status_code == 200
    assert len(done.context["codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_enrolment_with_wrong_code_keeps_device_unconfirmed(client, make_user):
    user = make_user("ivy", "reviewer", totp=False)
    password_login(client, "ivy")
    client.get(reverse("accounts:enrol"))
    device = user.totpdevice_set.get()
    bad = f"{(int(current_code(device)) + 7) % 1_000_000:06d}"
    assert client.post(reverse("accounts:enrol"), {"token": bad}).status_code == 400
    device.refresh_from_db()
    assert device.confirmed is False
    assert not BackupCodeDevice.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_user_with_device_cannot_add_another_without_otp(client, make_user):
    make_user("jo", "reviewer")
    password_login(client, "jo")
    response = client.get(reverse("accounts:enrol"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp"))


@pytest.mark.django_db
def test_api_rejects_password_only_session_with_403(client, make_user):
    make_user("kim", "admin")
    password_login(client, "kim")
    response = client.get("/status")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_session_key_changes_after_otp(client, make_user):
    user = make_user("lee", "admin")
    password_login(client, "lee")
    before = client.session.session_key
    client.post(reverse("accounts:otp"), {"token": current_code(user.totpdevice_set.get())})
    assert client.session.session_key != before


def test_code_helper_is_six_digits():
    class Fake:
        bin_key = b"12345678901234567890"
        step, t0, digits = 30, 0, 6

    assert len(current_code(Fake())) == 6
    assert time.time() > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("admin", ["/admin/accounts/agentkey/", "/admin/accounts/user/"], []),
        (
            "compliance_officer",
            [
                "/admin/policies/policyversion/",
                "/admin/ledger/ledgerentry/",
                "/admin/decisions/decision/",
            ],
            ["/admin/accounts/user/"],
        ),
        (
            "auditor",
            ["/admin/ledger/ledgerentry/", "/admin/accounts/agentkey/"],
            ["/admin/accounts/agentkey/add/", "/admin/accounts/user/"],
        ),
        (
            "reviewer",
            ["/admin/decisions/decision/"],
            ["/admin/ledger/ledgerentry/", "/admin/accounts/agentkey/"],
        ),
    ],
)
def test_admin_pages_follow_role_permissions(verified_client, role, visible, hidden):
    client = verified_client(role)
    for url in visible:
        assert client.get(url).status_code == 200, url
    for url in hidden:
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
def test_admin_creates_agent_key_and_shows_it_once(verified_client):
    from apps.accounts.models import AgentKey

    client = verified_client("admin")
    response = client.post(
        "/admin/accounts/agentkey/add/",
        {
            "name": "from-admin",
            "scopes": ["decide", "ledger:read"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    key = AgentKey.objects.get(name="from-admin")
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"lxk_{key.prefix}_" in text for text in shown)
    assert key.scopes == ["decide", "ledger:read"]


@pytest.mark.django_db
def test_a_reused_code_is_refused_with_a_hint_to_wait_for_the_next(make_user):
    user = make_user("fay", "reviewer")
    code = current_code(user.totpdevice_set.get())
    first, second = Client(), Client()
    password_login(first, "fay")
    assert first.post(reverse("accounts:otp"), {"token": code}).status_code == 302
    password_login(second, "fay")
    response = second.post(reverse("accounts:otp"), {"token": code})
    assert response.status_code == 400
    assert b"wait for the next code" in response.content


@pytest.mark.django_db
def test_demo_totp_says_when_its_code_was_already_used(make_user, settings):
    import io

    from django.core.management import call_command

    settings.LEXECON_EMBEDDED = True
    make_user("demo_reviewer", "reviewer")
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_totp", "demo_reviewer", stdout=out, stderr=err)
    assert "only once" in err.getvalue()
    client = Client()
    password_login(client, "demo_reviewer")
    assert (
        client.post(reverse("accounts:otp"), {"token": out.getvalue().strip()}).status_code == 302
    )
    again_out, again_err = io.StringIO(), io.StringIO()
    call_command("demo_totp", "demo_reviewer", stdout=again_out, stderr=again_err)
    assert "already used" in again_err.getvalue()
    assert "wait for the next code" in again_err.getvalue()
