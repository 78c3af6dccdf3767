"""``manage.py demo_totp USERNAME`` — print the current one-time code of a demo user.

Only in the embedded default and only for the ``demo_*`` users seeded by ``seed_demo``, so the demo can
be clicked through without an authenticator app. Production settings refuse it.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo user (embedded default only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not getattr(settings, "LEXECON_EMBEDDED", False) or not username.startswith("demo_"):
            raise CommandError("demo_totp works only for demo_* users in the embedded default.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"No TOTP device for {username!r}; run `manage.py seed_demo`.")
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
        self.stdout.write(f"{code:0{device.digits}d}")
        self.stderr.write(f"valid for about {device.step - int(time.time()) % device.step} s more")
