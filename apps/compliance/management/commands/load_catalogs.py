"""``manage.py load_catalogs [--check] [--dir DIR]`` — load the shipped control catalogs.

Idempotent: running it again with the same files changes nothing. ``--check`` only validates the
files (exit 1 with the problem when one is wrong) and writes nothing.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.compliance import catalog, services


class Command(BaseCommand):
    help = "Load (or update) the framework catalogs and the capability crosswalk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=catalog.CATALOG_DIR)
        parser.add_argument("--check", action="store_true", help="validate only; write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            catalogs = catalog.load_catalog_dir(options["dir"])
        except catalog.CatalogError as exc:
            raise CommandError(str(exc)) from exc
        if options["check"]:
            counts = ", ".join(
                f"{fid} {len(spec.controls)}" for fid, spec in catalogs.frameworks.items()
            )
            self.stdout.write(
                f"catalogs valid: {counts}; crosswalk "
                f"{len(catalogs.crosswalk.capabilities)} capabilities"
            )
            return
        report = services.catalogs_load(catalogs)
        self.stdout.write(f"catalogs loaded: {report.as_text()}")
