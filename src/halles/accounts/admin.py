from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Address, BusinessSector, Organisation, User


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = [
        "full_name",
        "line1",
        "postcode",
        "city",
        "country",
        "is_default_billing",
        "is_default_shipping",
    ]


class HallesUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class HallesUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = HallesUserChangeForm
    add_form = HallesUserCreationForm
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "account_type",
        "organisation",
        "email_verified",
        "is_staff",
        "is_active",
    ]
    list_filter = [
        "account_type",
        "is_staff",
        "is_active",
        ("email_verified_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "first_name", "last_name", "organisation__name"]
    readonly_fields = ["date_joined", "last_login", "deleted_at"]
    inlines = [AddressInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            _("Person"),
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "phone",
                    "language",
                    "account_type",
                    "organisation",
                ]
            },
        ),
        (
            _("Status"),
            {
                "fields": [
                    "is_active",
                    "email_verified_at",
                    "date_joined",
                    "last_login",
                    "deleted_at",
                ]
            },
        ),
        (
            _("Back-office access"),
            {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    PRIVILEGES = ["is_staff", "is_superuser", "groups", "user_permissions"]

    def get_queryset(self, request):
        """Operators see the accounts of their marketplaces (and their own); superusers all."""
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(
            Q(memberships__marketplace__operators=request.user) | Q(pk=request.user.pk)
        ).distinct()

    def get_readonly_fields(self, request, obj=None):
        """Only a superuser grants back-office rights: an operator cannot raise anyone's."""
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self.PRIVILEGES
        return fields

    @admin.display(boolean=True, description=_("e-mail confirmed"))
    def email_verified(self, obj):
        return obj.email_verified


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "sector", "siret", "created_at"]
    list_filter = ["sector"]
    search_fields = ["name", "siret"]


@admin.register(BusinessSector)
class BusinessSectorAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
