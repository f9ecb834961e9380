"""Public pages and account pages. Thin: parse, call a service, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from halles.accounts import services as account_services
from halles.accounts.models import User, normalize_email
from halles.catalog.models import Category
from halles.checkout.cart import cart_merge
from halles.core.errors import DomainError
from halles.marketplaces import selectors as marketplace_selectors
from halles.marketplaces import services as marketplace_services
from halles.marketplaces.models import MembershipRole
from halles.shops import selectors as shop_selectors
from halles.shops.models import Shop, ShopStatus

from . import catalog_views, forms, order_views


def home(request):
    marketplace = request.marketplace
    if marketplace is None:
        return render(request, "storefront/no_marketplace.html", status=404)
    featured = (
        catalog_views.visible_offers(marketplace, request.user)
        .select_related("product", "shop")
        .prefetch_related("product__images")
        .order_by("-discount_price_cents", "-created_at")[:8]
    )
    return render(
        request,
        "storefront/home.html",
        {
            "memberships": marketplace_selectors.membership_of(request.user, marketplace),
            "other_marketplaces": marketplace_selectors.public_marketplaces().exclude(
                pk=marketplace.pk
            ),
            "categories": Category.objects.filter(
                marketplace=marketplace, parent=None, is_active=True
            ),
            "featured": featured,
            "shops": Shop.objects.filter(marketplace=marketplace, status=ShopStatus.ACTIVE)[:12],
            "selling_shops": shop_selectors.marketplace_selling_shops_count(marketplace),
        },
    )


def signup(request):
    if request.user.is_authenticated:
        return redirect("storefront:account")
    form = forms.SignUpForm(request.POST or None, marketplace=request.marketplace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_services.user_sign_up(
                marketplace=request.marketplace,
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data.get("phone", ""),
                account_type=data["account_type"],
                language=request.LANGUAGE_CODE,
                organisation_name=data.get("organisation_name", ""),
                organisation_siret=data.get("organisation_siret", ""),
                sector=data.get("sector"),
            )
        except DomainError as error:
            form.add_error(error.field, str(error.message))
        else:
            request.session["signup_email"] = data["email"]
            return redirect("storefront:signup_done")
    return render(request, "storefront/account/signup.html", {"form": form})


def signup_done(request):
    return render(
        request,
        "storefront/account/signup_done.html",
        {"email": request.session.get("signup_email")},
    )


def verify_email(request, uidb64, token):
    try:
        account_services.email_verify(uidb64=uidb64, token=token)
    except DomainError as error:
        return render(
            request,
            "storefront/account/verify_failed.html",
            {"error": error, "form": forms.ResendVerificationForm()},
            status=400,
        )
    messages.success(request, _("Your e-mail address is confirmed. You can now log in."))
    return redirect("storefront:login")


@require_POST
def resend_verification(request):
    form = forms.ResendVerificationForm(request.POST)
    if form.is_valid():
        user = User.objects.filter(
            email__iexact=normalize_email(form.cleaned_data["email"]), is_active=True
        ).first()
        if user is not None:
            account_services.email_verification_send(user=user, marketplace=request.marketplace)
        messages.info(
            request,
            _("If an unconfirmed account uses this address, we have sent it a new link."),
        )
        return redirect("storefront:login")
    return render(
        request, "storefront/account/verify_failed.html", {"form": form, "error": None}, status=400
    )


class LoginView(auth_views.LoginView):
    template_name = "storefront/account/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["resend_form"] = forms.ResendVerificationForm()
        return context

    def form_valid(self, form):
        # Read before login(), which gives the session a new key (keeping its data).
        tokens = order_views.session_cart_tokens(self.request)
        response = super().form_valid(form)
        for token in tokens:
            cart_merge(token=token, user=form.get_user())
        order_views.forget_session_carts(self.request)
        return response


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("storefront:home")


def password_reset(request):
    form = forms.ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account_services.password_reset_send(
            email=form.cleaned_data["email"], marketplace=request.marketplace
        )
        return redirect("storefront:password_reset_done")
    return render(request, "storefront/account/password_reset.html", {"form": form})


def password_reset_done(request):
    return render(request, "storefront/account/password_reset_done.html")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "storefront/account/password_reset_confirm.html"
    success_url = reverse_lazy("storefront:login")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed. You can now log in."))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "storefront/account/password_change.html"
    success_url = reverse_lazy("storefront:account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response


@login_required
def account(request):
    form = forms.ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        account_services.user_update_profile(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your details have been saved."))
        response = redirect("storefront:account")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.cleaned_data["language"])
        return response
    return render(
        request,
        "storefront/account/profile.html",
        {
            "form": form,
            "memberships": request.user.memberships.select_related("marketplace"),
        },
    )


@login_required
def addresses(request):
    return render(
        request, "storefront/account/addresses.html", {"addresses": request.user.addresses.all()}
    )


@login_required
def address_edit(request, pk=None):
    instance = get_object_or_404(request.user.addresses, pk=pk) if pk else None
    initial = (
        {} if instance else {"full_name": request.user.get_full_name(), "phone": request.user.phone}
    )
    form = forms.AddressForm(request.POST or None, instance=instance, initial=initial)
    if request.method == "POST" and form.is_valid():
        account_services.address_save(user=request.user, address=form.save(commit=False))
        messages.success(request, _("The address has been saved."))
        return redirect("storefront:addresses")
    return render(
        request, "storefront/account/address_form.html", {"form": form, "address": instance}
    )


@login_required
@require_POST
def address_delete(request, pk):
    try:
        account_services.address_delete(user=request.user, address_id=pk)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The address has been deleted."))
    return redirect("storefront:addresses")


@login_required
def account_delete(request):
    form = forms.DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.user_delete(user=request.user, password=form.cleaned_data["password"])
        except DomainError as error:
            form.add_error(error.field, str(error.message))
        else:
            logout(request)
            messages.success(request, _("Your account has been deleted."))
            return redirect("storefront:home")
    return render(request, "storefront/account/delete.html", {"form": form})


@login_required
@require_POST
def join_marketplace(request):
    role = request.POST.get("role", MembershipRole.BUYER)
    if role not in MembershipRole.values or request.marketplace is None:
        messages.error(request, _("Unknown request."))
        return redirect("storefront:home")
    try:
        membership = marketplace_services.membership_request(
            marketplace=request.marketplace, user=request.user, role=role
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        if membership.status == "approved":
            messages.success(request, _("Welcome! You can now order on this marketplace."))
        else:
            messages.info(request, _("Your request has been sent to the operator."))
    return redirect("storefront:home")


@require_POST
def set_language(request):
    language = request.POST.get("language")
    next_url = request.POST.get("next") or reverse("storefront:home")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("storefront:home")
    response = HttpResponseRedirect(next_url)
    if language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE or 365 * 24 * 3600,
            samesite="Lax",
        )
        account_services.user_set_language(user=request.user, language=language)
    return response
