"""Forms of the shop settings: they parse what the seller typed into the shapes the shop
services take (cents, times, periods); the services enforce the rules."""

import re
from datetime import time

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from halles.core.money import MoneyError, parse_amount
from halles.shipping.models import Carrier
from halles.shops.models import DeliveryKind, OpeningHours, ReturnShippingPayer

from .forms import PriceField

MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_AMOUNT_CENTS = 100_000 * 100
MAX_SLOT_LINES = 48
PERIODS_PER_DAY = 2
WEEKDAYS = OpeningHours._meta.get_field("weekday").choices


def add_domain_error(form, error, aliases=None) -> None:
    """Show a DomainError on its field when the form has it (`aliases` maps a service's
    argument name to the form's field name), otherwise above the form."""
    field = (aliases or {}).get(error.field, error.field)
    form.add_error(field if field in form.fields else None, str(error.message))


def _date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def _time_input():
    return forms.TimeInput(format="%H:%M", attrs={"type": "time"})


class AmountField(PriceField):
    """An amount in euros that may be zero ('0', '4,90'), cleaned to cents."""

    def clean(self, value):
        value = forms.CharField.clean(self, value)
        if value in ("", None):
            return None
        try:
            cents = parse_amount(value)
        except MoneyError as error:
            raise forms.ValidationError(
                _("Not a valid amount: use a number such as 4,90."), code="invalid"
            ) from error
        if cents > MAX_AMOUNT_CENTS:
            raise forms.ValidationError(_("This amount is too large."), code="max_value")
        return cents


class LogoField(forms.ImageField):
    """An image of 2 MB at most; the size is checked first, so a big file gets that
    message rather than a vaguer one."""

    def to_python(self, data):
        if data and getattr(data, "size", 0) > MAX_LOGO_BYTES:
            raise forms.ValidationError(
                _("This image is too large (%(size)s MB): the logo may weigh 2 MB at most.")
                % {"size": f"{data.size / 1024 / 1024:.1f}"},
                code="file_too_large",
            )
        return super().to_python(data)


# --- Profile, payment methods, return policy -----------------------------------------------


class SettingsSectionForm(forms.Form):
    """One section of the settings page; `section` tells which form a POST is for."""

    section = ""
    initial_fields: tuple[str, ...] = ()

    @classmethod
    def for_shop(cls, shop, data=None, files=None):
        initial = {name: getattr(shop, name) for name in cls.initial_fields}
        return cls(data, files, initial=initial)

    def changes(self) -> dict:
        """The keyword arguments of `shop_profile_update`."""
        return {name: self.cleaned_data[name] for name in self.initial_fields}


class ProfileForm(SettingsSectionForm):
    section = "profile"
    initial_fields = ("description", "logo", "public_email", "public_phone")

    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown on your shop's page: what you sell, your story, your know-how."),
    )
    logo = LogoField(
        label=_("Logo"), required=False, help_text=_("JPEG, PNG or WebP, 2 MB at most.")
    )
    public_email = forms.EmailField(label=_("Public e-mail"), required=False)
    public_phone = forms.CharField(label=_("Public phone"), max_length=30, required=False)

    def changes(self) -> dict:
        data = self.cleaned_data
        fields = {
            "description": data["description"],
            "public_email": data["public_email"],
            "public_phone": data["public_phone"],
        }
        logo = data.get("logo")
        if logo is False:  # "clear" ticked
            fields["logo"] = ""
        elif isinstance(logo, UploadedFile):
            fields["logo"] = logo
        return fields


class PaymentMethodsForm(SettingsSectionForm):
    section = "payments"
    initial_fields = ("accepts_card", "accepts_bank_transfer", "accepts_pay_in_store")

    accepts_card = forms.BooleanField(label=_("Card"), required=False)
    accepts_bank_transfer = forms.BooleanField(label=_("Bank transfer"), required=False)
    accepts_pay_in_store = forms.BooleanField(label=_("Pay in store"), required=False)


