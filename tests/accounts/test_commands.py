"""``create_user`` and ``seed_demo`` as an operator runs them."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import AgentKey, User


@pytest.mark.django_db
def test_create_user_with_totp_prints_otpauth_uri_last(monkeypatch):
    monkeypatch.setenv("LEXECON_USER_PASSWORD", "a long enough passphrase 981")
    out = io.StringIO()
    call_command("create_user", "olivia", "--role", "compliance_officer", "--totp", stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("otpauth://totp/")
    assert "olivia" in last
    user = User.objects.get(username="olivia")
    assert user.check_password("a long enough passphrase 981")
    assert user.roles == ["compliance_officer"]
    assert TOTPDevice.objects.get(user=user).confirmed is True


@pytest.mark.django_db
def test_create_user_rejects_weak_password_and_writes_nothing(monkeypatch):
    monkeypatch.setenv("LEXECON_USER_PASSWORD", "short")
    with pytest.raises(CommandError):
        call_command("create_user", "weak", "--role", "reviewer")
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.django_db
def test_seed_demo_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.setenv("LEXECON_VAR_DIR", str(tmp_path))
    with override_settings(LEXECON_EMBEDDED=True):
        first, second = io.StringIO(), io.StringIO()
        call_command("seed_demo", stdout=first)
        call_command("seed_demo", stdout=second)
    assert User.objects.filter(username__startswith="demo_").count() == 4
    assert AgentKey.objects.filter(name="demo-agent").count() == 1
    assert "lxk_" in first.getvalue()
    assert "lxk_" not in second.getvalue()
    content = json.loads((tmp_path / "demo-credentials.json").read_text())
    (stored,) = content["databases"].values()
    for username, info in stored.items():
        assert f"password={info['password']}" in second.getvalue()
        assert User.objects.get(username=username).check_password(info["password"])
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_seed_demo_refuses_outside_embedded_mode():
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()


def _printed_passwords(output: str) -> dict[str, str]:
    return {
        line.split()[0]: line.split("password=")[1]
        for line in output.splitlines()
        if "password=" in line
    }


@pytest.mark.django_db
def test_seed_demo_never_prints_the_passwords_of_another_database(tmp_path, monkeypatch):
    """Issue 15: database A seeded, then B (the file took B's passwords), then A again printed
    B's passwords for A's users."""
    monkeypatch.setenv("LEXECON_VAR_DIR", str(tmp_path))
    with override_settings(LEXECON_EMBEDDED=True):
        call_command("seed_demo", stdout=io.StringIO())
        database_a = {
            u.username: u.password for u in User.objects.filter(username__startswith="demo_")
        }
        # Database B: the same demo users, made afresh with other passwords, same file.
        User.objects.filter(username__startswith="demo_").delete()
        b_output = io.StringIO()
        call_command("seed_demo", stdout=b_output)
        b_passwords = _printed_passwords(b_output.getvalue())
        # Back on database A: its users have A's passwords.
        for username, password_hash in database_a.items():
            User.objects.filter(username=username).update(password=password_hash)
        again = io.StringIO()
        call_command("seed_demo", stdout=again)
    assert len(b_passwords) == 4
    for username, password in _printed_passwords(again.getvalue()).items():
        assert User.objects.get(username=username).check_password(password)
    for password in b_passwords.values():
        assert password not in again.getvalue()
    assert again.getvalue().count("password not known for this database") == 4


@pytest.mark.django_db
def test_seed_demo_keeps_each_databases_credentials_apart(tmp_path, monkeypatch):
    from django.db import connection

    monkeypatch.setenv("LEXECON_VAR_DIR", str(tmp_path))
    with override_settings(LEXECON_EMBEDDED=True):
        first = io.StringIO()
        call_command("seed_demo", stdout=first)
        real_name = connection.settings_dict["NAME"]
        monkeypatch.setitem(connection.settings_dict, "NAME", "another-database")
        other = io.StringIO()
        call_command("seed_demo", stdout=other)
        monkeypatch.setitem(connection.settings_dict, "NAME", real_name)
        back = io.StringIO()
        call_command("seed_demo", stdout=back)
    assert "password=" not in other.getvalue()
    assert _printed_passwords(back.getvalue()) == _printed_passwords(first.getvalue())
    assert len(_printed_passwords(first.getvalue())) == 4
