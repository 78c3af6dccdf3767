"""``manage.py create_user USERNAME --role ROLE [--totp]``.

Password from ``LEXECON_USER_PASSWORD`` or an interactive prompt. With ``--totp`` a TOTP device is
enrolled and its ``otpauth://`` URI is the last line printed.
"""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts import services
from apps.accounts.constants import Role
from apps.core.exceptions import ApplicationError
from lexecon_site.env import text


class Command(BaseCommand):
    help = "Create a staff user with one role (admin, compliance_officer, reviewer, auditor)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--totp", action="store_true", help="enrol a TOTP device, print its URI"
        )

    def handle(self, *args, username, role, email, totp, **options):
        password = text("LEXECON_USER_PASSWORD")
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            user = services.user_create(
                username=username, password=password, role=role, email=email
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created {role} {username!r}.")
        if totp:
            device = services.totp_device_create(user=user, confirmed=True)
            self.stdout.write(device.config_url)
