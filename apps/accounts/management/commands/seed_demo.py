"""``manage.py seed_demo`` — demo data for the embedded default (``make run``). Safe to run again.

First run: one demo user per role (random passwords, a confirmed TOTP device each), a demo agent key
(its raw value printed once), the demo policy ``policies/examples/customer_service.json`` loaded and
activated, signing keys and a first checkpoint. Later runs create nothing and print the same credentials again (except the
agent key). Credentials are kept in ``var/demo-credentials.json`` (mode 0600, never committed), per
database: switching ``LEXECON_DATABASE_URL`` shows that database's demo passwords, never another's.
A password is shown only while the user's stored password hash is still the one it was set with.
"""

import hashlib
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts import services
from apps.accounts.constants import Role, Scope
from apps.accounts.models import AgentKey, User
from apps.accounts.principals import system_actor
from apps.ledger import services as ledger_services
from apps.policies import selectors as policy_selectors
from apps.policies import services as policy_services
from lexecon_site.env import var_dir

DEMO_USERS = {
    "demo_admin": Role.ADMIN,
    "demo_officer": Role.COMPLIANCE_OFFICER,
    "demo_reviewer": Role.REVIEWER,
    "demo_auditor": Role.AUDITOR,
}
DEMO_AGENT = "demo-agent"
DEMO_AGENT_SCOPES = [s.value for s in Scope]
CREDENTIALS_FORMAT = 2


def database_key() -> str:
    """Which database this is, for the credentials file (no password in it)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"{connection.vendor}://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def password_fingerprint(user: User) -> str:
    """Changes whenever the user's password does (the salted hash is new each time)."""
    return hashlib.sha256(user.password.encode()).hexdigest()


def _read_credentials(path: Path) -> dict:
    """``{database key: {username: info}}``; a file of the old, unkeyed format is not trusted."""
    if not path.exists():
        return {}
    content = json.loads(path.read_text())
    if content.get("format") != CREDENTIALS_FORMAT:
        return {}
    return content["databases"]


class Command(BaseCommand):
    help = "Create demo users, their TOTP devices and a demo agent key (idempotent)."

    def handle(self, *args, **options):
        if not getattr(settings, "LEXECON_EMBEDDED", False):
            raise CommandError("seed_demo only runs in the embedded default (settings.dev).")
        credentials_path = var_dir() / "demo-credentials.json"
        databases = _read_credentials(credentials_path)
        stored = databases.setdefault(database_key(), {})
        with transaction.atomic():
            for username, role in DEMO_USERS.items():
                if User.objects.filter(username=username).exists():
                    continue
                password = secrets.token_urlsafe(12)
                user = services.user_create(
                    username=username, password=password, role=role, validate_password=False
                )
                device = services.totp_device_create(user=user, confirmed=True)
                stored[username] = {
                    "password": password,
                    "role": role,
                    "otpauth": device.config_url,
                    "fingerprint": password_fingerprint(user),
                }
            raw_key = None
            if not AgentKey.objects.filter(name=DEMO_AGENT).exists():
                raw_key = services.agent_key_create(
                    name=DEMO_AGENT, scopes=DEMO_AGENT_SCOPES
                ).raw_key
        demo_policy = Path(settings.BASE_DIR) / "policies" / "examples" / "customer_service.json"
        loaded = policy_services.policy_load(
            document=json.loads(demo_policy.read_text()),
            actor=system_actor("seed_demo", "manage.py seed_demo"),
            activate=False,
        )
        if policy_selectors.active_version() is None:
            policy_services.policy_activate(
                version=loaded.version, actor=system_actor("seed_demo", "manage.py seed_demo")
            )
        ledger_services.signing_keys_ensure()
        ledger_services.ledger_checkpoint_create()
        # A first full verification, so the logging controls' status has a run to read.
        ledger_services.ledger_verify_recorded(trigger="seed_demo")
        credentials_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"format": CREDENTIALS_FORMAT, "databases": databases}, handle, indent=2)
        self._print(stored, raw_key)

    def _print(self, stored: dict, raw_key: str | None) -> None:
        out = self.stdout.write
        out("")
        out("Demo users (password, then a one-time code; `manage.py demo_totp USER` prints one):")
        for username, role in DEMO_USERS.items():
            user = User.objects.filter(username=username).first()
            if user is None or not TOTPDevice.objects.filter(user=user).exists():
                continue
            info = stored.get(username)
            if info is not None and info.get("fingerprint") == password_fingerprint(user):
                out(f"  {username:<14} role={role:<19} password={info['password']}")
            else:
                out(
                    f"  {username:<14} role={role:<19} password not known for this database "
                    f"(set one: .venv/bin/python manage.py changepassword {username})"
                )
        if raw_key:
            out("")
            out("Demo agent key (shown once, copy it now):")
            out(f"  {raw_key}")
        else:
            out("")
            out("The demo agent key was printed on the first run; make another with")
            out(
                "  .venv/bin/python manage.py create_agent_key my-agent --scopes decide,ledger:read"
            )
        out("")
