from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background task worker (e-mails, imports, deadlines)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="Run queued tasks, then exit.")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, batch=False, interval=1.0, **options):
        kwargs = {"queue_name": "*", "interval": interval, "reload": False}
        if batch:
            kwargs["batch"] = True
        call_command("db_worker", verbosity=options["verbosity"], **kwargs)
