"""The `halles` command: Django's management commands plus Halles' own (demo, serve, worker)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "halles.config.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    if len(argv) > 1 and argv[1] == "import-offers":  # command names cannot hold "-"
        argv[1] = "import_offers"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
