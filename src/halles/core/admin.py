"""Back-office helpers shared by the domain apps' admin modules."""

from django.contrib import admin


class MarketplaceScopedAdmin(admin.ModelAdmin):
    """Operators see only the rows of marketplaces they run; superusers see everything.

    `marketplace_lookup` is the query path from the model to its marketplace.
    """

    marketplace_lookup = "marketplace"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.marketplace_lookup}__operators": request.user}).distinct()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "marketplace" and not request.user.is_superuser:
            kwargs["queryset"] = db_field.related_model.objects.filter(operators=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
