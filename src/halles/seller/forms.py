from django import forms
from django.utils.translation import gettext_lazy as _

from halles.catalog.models import Offer, Product
from halles.catalog.validation import FieldError, clean_gtin, clean_price, clean_vat_rate
from halles.core.money import format_money


class PriceField(forms.CharField):
    """A price typed in euros ('12,50'), cleaned to cents."""

    def __init__(self, *args, required=True, **kwargs):
        super().__init__(*args, required=required, max_length=20, **kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{value / 100:.2f}".replace(".", ",")
        return value

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        try:
            return clean_price(value)
        except FieldError as error:
            raise forms.ValidationError(error.message) from error


class ProductForm(forms.ModelForm):
    image = forms.ImageField(label=_("Add an image"), required=False)

    class Meta:
        model = Product
        fields = ["title", "brand", "gtin", "category", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["gtin"].help_text = _("EAN-13 on the barcode; leave empty for handmade goods.")

    def clean_gtin(self):
        try:
            return clean_gtin(self.cleaned_data.get("gtin") or "")
        except FieldError as error:
            raise forms.ValidationError(error.message) from error


class OfferForm(forms.ModelForm):
    price = PriceField(label=_("Price (VAT included, €)"))
    discount_price = PriceField(label=_("Discount price (€)"), required=False)
    vat = forms.CharField(label=_("VAT rate (%)"), initial="20", max_length=6)

    class Meta:
        model = Offer
        fields = [
            "sku",
            "description",
            "stock",
            "is_active",
            "min_quantity",
            "max_quantity",
            "discount_starts_at",
            "discount_ends_at",
            "deactivate_when_sold_out",
            "low_stock_threshold",
            "delivery_modes",
            "visible_to_sectors",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "discount_starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "discount_ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "delivery_modes": forms.CheckboxSelectMultiple,
            "visible_to_sectors": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, shop=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delivery_modes"].queryset = shop.delivery_modes.filter(is_active=True)
        if not shop.marketplace.buyers_are_organisations:
            del self.fields["visible_to_sectors"]
        if self.instance.pk:
            self.initial["price"] = self.instance.price_cents
            self.initial["discount_price"] = self.instance.discount_price_cents
            self.initial["vat"] = str(self.instance.vat_rate).rstrip("0").rstrip(".")

    def clean_vat(self):
        try:
            return clean_vat_rate(self.cleaned_data["vat"])
        except FieldError as error:
            raise forms.ValidationError(error.message) from error

    def clean_stock(self):
        stock = self.cleaned_data["stock"]
        if stock is not None and stock < 0:
            raise forms.ValidationError(_("Stock cannot be negative."))
        return stock

    def apply(self) -> Offer:
        offer = self.save(commit=False)
        offer.price_cents = self.cleaned_data["price"]
        offer.discount_price_cents = self.cleaned_data.get("discount_price")
        offer.vat_rate = self.cleaned_data["vat"]
        return offer


class QuickOfferForm(forms.Form):
    price = PriceField(label=_("Price"))
    stock = forms.IntegerField(label=_("Stock"), min_value=0)


def money(cents, language="fr"):
    return format_money(cents, "EUR", language)
