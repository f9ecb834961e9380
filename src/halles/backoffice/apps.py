from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AdminConfig):
    """The operator back-office: Django's admin, with Halles' own site."""

    default_site = "halles.backoffice.site.HallesAdminSite"
    verbose_name = _("Back-office")
