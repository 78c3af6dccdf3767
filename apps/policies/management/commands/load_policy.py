"""``manage.py load_policy FILE [--activate]`` — load a JSON or YAML policy document."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.principals import system_actor
from apps.core.exceptions import ApplicationError
from apps.policies import engine, services


class Command(BaseCommand):
    help = "Load a policy document (JSON or YAML) as an immutable version; optionally activate it."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--activate", action="store_true")

    def handle(self, *args, file, activate, **options):
        try:
            document = engine.load_document_text(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        except engine.PolicyValidationError as exc:
            raise CommandError(_errors(exc.errors)) from exc
        try:
            loaded = services.policy_load(
                document=document,
                actor=system_actor("cli", "manage.py load_policy"),
                activate=activate,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message}\n{_errors(exc.details.get('errors', []))}") from exc
        version = loaded.version
        state = "loaded" if loaded.created else "already loaded"
        self.stdout.write(
            f"{state}: {version.name} {version.version} ({version.relation_count} relations)"
            f"{', active' if loaded.active else ''}"
        )
        self.stdout.write(version.version_hash)


def _errors(errors) -> str:
    return "\n".join(f"  {error['path']}: {error['message']}" for error in errors)
