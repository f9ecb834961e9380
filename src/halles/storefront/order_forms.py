"""Forms of the cart, checkout and order pages. They parse input only: every rule (stock,
quantities, delivery, coupons, addresses) is checked by the checkout and order services,
whose messages the views show."""

from django import forms
from django.utils.translation import gettext_lazy as _

# Large enough for any real order, small enough for every database's integer column.
MAX_QUANTITY = 100_000


class AddToCartForm(forms.Form):
    offer_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    quantity = forms.IntegerField(label=_("Quantity"), initial=1, max_value=MAX_QUANTITY)
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class CartLineForm(forms.Form):
    """One line's new quantity, or its removal (the "remove" button, or a quantity of 0)."""

    UPDATE, REMOVE = "update", "remove"

    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY, required=False
    )
    action = forms.ChoiceField(
        choices=[(UPDATE, UPDATE), (REMOVE, REMOVE)], required=False, initial=UPDATE
    )

    def clean(self):
        data = super().clean()
        if data.get("action") != self.REMOVE and data.get("quantity") is None:
            self.add_error("quantity", _("Give a quantity."))
        return data

    @property
    def removes(self) -> bool:
        return self.cleaned_data.get("action") == self.REMOVE or self.cleaned_data["quantity"] == 0


class DeliveryForm(forms.Form):
    """A shop's delivery mode. Each mode of the cart page has its own slot select
    (`pickup_slot_<mode id>`), relay point field (`relay_point_<mode id>`, typed) and relay
    point choice (`relay_point_id_<mode id>`, one of the carrier's directory), so a page
    without JavaScript sends the ones of the chosen mode."""

    delivery_mode = forms.IntegerField(
        label=_("Delivery mode"), error_messages={"required": _("Choose a delivery mode.")}
    )

    def clean(self):
        data = super().clean()
        mode_id = data.get("delivery_mode")
        if mode_id is None:
            return data
        slot = self.data.get(f"pickup_slot_{mode_id}") or self.data.get("pickup_slot") or ""
        data["pickup_slot"] = int(slot) if slot.isdigit() else None
        relay = self.data.get(f"relay_point_{mode_id}") or self.data.get("relay_point") or ""
        data["relay_point"] = relay.strip()[:255]
        point = self.data.get(f"relay_point_id_{mode_id}") or self.data.get("relay_point_id") or ""
        data["relay_point_id"] = int(point) if point.isdigit() else None
        return data


class RelaySearchForm(forms.Form):
    """The relay-point search of a cart's delivery mode: a postcode (or its start) or a
    city."""

    mode = forms.IntegerField(widget=forms.HiddenInput)
    q = forms.CharField(
        label=_("Postcode or city"),
        min_length=2,
        max_length=60,
        error_messages={
            "required": _("Type a postcode or a city."),
            "min_length": _("Type at least 2 characters."),
        },
    )


class CouponForm(forms.Form):
    code = forms.CharField(
        label=_("Promo code"),
        max_length=40,
        error_messages={"required": _("Type the code.")},
    )


class AddressChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        label = f"{obj.label}: " if obj.label else ""
        return label + ", ".join(obj.lines())


class CheckoutForm(forms.Form):
    """The buyer's addresses, the token that makes a double submission place one order,
    and the total the buyer saw (the order is refused if the cart's total changed)."""

    billing_address = AddressChoiceField(
        label=_("Billing address"),
        queryset=None,
        required=False,  # the checkout service says when it is missing
        empty_label=None,
        widget=forms.RadioSelect,
    )
    shipping_address = AddressChoiceField(
        label=_("Delivery address"),
        queryset=None,
        required=False,
        empty_label=None,
        widget=forms.RadioSelect,
    )
    checkout_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    expected_total = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, user, needs_shipping: bool, **kwargs):
        super().__init__(*args, **kwargs)
        addresses = user.addresses.all()
        self.fields["billing_address"].queryset = addresses
        if needs_shipping:
            self.fields["shipping_address"].queryset = addresses
        else:
            del self.fields["shipping_address"]
        if not self.is_bound:
            self.initial.setdefault("billing_address", _preselected(addresses, "billing"))
            if needs_shipping:
                self.initial.setdefault("shipping_address", _preselected(addresses, "shipping"))


def _preselected(addresses, kind: str) -> int | None:
    """The default address of that kind, else the only address of the book."""
    addresses = list(addresses)
    default = next((a for a in addresses if getattr(a, f"is_default_{kind}")), None)
    if default is None and len(addresses) == 1:
        default = addresses[0]
    return default.pk if default else None


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you cancel? (optional, shown to the shop)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
