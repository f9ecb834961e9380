from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "halles.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self):
        # The back-office previews the order e-mails with the marketplace's latest order.
        from halles.notifications.previews import register_preview_provider

        from .notify import preview_context

        register_preview_provider(
            "orders/",
            preview_context,
            missing=_("There is no order on this marketplace yet to preview this e-mail with."),
        )
