"""Serve the web application (gunicorn), the task worker and the scheduler of periodic
tasks together; Ctrl-C stops them all."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Halles: web server and task worker, together."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )

    def handle(self, *args, host, port, workers, **options):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "halles.config.settings"
            ),
            # Links in e-mails point at this server unless the site address is configured.
            "HALLES_SITE_URL": os.environ.get("HALLES_SITE_URL", f"http://{host}:{port}"),
        }
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "halles.config.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(workers),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
            env=env,
        )
        worker = subprocess.Popen([sys.executable, "-m", "halles.cli", "worker"], env=env)
        scheduler = subprocess.Popen([sys.executable, "-m", "halles.cli", "scheduler"], env=env)
        children = [web, worker, scheduler]
        self.stdout.write(f"Halles is served at http://{host}:{port}/ (Ctrl-C stops it)")

        def stop(*_args):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        # Ctrl-C (SIGINT) and SIGTERM stop both children, even when SIGINT was ignored at start.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if failed:
            raise SystemExit(1)
