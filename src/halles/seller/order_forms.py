"""Forms of the seller's orders pages: the list's filters and the per-line decision (the
fulfilment forms are in `fulfilment_forms`).

They parse input only: which lines may be decided, and whether every pending line got a
decision, is `orders.services.shop_order_decide`'s call.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from halles.orders.models import State
from halles.orders.selectors import SellerOrderFilters

# "Deadline approaching": orders to accept within this many hours (also the "late soon" flag).
DEADLINE_SOON_HOURS = 24

ACCEPT, REFUSE = "accept", "refuse"
LINE_PREFIX = "line-"


class OrderFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), choices=[("", _("all"))] + list(State.choices), required=False
    )
    placed_from = forms.DateField(
        label=_("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    deadline_soon = forms.BooleanField(label=_("Deadline approaching (24 h)"), required=False)
    late = forms.BooleanField(label=_("Late to ship"), required=False)
    q = forms.CharField(label=_("Reference"), required=False, max_length=40)

    def clean(self):
        data = super().clean()
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", _("The end date is before the start date."))
        return data

    def late_only(self) -> bool:
        """Only the orders still to ship past their shipping deadline."""
        return bool(self.is_bound and self.cleaned_data.get("late"))

    def filters(self) -> SellerOrderFilters:
        """The filters that are valid (an invalid one is shown as an error and ignored)."""
        data = self.cleaned_data if self.is_bound else {}
        return SellerOrderFilters(
            state=data.get("state") or "",
            placed_from=data.get("placed_from"),
            placed_to=data.get("placed_to"),
            deadline_within_hours=DEADLINE_SOON_HOURS if data.get("deadline_soon") else None,
            query=(data.get("q") or "").strip(),
        )


class DecisionForm(forms.Form):
    """One accept/refuse choice per line waiting for a decision, and an optional reason.

    Every `line-<id>` key posted is passed on, including ids that are not among `lines`:
    the service refuses a line of another order with a clear message instead of silently
    ignoring it.
    """

    reason = forms.CharField(
        label=_("Reason for the refused lines (sent to the buyer)"),
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. out of stock")}),
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"{LINE_PREFIX}{line.pk}"] = forms.ChoiceField(
                label=str(line),
                choices=[(ACCEPT, _("Accept")), (REFUSE, _("Refuse"))],
                widget=forms.RadioSelect,
                required=False,
            )

    def rows(self):
        """(line, its radio field) for the template."""
        return [(line, self[f"{LINE_PREFIX}{line.pk}"]) for line in self.lines]

    def clean(self):
        data = super().clean()
        decisions = {}
        for key in self.data:
            if not key.startswith(LINE_PREFIX):
                continue
            line_id, value = key.removeprefix(LINE_PREFIX), self.data.get(key)
            if not line_id.isdigit() or value not in (ACCEPT, REFUSE):
                raise forms.ValidationError(_("Choose accept or refuse for each line."))
            decisions[int(line_id)] = value == ACCEPT
        data["decisions"] = decisions
        return data