class ReturnPolicyForm(SettingsSectionForm):
    section = "returns"
    initial_fields = ("return_policy", "return_shipping_paid_by")

    return_policy = forms.CharField(
        label=_("Return policy"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("How long buyers have to return an item, in what condition, how."),
    )
    return_shipping_paid_by = forms.ChoiceField(
        label=_("Who pays the return shipping?"),
        choices=ReturnShippingPayer.choices,
        widget=forms.RadioSelect,
    )


# --- Opening hours and closures -------------------------------------------------------------


class OpeningHoursForm(forms.Form):
    """The week: for each day, up to `periods` opening periods; both times empty = closed."""

    section = "hours"

    def __init__(self, *args, periods=PERIODS_PER_DAY, **kwargs):
        super().__init__(*args, **kwargs)
        self.periods_per_day = periods
        for weekday, day in WEEKDAYS:
            for number in range(1, periods + 1):
                for end, text in (
                    ("opens", gettext("%(day)s, period %(number)d: opens")),
                    ("closes", gettext("%(day)s, period %(number)d: closes")),
                ):
                    self.fields[self.field_name(weekday, number, end)] = forms.TimeField(
                        label=text % {"day": capfirst(day), "number": number},
                        required=False,
                        widget=_time_input(),
                    )

    @staticmethod
    def field_name(weekday: int, number: int, end: str) -> str:
        return f"day{weekday}_{number}_{end}"

    @classmethod
    def for_shop(cls, shop, data=None):
        by_day: dict[int, list] = {}
        for period in shop.opening_hours.order_by("weekday", "opens"):
            by_day.setdefault(period.weekday, []).append(period)
        periods = max([PERIODS_PER_DAY, *(len(p) for p in by_day.values())])
        initial = {}
        for weekday, day_periods in by_day.items():
            for number, period in enumerate(day_periods, start=1):
                initial[cls.field_name(weekday, number, "opens")] = period.opens
                initial[cls.field_name(weekday, number, "closes")] = period.closes
        return cls(data, initial=initial, periods=periods)

    def clean(self):
        data = super().clean()
        for weekday, _day in WEEKDAYS:
            for number in range(1, self.periods_per_day + 1):
                opens_name = self.field_name(weekday, number, "opens")
                closes_name = self.field_name(weekday, number, "closes")
                if opens_name in self.errors or closes_name in self.errors:
                    continue
                opens, closes = data.get(opens_name), data.get(closes_name)
                if (opens is None) != (closes is None):
                    missing = closes_name if closes is None else opens_name
                    self.add_error(
                        missing,
                        _("Give both the opening and the closing time, or neither (closed)."),
                    )
        return data

    def periods(self) -> list[tuple[int, time, time]]:
        """The `periods` argument of `opening_hours_set`."""
        result = []
        for weekday, _day in WEEKDAYS:
            for number in range(1, self.periods_per_day + 1):
                opens = self.cleaned_data.get(self.field_name(weekday, number, "opens"))
                closes = self.cleaned_data.get(self.field_name(weekday, number, "closes"))
                if opens is not None and closes is not None:
                    result.append((weekday, opens, closes))
        return result

    def days(self) -> list[tuple[str, list[tuple]]]:
        """For the template: each day's name and its (opens, closes) bound fields."""
        return [
            (
                day,
                [
                    (
                        self[self.field_name(weekday, number, "opens")],
                        self[self.field_name(weekday, number, "closes")],
                    )
                    for number in range(1, self.periods_per_day + 1)
                ],
            )
            for weekday, day in WEEKDAYS
        ]


class ClosureForm(forms.Form):
    section = "closure"

    start_date = forms.DateField(label=_("First day"), widget=_date_input())
    end_date = forms.DateField(label=_("Last day (included)"), widget=_date_input())
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        required=False,
        help_text=_("Shown to buyers, e.g. “Summer holidays”."),
    )


# --- Delivery modes and pick-up slots -------------------------------------------------------


