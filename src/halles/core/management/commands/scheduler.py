"""Queue the periodic tasks (deadline sweeps) at their intervals; `halles serve` runs it
beside the web server and the worker. Each task is idempotent, so a second scheduler or a
missed tick does no harm."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Queue the periodic tasks (deadlines, callbacks) at their intervals."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Queue each task once and exit.")

    def handle(self, *args, once=False, **options):
        jobs = [(import_string(path), every) for path, every in settings.HALLES_PERIODIC_TASKS]
        next_run = {task: 0.0 for task, _every in jobs}
        while True:
            now = time.monotonic()
            for task, every in jobs:
                if now >= next_run[task]:
                    task.enqueue()
                    next_run[task] = now + every
            if once:
                return
            time.sleep(1)
