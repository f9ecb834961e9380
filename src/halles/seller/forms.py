from django import forms
from django.utils.translation import gettext_lazy as _

from halles.catalog.models import ImportMode, Offer, Product
from halles.catalog.validation import FieldError, clean_gtin, clean_price, clean_vat_rate
from halles.core.money import format_money
from halles.shops.models import KycKind, LegalForm


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


class ApplicationForm(forms.Form):
    """The seller application: the declared business, the shop, the plan and the documents."""

    shop_name = forms.CharField(label=_("Shop name"), max_length=120)
    slug = forms.SlugField(
        label=_("Shop address"),
        max_length=60,
        help_text=_("Lower-case letters, digits and dashes: it appears in the shop's link."),
    )
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=None, widget=forms.RadioSelect, empty_label=None
    )
    activity = forms.CharField(
        label=_("What do you sell?"), widget=forms.Textarea(attrs={"rows": 3})
    )
    legal_name = forms.CharField(label=_("Legal name"), max_length=200)
    legal_form = forms.ChoiceField(label=_("Legal form"), choices=LegalForm.choices)
    share_capital = PriceField(label=_("Share capital (€)"), required=False)
    siret = forms.CharField(
        label=_("SIRET"),
        max_length=20,
        help_text=_("14 digits. Only declared businesses can sell."),
    )
    vat_number = forms.CharField(label=_("VAT number"), max_length=20, required=False)
    rcs = forms.CharField(label=_("RCS registration"), max_length=100, required=False)
    address_line1 = forms.CharField(label=_("Registered address"), max_length=200)
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=20)
    city = forms.CharField(label=_("City"), max_length=100)
    contact_name = forms.CharField(label=_("Contact person"), max_length=200)
    contact_email = forms.EmailField(label=_("Contact e-mail"))
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30)
    iban = forms.CharField(label=_("IBAN"), max_length=40, required=False)
    bic = forms.CharField(label=_("BIC"), max_length=11, required=False)
    identity = forms.FileField(
        label=_("Identity document of the legal representative"), required=False
    )
    registration = forms.FileField(label=_("Company registration extract (Kbis)"), required=False)
    bank = forms.FileField(label=_("Bank details (RIB)"), required=False)

    def __init__(self, *args, plans=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans


class KycUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=KycKind.choices)
    file = forms.FileField(label=_("File (PDF, JPEG or PNG, 10 MB at most)"))


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Offer file (CSV or XLSX)"),
        help_text=_("UTF-8 CSV separated by ';' or ',', with a header row; or an Excel file."),
    )
    mode = forms.ChoiceField(
        label=_("Mode"), choices=ImportMode.choices, initial="normal", widget=forms.RadioSelect
    )
