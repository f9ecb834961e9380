"""The sandbox's hosted payment page: what a buyer sees at the provider (card form, then a
confirmation step for the 3-D Secure-like card). It is the provider's page, served by Halles
outside any marketplace."""

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from halles.core.errors import DomainError
from halles.core.money import format_money

from ..models import PaymentStatus, SandboxIntent
from . import bank


class CardForm(forms.Form):
    number = forms.CharField(label=_("Card number"), max_length=23)
    expiry = forms.CharField(label=_("Expiry (MM/YY)"), max_length=7)
    cvc = forms.CharField(label=_("Security code"), max_length=4)
    holder = forms.CharField(label=_("Name on the card"), max_length=100, required=False)


def _intent(intent_id) -> SandboxIntent:
    intent = SandboxIntent.objects.filter(pk=intent_id).first()
    if intent is None:
        raise Http404
    return intent


def _back(intent):
    separator = "&" if "?" in intent.return_url else "?"
    return redirect(f"{intent.return_url}{separator}payment={intent.id}")


def _context(intent, **extra):
    return {
        "intent": intent,
        "amount": format_money(intent.amount_cents, intent.currency),
        "test_cards": bank.TEST_CARDS,
        **extra,
    }


@require_http_methods(["GET", "POST"])
def pay(request, intent_id):
    intent = _intent(intent_id)
    if intent.status == PaymentStatus.REQUIRES_ACTION:
        return redirect("sandbox:confirm", intent_id=intent.id)
    if intent.status != PaymentStatus.CREATED:
        return _back(intent)
    form = CardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            intent = bank.intent_pay(
                intent_id=intent.id,
                number=form.cleaned_data["number"],
                expiry=form.cleaned_data["expiry"],
                cvc=form.cleaned_data["cvc"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            if intent.status == PaymentStatus.REQUIRES_ACTION:
                return redirect("sandbox:confirm", intent_id=intent.id)
            return _back(intent)
    status = 400 if request.method == "POST" else 200
    return render(request, "sandbox/pay.html", _context(intent, form=form), status=status)


@require_http_methods(["GET", "POST"])
def confirm(request, intent_id):
    intent = _intent(intent_id)
    if intent.status != PaymentStatus.REQUIRES_ACTION:
        return _back(intent)
    if request.method == "POST":
        intent = bank.intent_confirm(
            intent_id=intent.id, approve=request.POST.get("decision") == "approve"
        )
        return _back(intent)
    return render(request, "sandbox/confirm.html", _context(intent))


@require_POST
def cancel(request, intent_id):
    intent = bank.intent_cancel(intent_id=_intent(intent_id).id)
    return _back(intent)
