"""Forms of the seller's fulfilment: a parcel to declare, the pick-up code at hand-over and
the bulk shipments file.

They parse input only. Which lines may ship, how many are left, whether the carrier exists,
the tracking number and address, a date in the future: all of that is
`orders.fulfilment.shipment_declare`'s call, whose messages the views put on the form.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

OTHER_CARRIER = "other"
QUANTITY_PREFIX = "qty-"
DATETIME_INPUT = "%Y-%m-%dT%H:%M"
MAX_SHIPMENTS_FILE_BYTES = 2 * 1024 * 1024

# Where a service error about a field is shown on the shipment form.
SERVICE_FIELDS = {
    "carrier": "carrier",
    "tracking": "tracking_number",
    "tracking_url": "tracking_url",
    "shipped_at": "shipped_at",
}


class ShipmentForm(forms.Form):
    """One parcel: a quantity per line still to ship (`qty-<line id>`, prefilled with what
    is left; 0 leaves the line out of this parcel), the carrier, the tracking number and the
    date it left.

    Every `qty-<id>` key posted is passed on, including ids that are not lines of this
    order: the service refuses them with a clear message instead of ignoring them.
    """

    carrier = forms.CharField(
        label=_("Carrier"),
        widget=forms.Select,
        error_messages={"required": _("Choose the carrier, or “Other carrier”.")},
    )
    other_carrier = forms.CharField(
        label=_("Other carrier's name"),
        required=False,
        max_length=100,
        help_text=_("Only when the carrier is not in the list."),
    )
    tracking_url = forms.CharField(
        label=_("Tracking address (other carrier)"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=200,
        error_messages={"required": _("Give the tracking number.")},
    )
    shipped_at = forms.DateTimeField(
        label=_("Shipped on"),
        required=False,
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
        help_text=_("Now when left empty."),
    )

    def __init__(self, *args, lines=(), remaining=None, carriers=(), **kwargs):
        super().__init__(*args, **kwargs)
        remaining = remaining or {}
        self.lines = [line for line in lines if remaining.get(line.pk, 0) > 0]
        self.remaining = remaining
        self.fields["carrier"].widget.choices = [
            ("", _("Choose the carrier")),
            *((carrier.code, carrier.label) for carrier in carriers),
            (OTHER_CARRIER, _("Other carrier")),
        ]
        for line in self.lines:
            left = remaining[line.pk]
            self.fields[f"{QUANTITY_PREFIX}{line.pk}"] = forms.IntegerField(
                label=str(line),
                required=False,
                initial=left,
                widget=forms.NumberInput(attrs={"min": 0, "max": left, "class": "quantity"}),
            )

    def rows(self):
        """(line, quantity left to ship, its field) for the template."""
        return [
            (line, self.remaining[line.pk], self[f"{QUANTITY_PREFIX}{line.pk}"])
            for line in self.lines
        ]

    def clean(self):
        data = super().clean()
        quantities = {}
        for key in self.data:
            if not key.startswith(QUANTITY_PREFIX):
                continue
            line_id, value = key.removeprefix(QUANTITY_PREFIX), self.data.get(key).strip()
            try:
                quantities[int(line_id)] = int(value or 0)
            except ValueError:
                raise forms.ValidationError(
                    _("Give a whole number of items for each line (0 to leave it out).")
                ) from None
        data["quantities"] = quantities
        carrier = (data.get("carrier") or "").strip()
        other = (data.get("other_carrier") or "").strip()
        if carrier == OTHER_CARRIER:
            data["carrier_code"], data["other_carrier"] = "", other
        else:
            data["carrier_code"], data["other_carrier"], data["tracking_url"] = carrier, "", ""
        return data


class CollectForm(forms.Form):
    code = forms.CharField(
        label=_("Pick-up code given by the customer"),
        max_length=20,
        error_messages={"required": _("Type the customer's pick-up code.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "class": "code"}
        ),
    )


class ShipmentsImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by ; or , with a header row; at most 2 MB."),
        error_messages={"required": _("Choose the file to send.")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SHIPMENTS_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB: split it."))
        return upload
