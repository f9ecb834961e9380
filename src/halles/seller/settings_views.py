"""Shop settings in the seller portal: profile, payment methods, return policy, opening
hours and closures, delivery modes and pick-up slots, staff and invitations.

Thin views: a form parses the input, one shop service applies the rules, a DomainError
becomes a form error (or a message, or a 400/403/404 page).

Removals (closures, delivery modes, pick-up slots) take two POSTs: the first shows what will
go and asks to confirm (or says at once why it cannot go), the second (`confirm=yes`) removes.
"""

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from halles.core.errors import DomainError
from halles.shops import services
from halles.shops.models import (
    DeliveryKind,
    DeliveryMode,
    PickupSlot,
    ShopStaff,
    StaffInvitation,
)
from halles.shops.selectors import is_shop_owner

from . import settings_forms as forms
from .access import shop_view


def _raise_for_status(error: DomainError) -> None:
    """A refusal of rights or a missing object is a 403 or 404 page, not a form error."""
    if error.status == 403:
        raise PermissionDenied(str(error.message))
    if error.status == 404:
        raise Http404(str(error.message))


def _shop_today(shop):
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(shop.marketplace.time_zone))


def _removal(request, *, check, remove, name, back, done):
    """A removal in two POSTs. Without `confirm=yes`: `check()` returns the object, shown on
    the confirmation page as `name`, or raises why it cannot go. With it: `remove()` removes
    and returns the removed object, which `done(removed)` turns into the success message.
    A refusal is an error message on the `back` page; a missing object a 404, rights a 403."""
    try:
        if request.POST.get("confirm") != "yes":
            context = {"shop": request.shop, name: check(), "back": back}
            return render(request, "seller/settings/confirm_removal.html", context)
        removed = remove()
    except DomainError as error:
        _raise_for_status(error)
        messages.error(request, str(error.message))
    else:
        messages.success(request, done(removed))
    return redirect(back)


# --- Profile, payment methods, return policy -----------------------------------------------

PROFILE_SECTIONS = (forms.ProfileForm, forms.PaymentMethodsForm, forms.ReturnPolicyForm)


@shop_view
def profile(request):
    shop = request.shop
    section_forms = {cls.section: cls.for_shop(shop) for cls in PROFILE_SECTIONS}
    if request.method == "POST":
        section = request.POST.get("section")
        form_class = next((cls for cls in PROFILE_SECTIONS if cls.section == section), None)
        if form_class is None:
            return render(request, "errors/400.html", status=400)
        form = section_forms[section] = form_class.for_shop(shop, request.POST, request.FILES)
        if form.is_valid():
            try:
                services.shop_profile_update(shop=shop, by=request.user, **form.changes())
            except DomainError as error:
                _raise_for_status(error)
                forms.add_domain_error(form, error)
            else:
                messages.success(request, _("Your shop's settings are saved."))
                return redirect("seller:settings", shop_slug=shop.slug)
    return render(
        request,
        "seller/settings/profile.html",
        {"shop": shop, **{f"{name}_form": form for name, form in section_forms.items()}},
    )


# --- Opening hours and closures -------------------------------------------------------------


@shop_view
def hours(request):
    shop = request.shop
    hours_form = forms.OpeningHoursForm.for_shop(shop)
    closure_form = forms.ClosureForm()
    if request.method == "POST":
        section = request.POST.get("section")
        if section == forms.OpeningHoursForm.section:
            hours_form = forms.OpeningHoursForm.for_shop(shop, request.POST)
            if hours_form.is_valid():
                try:
                    services.opening_hours_set(
                        shop=shop, by=request.user, periods=hours_form.periods()
                    )
                except DomainError as error:
                    _raise_for_status(error)
                    forms.add_domain_error(hours_form, error)
                else:
                    messages.success(request, _("The opening hours are saved."))
                    return redirect("seller:hours", shop_slug=shop.slug)
        elif section == forms.ClosureForm.section:
            closure_form = forms.ClosureForm(request.POST)
            if closure_form.is_valid():
                try:
                    services.closure_add(shop=shop, by=request.user, **closure_form.cleaned_data)
                except DomainError as error:
                    _raise_for_status(error)
                    forms.add_domain_error(closure_form, error)
                else:
                    messages.success(request, _("The closure is added."))
                    return redirect("seller:hours", shop_slug=shop.slug)
        else:
            return render(request, "errors/400.html", status=400)
    return render(
        request,
        "seller/settings/hours.html",
        {
            "shop": shop,
            "hours_form": hours_form,
            "closure_form": closure_form,
            "closures": shop.closures.filter(end_date__gte=_shop_today(shop)),
        },
    )


