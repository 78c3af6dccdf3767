"""``manage.py create_agent_key NAME [--scopes a,b,…] [--expires-days N]``; the raw key is the last line."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.accounts import services
from apps.accounts.constants import DEFAULT_AGENT_SCOPES
from apps.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create an agent API key. The raw key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", default=",".join(DEFAULT_AGENT_SCOPES))
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, name, scopes, expires_days, **options):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
        expires_at = None
        if expires_days is not None:
            if expires_days <= 0:
                raise CommandError("--expires-days must be positive.")
            expires_at = timezone.now() + timedelta(days=expires_days)
        try:
            issued = services.agent_key_create(name=name, scopes=scope_list, expires_at=expires_at)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Agent key {issued.key.name!r} (prefix {issued.key.prefix}, scopes "
            f"{','.join(issued.key.scopes)}). Store it now; it is not shown again:"
        )
        self.stdout.write(issued.raw_key)
