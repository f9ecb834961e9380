"""Run every periodic task once, now, in this process (for cron, or by hand)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Run the deadline sweeps and other periodic tasks once, now."

    def handle(self, *args, **options):
        for path, _every in settings.HALLES_PERIODIC_TASKS:
            result = import_string(path).call()
            self.stdout.write(f"{path}: {result}")