@shop_view
@require_POST
def closure_remove(request, closure_id):
    """Remove a current or future closure (past ones are the shop's history)."""
    shop, user = request.shop, request.user
    return _removal(
        request,
        check=lambda: services.closure_remove_check(shop=shop, by=user, closure_id=closure_id),
        remove=lambda: services.closure_remove(shop=shop, by=user, closure_id=closure_id),
        name="closure",
        back=reverse("seller:hours", kwargs={"shop_slug": shop.slug}),
        done=lambda closure: _("The closure is deleted."),
    )


# --- Delivery modes -------------------------------------------------------------------------


@shop_view
def delivery(request):
    shop = request.shop
    return render(
        request,
        "seller/settings/delivery.html",
        {
            "shop": shop,
            "modes": shop.delivery_modes.order_by("-is_active", "kind", "name", "id"),
            "kinds": DeliveryKind.choices,
        },
    )


@shop_view
def delivery_edit(request, mode_id=None):
    shop = request.shop
    mode = get_object_or_404(DeliveryMode, pk=mode_id, shop=shop) if mode_id else None
    kind = mode.kind if mode else request.GET.get("kind", "")
    if kind not in DeliveryKind.values:  # a new mode: choose its kind first
        return render(
            request,
            "seller/settings/delivery_form.html",
            {"shop": shop, "mode": None, "form": None, "kinds": DeliveryKind.choices},
        )
    form = forms.DeliveryModeForm(
        request.POST or None, kind=kind, mode=mode, marketplace=shop.marketplace
    )
    if request.method == "POST" and form.is_valid():
        target = DeliveryMode.objects.get(pk=mode.pk) if mode else DeliveryMode()
        try:
            saved = services.delivery_mode_save(shop=shop, by=request.user, mode=form.apply(target))
        except DomainError as error:
            _raise_for_status(error)
            forms.add_domain_error(form, error, forms.DeliveryModeForm.ERROR_FIELDS)
        else:
            messages.success(request, _("The delivery mode “%(name)s” is saved.") % {"name": saved})
            return redirect("seller:delivery", shop_slug=shop.slug)
    return render(
        request,
        "seller/settings/delivery_form.html",
        {"shop": shop, "mode": mode, "form": form, "kind_label": DeliveryKind(kind).label},
    )


@shop_view
@require_POST
def delivery_toggle(request, mode_id):
    """Activate or deactivate a delivery mode."""
    shop = request.shop
    mode = get_object_or_404(DeliveryMode, pk=mode_id, shop=shop)
    mode.is_active = not mode.is_active
    try:
        services.delivery_mode_save(shop=shop, by=request.user, mode=mode)
    except DomainError as error:
        _raise_for_status(error)
        messages.error(request, str(error.message))
    else:
        if mode.is_active:
            messages.success(request, _("“%(name)s” is offered to buyers again.") % {"name": mode})
        else:
            messages.success(request, _("“%(name)s” is no longer offered.") % {"name": mode})
    return redirect("seller:delivery", shop_slug=shop.slug)


@shop_view
@require_POST
def delivery_delete(request, mode_id):
    """Delete a delivery mode nothing holds on to; otherwise the message suggests
    deactivating it."""
    shop, user = request.shop, request.user
    return _removal(
        request,
        check=lambda: services.delivery_mode_delete_check(shop=shop, by=user, mode_id=mode_id),
        remove=lambda: services.delivery_mode_delete(shop=shop, by=user, mode_id=mode_id),
        name="mode",
        back=reverse("seller:delivery", kwargs={"shop_slug": shop.slug}),
        done=lambda mode: _("The delivery mode “%(name)s” is deleted.") % {"name": mode.name},
    )


@shop_view
def slots(request, mode_id):
    shop = request.shop
    mode = get_object_or_404(DeliveryMode, pk=mode_id, shop=shop)
    uses_slots = mode.kind == DeliveryKind.CLICK_COLLECT and mode.uses_slots
    form = forms.SlotGenerationForm(request.POST or None) if uses_slots else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.pickup_slots_generate(
                mode=mode,
                by=request.user,
                start_date=data["start_date"],
                end_date=data["end_date"],
                times=data["times"],
                capacity=data["capacity"],
            )
        except DomainError as error:
            _raise_for_status(error)
            forms.add_domain_error(form, error)
        else:
            count = len(created)
            if count:
                messages.success(
                    request,
                    ngettext("%(count)d slot created.", "%(count)d slots created.", count)
                    % {"count": count},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "No slot created: these days are closed, the times are outside the "
                        "opening hours, already past, or the slots already exist."
                    ),
                )
            return redirect("seller:slots", shop_slug=shop.slug, mode_id=mode.pk)
    page = Paginator(
        mode.slots.filter(ends_at__gt=timezone.now()).order_by("starts_at"), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "seller/settings/slots.html",
        {
            "shop": shop,
            "mode": mode,
            "form": form,
            "page": page,
            "time_zone": shop.marketplace.time_zone,
        },
    )


