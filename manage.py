#!/usr/bin/env python
"""Django's command-line utility; defaults to the embedded settings (``lexecon_site.settings.dev``)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lexecon_site.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
