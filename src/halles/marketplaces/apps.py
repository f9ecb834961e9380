from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplacesConfig(AppConfig):
    name = "halles.marketplaces"
    label = "marketplaces"
    verbose_name = _("Marketplaces")
