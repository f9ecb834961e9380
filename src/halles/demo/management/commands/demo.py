from django.conf import settings
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
        site = settings.SITE_URL
        self.stdout.write(
            f"\n  Marché de Villeneuve: {site}/  (also /m/villeneuve/)"
            f"\n  Santé Pro:            {site}/m/sante-pro/"
            f"\n  Back-office:          {site}/admin/"
            f"\n  E-mails sent:         {site}/admin/notifications/email/\n"
        )
