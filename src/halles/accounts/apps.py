from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _refresh_operator_group(sender, **kwargs):
    """After every migrate, an existing Operators group gets the rights of the apps added
    since (new models bring new permissions)."""
    from django.contrib.auth.models import Group

    from .services import OPERATOR_GROUP, operator_group_ensure

    if Group.objects.filter(name=OPERATOR_GROUP).exists():
        operator_group_ensure()


class AccountsConfig(AppConfig):
    name = "halles.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        post_migrate.connect(_refresh_operator_group, dispatch_uid="halles_operator_group")