@shop_view
@require_POST
def slot_delete(request, mode_id, slot_id):
    """Delete a pick-up slot nobody booked; back to the page of the list it was on."""
    shop, user = request.shop, request.user
    mode = get_object_or_404(DeliveryMode, pk=mode_id, shop=shop)
    get_object_or_404(PickupSlot, pk=slot_id, delivery_mode=mode)
    back = reverse("seller:slots", kwargs={"shop_slug": shop.slug, "mode_id": mode.pk})
    page = request.POST.get("page", "")
    if page.isascii() and page.isdigit() and int(page) > 1:
        back += f"?page={int(page)}"
    return _removal(
        request,
        check=lambda: services.pickup_slot_delete_check(shop=shop, by=user, slot_id=slot_id),
        remove=lambda: services.pickup_slot_delete(shop=shop, by=user, slot_id=slot_id),
        name="slot",
        back=back,
        done=lambda slot: _("The pick-up slot is deleted."),
    )


# --- Staff ----------------------------------------------------------------------------------


@shop_view
def staff(request):
    shop = request.shop
    is_owner = is_shop_owner(request.user, shop)
    valid_days = services.INVITATION_VALIDITY.days
    form = forms.StaffInviteForm(request.POST or None, valid_days=valid_days)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.staff_invite(
                shop=shop, email=form.cleaned_data["email"], invited_by=request.user
            )
        except DomainError as error:
            _raise_for_status(error)
            forms.add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("An invitation is on its way to %(email)s.") % {"email": invitation.email},
            )
            return redirect("seller:staff", shop_slug=shop.slug)
    invitations = (
        shop.invitations.filter(
            accepted_at__isnull=True,
            created_at__gt=timezone.now() - services.INVITATION_VALIDITY,
        ).order_by("-created_at")
        if is_owner
        else StaffInvitation.objects.none()
    )
    return render(
        request,
        "seller/settings/staff.html",
        {
            "shop": shop,
            "is_owner": is_owner,
            "form": form if is_owner else None,
            "members": shop.staff.select_related("user").order_by("role", "added_at", "id"),
            "invitations": invitations,
        },
    )


@shop_view
@require_POST
def staff_remove(request, member_id):
    shop = request.shop
    member = get_object_or_404(ShopStaff.objects.select_related("user"), pk=member_id, shop=shop)
    try:
        services.staff_remove(shop=shop, user=member.user, by=request.user)
    except DomainError as error:
        _raise_for_status(error)
        messages.error(request, str(error.message))
        return redirect("seller:staff", shop_slug=shop.slug)
    if member.user_id == request.user.pk:
        messages.success(request, _("You left the staff of %(shop)s.") % {"shop": shop.name})
        return redirect("seller:home")
    messages.success(
        request,
        _("%(name)s is no longer a member of the staff.")
        % {"name": member.user.get_full_name() or member.user.email},
    )
    return redirect("seller:staff", shop_slug=shop.slug)


@login_required
def invitation_accept(request, token):
    """The link of an invitation e-mail: shows the shop, joins its staff on POST."""
    invitation = (
        StaffInvitation.objects.select_related("shop", "invited_by")
        .filter(token=token, shop__marketplace=request.marketplace)
        .first()
        if request.marketplace is not None
        else None
    )
    if invitation is None:
        return _invitation_failed(request, _("This invitation does not exist."))
    if request.method == "POST":
        try:
            services.staff_invitation_accept(token=token, user=request.user)
        except DomainError as error:
            return _invitation_failed(request, str(error.message), invitation)
        messages.success(
            request, _("Welcome to the staff of %(shop)s.") % {"shop": invitation.shop.name}
        )
        return redirect("seller:dashboard", shop_slug=invitation.shop.slug)
    return render(request, "seller/settings/invitation.html", {"invitation": invitation})


def _invitation_failed(request, message, invitation=None):
    return render(
        request,
        "seller/settings/invitation_failed.html",
        {"message": message, "invitation": invitation},
        status=400,
    )
