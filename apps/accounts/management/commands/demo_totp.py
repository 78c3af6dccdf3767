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
        now = time.time()
        seconds_left = device.step - int(now) % device.step
        self.stdout.write(f"{code:0{device.digits}d}")
        if device.last_t >= int((now - device.t0) // device.step):
            # django-otp accepts each code once (its time step is remembered in last_t).
            self.stderr.write(
                f"this code was already used to sign in and will be refused: wait for the next "
                f"code in {seconds_left} s, then run demo_totp again"
            )
        else:
            self.stderr.write(
                f"valid for about {seconds_left} s more, and only once: to sign in again, wait "
                f"for the next code"
            )
