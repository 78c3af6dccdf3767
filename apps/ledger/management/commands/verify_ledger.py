"""``manage.py verify_ledger [--json]`` — recompute the chain and the tree against every checkpoint.

Exit code 0 when the ledger verifies, 1 when it does not. Each run is recorded (``VerificationRun``).
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ledger import services


class Command(BaseCommand):
    help = "Verify every entry hash, link and signed checkpoint of the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the full JSON report")

    def handle(self, *args: Any, **options: Any) -> None:
        _, report = services.ledger_verify_recorded(trigger="command")
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            status = "VALID" if report["valid"] else "INVALID"
            self.stdout.write(f"{status}: {report['message']}")
            self.stdout.write(
                f"entries checked: {report['entries_checked']}; anchored by checkpoint size "
                f"{report['checkpoint_size']}; root {report['root']}"
            )
            if not report["valid"]:
                self.stdout.write(
                    f"first invalid seq: {report['first_invalid_seq']} ({report['error_code']})"
                )
        if not report["valid"]:
            sys.exit(1)
