from getpass import getpass

from django.core.management.base import BaseCommand, CommandError

from halles.accounts.services import operator_appoint
from halles.marketplaces.models import Marketplace


class Command(BaseCommand):
    help = "Make an account operator staff of one or more marketplaces (creating it if needed)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--marketplace", action="append", required=True, dest="slugs")
        parser.add_argument("--password", help="for a new account (asked when omitted)")

    def handle(self, *args, email, slugs, password=None, **options):
        marketplaces = list(Marketplace.objects.filter(slug__in=slugs))
        unknown = set(slugs) - {m.slug for m in marketplaces}
        if unknown:
            raise CommandError(f"Unknown marketplace: {', '.join(sorted(unknown))}")
        from halles.accounts.models import User

        if not User.objects.filter(email__iexact=email).exists() and not password:
            password = getpass("Password for the new account: ")
        user = operator_appoint(email=email, marketplaces=marketplaces, password=password)
        names = ", ".join(m.name for m in marketplaces)
        self.stdout.write(self.style.SUCCESS(f"{user.email} now operates: {names}"))