class DeliveryModeForm(forms.Form):
    """One delivery mode; the fields shown depend on its kind."""

    KIND_FIELDS = {
        DeliveryKind.HOME: (
            "name",
            "carrier",
            "fee",
            "free_above",
            "lead_time_days",
            "is_active",
        ),
        DeliveryKind.RELAY: ("name", "carrier", "relay_network", "fee", "is_active"),
        DeliveryKind.CLICK_COLLECT: ("name", "pickup_address", "uses_slots", "is_active"),
    }
    REQUIRED = {
        DeliveryKind.HOME: ("carrier",),
        DeliveryKind.RELAY: ("carrier",),
        DeliveryKind.CLICK_COLLECT: ("pickup_address",),
    }
    # The service's argument names -> this form's fields, for its errors.
    ERROR_FIELDS = {"fee_cents": "fee", "free_above_cents": "free_above"}

    name = forms.CharField(label=_("Name shown to buyers"), max_length=100)
    carrier = forms.CharField(label=_("Carrier"), max_length=100, required=False)
    fee = AmountField(label=_("Fee (€, VAT included)"), initial=0)
    free_above = AmountField(
        label=_("Free from (€)"),
        required=False,
        help_text=_("Free when the buyer's basket in your shop reaches this amount."),
    )
    lead_time_days = forms.IntegerField(
        label=_("Lead time (business days)"), min_value=0, max_value=365, initial=2
    )
    pickup_address = forms.CharField(
        label=_("Pick-up address"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    uses_slots = forms.BooleanField(
        label=_("Buyers choose a pick-up slot"),
        required=False,
        help_text=_("You then create the slots and their capacity."),
    )
    relay_network = forms.ModelChoiceField(
        label=_("Relay-point network"),
        queryset=None,
        required=False,
        help_text=_(
            "Buyers then pick one of this carrier's relay points; without it they type the "
            "relay point."
        ),
    )
    is_active = forms.BooleanField(label=_("Active (offered to buyers)"), required=False)

    def __init__(self, *args, kind, mode=None, marketplace=None, **kwargs):
        self.kind = kind
        self.mode = mode
        if mode is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": mode.name,
                    "carrier": mode.carrier,
                    "fee": mode.fee_cents,
                    "free_above": mode.free_above_cents,
                    "lead_time_days": mode.lead_time_days,
                    "pickup_address": mode.pickup_address,
                    "uses_slots": mode.uses_slots,
                    "relay_network": mode.relay_network_id,
                    "is_active": mode.is_active,
                },
            )
        else:
            kwargs.setdefault(
                "initial", {"name": DeliveryKind(kind).label, "is_active": True, "fee": 0}
            )
        super().__init__(*args, **kwargs)
        kept = self.KIND_FIELDS[kind]
        for name in list(self.fields):
            if name not in kept:
                del self.fields[name]
        for name in self.REQUIRED[kind]:
            self.fields[name].required = True
        if "relay_network" in self.fields:
            self.fields["relay_network"].queryset = Carrier.objects.filter(
                marketplace=marketplace, has_relay_points=True, is_active=True
            )

    def apply(self, mode):
        """Copy the cleaned values onto `mode` (unsaved; the service saves it)."""
        data = self.cleaned_data
        mode.kind = self.kind
        mode.name = data["name"]
        mode.is_active = data["is_active"]
        if "carrier" in data:
            mode.carrier = data["carrier"]
        if "fee" in data:
            mode.fee_cents = data["fee"]
        if "free_above" in data:
            mode.free_above_cents = data["free_above"]
        if "lead_time_days" in data:
            mode.lead_time_days = data["lead_time_days"]
        if "pickup_address" in data:
            mode.pickup_address = data["pickup_address"]
        if "uses_slots" in data:
            mode.uses_slots = data["uses_slots"]
        if "relay_network" in data:
            mode.relay_network = data["relay_network"]
        return mode


TIME_RANGE = re.compile(
    r"^\s*(?P<h1>\d{1,2})\s*[:hH.]\s*(?P<m1>\d{2})\s*[-–—]\s*"
    r"(?P<h2>\d{1,2})\s*[:hH.]\s*(?P<m2>\d{2})\s*$"
)


def parse_time_ranges(text: str) -> list[tuple[time, time]]:
    """'08:00-09:00' lines (also '8h00 - 9h00') -> [(time(8), time(9))]; blank lines ignored."""
    ranges = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = TIME_RANGE.match(line)
        try:
            if match is None:
                raise ValueError(line)
            starts = time(int(match["h1"]), int(match["m1"]))
            ends = time(int(match["h2"]), int(match["m2"]))
        except ValueError as error:
            raise forms.ValidationError(
                _("Line %(number)d (“%(line)s”) is not a time range such as 08:00-09:00.")
                % {"number": number, "line": line.strip()},
                code="invalid",
            ) from error
        ranges.append((starts, ends))
    return ranges


class SlotGenerationForm(forms.Form):
    start_date = forms.DateField(label=_("From"), widget=_date_input())
    end_date = forms.DateField(label=_("To (included)"), widget=_date_input())
    times = forms.CharField(
        label=_("Slots of each day"),
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "08:00-09:00\n09:00-10:00"}),
        help_text=_(
            "One slot a line, such as 08:00-09:00. Days of closure or without opening hours, "
            "times outside the opening hours and slots that already exist are skipped."
        ),
    )
    capacity = forms.IntegerField(
        label=_("Orders per slot"), min_value=1, max_value=1000, initial=5
    )

    def clean_times(self):
        ranges = parse_time_ranges(self.cleaned_data["times"])
        if not ranges:
            raise forms.ValidationError(_("Give at least one slot, such as 08:00-09:00."))
        if len(ranges) > MAX_SLOT_LINES:
            raise forms.ValidationError(
                _("%(count)d slots a day at most.") % {"count": MAX_SLOT_LINES}
            )
        return ranges


# --- Staff ----------------------------------------------------------------------------------


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))

    def __init__(self, *args, valid_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = ngettext(
            "We send this address a link to join the staff, valid %(days)d day, once.",
            "We send this address a link to join the staff, valid %(days)d days, once.",
            valid_days,
        ) % {"days": valid_days}
