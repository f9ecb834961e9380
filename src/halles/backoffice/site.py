from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# The order apps and models appear in on the back-office home page: what an operator does
# most comes first.
APP_ORDER = [
    "marketplaces",
    "orders",
    "shops",
    "catalog",
    "shipping",
    "payments",
    "notifications",
    "accounts",
    "django_tasks_database",
    "auth",
]
MODEL_ORDER = {
    "marketplaces": ["Membership", "Marketplace"],
    "orders": ["ShopOrder", "Order", "FraudRules"],
    "payments": ["Payment", "WebhookEvent"],
    "shipping": ["Carrier", "RelayPoint"],
    "notifications": ["Email", "EmailTemplateOverride", "Notice"],
    "accounts": ["User", "Organisation", "BusinessSector"],
    "shops": ["SellerApplication", "KycDocument", "Shop", "Plan"],
    "catalog": ["CategoryRequest", "Category", "Product", "Offer", "Coupon", "OfferImport"],
}


class HallesAdminSite(admin.AdminSite):
    site_header = _("Halles back-office")
    site_title = _("Halles back-office")
    index_title = _("Run your marketplaces")
    index_template = "backoffice/index.html"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: i for i, label in enumerate(APP_ORDER)}
        apps.sort(key=lambda app: rank.get(app["app_label"], len(rank)))
        for app in apps:
            order = MODEL_ORDER.get(app["app_label"])
            if order:
                app["models"].sort(
                    key=lambda m: (
                        order.index(m["object_name"]) if m["object_name"] in order else len(order)
                    )
                )
        return apps

    def each_context(self, request):
        context = super().each_context(request)
        from halles.marketplaces.selectors import pending_memberships_for
        from halles.shops.selectors import pending_applications_for, pending_kyc_documents_for

        if request.user.is_active and request.user.is_staff:
            context["pending_approvals"] = pending_memberships_for(request.user).count()
            context["pending_applications"] = pending_applications_for(request.user).count()
            context["pending_kyc"] = pending_kyc_documents_for(request.user).count()
        return context

    def index(self, request, extra_context=None):
        """The home page's To-do box also counts orders held by the fraud check and orders
        waiting too long (only here: not on every back-office page)."""
        from halles.orders.selectors import fraud_queue, needs_attention, operator_shop_orders

        todo = {}
        if request.user.is_active and request.user.is_staff:
            todo["fraud_queue_count"] = fraud_queue(request.user).count()
            todo["late_orders_count"] = needs_attention(operator_shop_orders(request.user)).count()
        return super().index(request, {**todo, **(extra_context or {})})


site = admin.site
