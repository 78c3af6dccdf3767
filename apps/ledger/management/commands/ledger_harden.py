"""``manage.py ledger_harden --role APP_ROLE`` (PostgreSQL): the app role may only read and append.

Run it as the table owner. It REVOKEs UPDATE, DELETE and TRUNCATE on the ledger tables from the role
the application connects as, on top of the append-only triggers.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from psycopg import sql

TABLES = ("ledger_ledgerentry", "ledger_checkpoint", "ledger_merklenode")


class Command(BaseCommand):
    help = "Revoke UPDATE/DELETE/TRUNCATE on ledger tables from the application role (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True)

    def handle(self, *args: Any, role: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("ledger_harden applies to PostgreSQL only.")
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(
                    sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                        sql.Identifier(table), sql.Identifier(role)
                    )
                )
                cursor.execute(
                    sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                        sql.Identifier(table), sql.Identifier(role)
                    )
                )
        self.stdout.write(f"{role}: SELECT and INSERT only on {', '.join(TABLES)}")
