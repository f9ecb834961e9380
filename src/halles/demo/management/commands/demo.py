from django.core.management.base import BaseCommand

from halles.demo.data import LOGINS, PASSWORD, load_demo
from halles.marketplaces.models import Marketplace


class Command(BaseCommand):
    help = "Load the demo marketplaces and accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Only when the database has no marketplace."
        )
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")

    def handle(self, *args, if_empty=False, logins=False, **options):
        if not logins:
            if if_empty and Marketplace.objects.exists():
                self.stdout.write("The database already holds marketplaces: demo not loaded.")
            else:
                load_demo()
                self.stdout.write(self.style.SUCCESS("Demo marketplaces loaded."))
        self.stdout.write(f"\nDemo logins (password for all: {PASSWORD})")
        for email, role in LOGINS:
            self.stdout.write(f"  {email:<26} {role}")
        self.stdout.write(
            "\n  Marché de Villeneuve: http://127.0.0.1:8000/  (also /m/villeneuve/)"
            "\n  Santé Pro:            http://127.0.0.1:8000/m/sante-pro/"
            "\n  Back-office:          http://127.0.0.1:8000/admin/"
            "\n  E-mails sent:         http://127.0.0.1:8000/admin/notifications/email/\n"
        )
