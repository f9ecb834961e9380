"""The seller portal: thin views over the catalog and shop services."""

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from halles.catalog import services as catalog
from halles.catalog.models import Offer, Product, Question
from halles.core.errors import DomainError
from halles.orders import selectors as order_selectors
from halles.orders.models import State

from . import forms
from .access import shop_view, shops_of


@login_required
def home(request):
    shops = list(shops_of(request.user, request.marketplace))
    if len(shops) == 1:
        return redirect("seller:dashboard", shop_slug=shops[0].slug)
    return render(request, "seller/home.html", {"shops": shops})


@shop_view
def dashboard(request):
    shop = request.shop
    counts = Offer.objects.filter(shop=shop).aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        inactive=Count("id", filter=Q(is_active=False)),
        out_of_stock=Count("id", filter=Q(is_active=True, stock=0)),
    )
    state_counts = order_selectors.seller_state_counts(shop)
    to_accept = order_selectors.seller_orders(
        shop, order_selectors.SellerOrderFilters(state=State.WAITING_ACCEPTANCE)
    ).order_by("acceptance_deadline", "id")[:10]
    with timezone.override(zoneinfo.ZoneInfo(shop.marketplace.time_zone)):
        return render(
            request,
            "seller/dashboard.html",
            {
                "shop": shop,
                "counts": counts,
                # Every state the shop has orders in, in the workflow's order.
                "order_counts": [
                    (code, label, state_counts[code])
                    for code, label in State.choices
                    if state_counts.get(code)
                ],
                "orders_to_accept": to_accept,
                "low_stock": catalog.low_stock_offers(shop)[:10],
                "application": getattr(shop, "application", None),
                "kyc_documents": shop.kyc_documents.order_by("kind", "-uploaded_at"),
                "imports": shop.imports.all()[:5],
                "questions": Question.objects.filter(shop=shop)[:5],
            },
        )


@shop_view
def offers(request):
    shop = request.shop
    qs = Offer.objects.filter(shop=shop).select_related("product").order_by("sku")
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(Q(sku__icontains=query) | Q(product__title__icontains=query))
    state = request.GET.get("state", "")
    if state == "active":
        qs = qs.filter(is_active=True)
    elif state == "inactive":
        qs = qs.filter(is_active=False)
    elif state == "low":
        qs = qs.filter(is_active=True, stock__lte=F("low_stock_threshold"))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "seller/offers.html",
        {"shop": shop, "page": page, "query": query, "state": state},
    )


@shop_view
@require_POST
def offer_quick_edit(request, offer_id):
    """Inline price/stock edit (htmx): returns the row, with the error when refused."""
    shop = request.shop
    offer = get_object_or_404(Offer.objects.select_related("product"), pk=offer_id, shop=shop)
    form = forms.QuickOfferForm(request.POST)
    error = None
    if form.is_valid():
        try:
            offer = catalog.offer_quick_update(
                shop=shop,
                user=request.user,
                offer_id=offer.pk,
                price_cents=form.cleaned_data["price"],
                stock=form.cleaned_data["stock"],
            )
        except DomainError as exc:
            error = str(exc.message)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    status = 422 if error else 200
    template = "seller/_offer_row.html" if request.htmx else None
    if template:
        return render(
            request,
            template,
            {"shop": shop, "offer": offer, "error": error, "saved": not error},
            status=status,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Offer %(sku)s saved.") % {"sku": offer.sku})
    return redirect("seller:offers", shop_slug=shop.slug)


@shop_view
def offer_edit(request, offer_id=None):
    shop = request.shop
    offer = get_object_or_404(Offer, pk=offer_id, shop=shop) if offer_id else None
    product = offer.product if offer else None
    own_product = product is None or product.created_by_shop_id == shop.pk
    categories = catalog.usable_categories(shop.marketplace)
    product_form = (
        forms.ProductForm(
            request.POST or None,
            request.FILES or None,
            instance=product,
            categories=categories,
            prefix="product",
        )
        if own_product
        else None
    )
    offer_form = forms.OfferForm(request.POST or None, instance=offer, shop=shop, prefix="offer")
    if (
        request.method == "POST"
        and offer_form.is_valid()
        and (product_form is None or product_form.is_valid())
    ):
        try:
            with transaction.atomic():
                if product_form is not None:
                    product = _save_product(request, shop, product_form, product)
                new_offer = offer_form.apply()
                new_offer.product = product
                saved = catalog.offer_save(
                    shop=shop,
                    user=request.user,
                    offer=new_offer,
                    delivery_modes=offer_form.cleaned_data.get("delivery_modes"),
                    sectors=offer_form.cleaned_data.get("visible_to_sectors"),
                )
        except DomainError as error:
            target = offer_form if error.field in offer_form.fields else product_form
            if target is None or error.field not in target.fields:
                target = offer_form
                field = None
            else:
                field = error.field
            target.add_error(field, str(error.message))
        else:
            messages.success(request, _("Offer %(sku)s saved.") % {"sku": saved.sku})
            return redirect("seller:offers", shop_slug=shop.slug)
    return render(
        request,
        "seller/offer_form.html",
        {
            "shop": shop,
            "offer": offer,
            "product": product,
            "product_form": product_form,
            "offer_form": offer_form,
        },
    )


def _save_product(request, shop, form, product):
    data = form.cleaned_data
    existing = None
    if data.get("gtin") and product is None:
        existing = Product.objects.filter(marketplace=shop.marketplace, gtin=data["gtin"]).first()
    if existing is not None:  # a shared product: sell it, do not duplicate it
        return existing
    product = catalog.product_save(
        shop=shop,
        user=request.user,
        title=data["title"],
        description=data["description"],
        brand=data["brand"],
        gtin=data.get("gtin") or "",
        category=data["category"],
        product=product,
    )
    if data.get("image"):
        catalog.product_image_add(
            shop=shop, user=request.user, product=product, upload=data["image"], alt=product.title
        )
    return product


@shop_view
def questions(request):
    page = Paginator(
        Question.objects.filter(shop=request.shop).select_related("offer__product"), 30
    ).get_page(request.GET.get("page"))
    return render(request, "seller/questions.html", {"shop": request.shop, "page": page})


@login_required
def apply(request):
    """A seller applies to open a shop on this marketplace."""
    from halles.shops import services as shop_services
    from halles.shops.models import Plan

    marketplace = request.marketplace
    plans = Plan.objects.filter(marketplace=marketplace, is_active=True)
    form = forms.ApplicationForm(request.POST or None, request.FILES or None, plans=plans)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        documents = {
            kind: data[kind] for kind in ("identity", "registration", "bank") if data[kind]
        }
        try:
            application = shop_services.seller_apply(
                user=request.user,
                marketplace=marketplace,
                plan=data["plan"],
                shop_name=data["shop_name"],
                slug=data["slug"],
                legal_name=data["legal_name"],
                legal_form=data["legal_form"],
                share_capital_cents=data["share_capital"],
                siret=data["siret"],
                vat_number=data["vat_number"],
                rcs=data["rcs"],
                address_line1=data["address_line1"],
                address_line2=data["address_line2"],
                postcode=data["postcode"],
                city=data["city"],
                country="FR",
                contact_name=data["contact_name"],
                contact_email=data["contact_email"],
                contact_phone=data["contact_phone"],
                activity=data["activity"],
                iban=data["iban"],
                bic=data["bic"],
                documents=documents,
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            messages.success(
                request,
                _(
                    "Your application has been sent. The operator will review it and tell you by "
                    "e-mail."
                ),
            )
            return redirect("seller:dashboard", shop_slug=application.shop.slug)
    return render(request, "seller/apply.html", {"form": form, "plans": plans})


@shop_view
def documents(request):
    """KYC documents: see their review and send a new one."""
    from halles.shops import services as shop_services

    shop = request.shop
    form = forms.KycUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            shop_services.kyc_document_add(
                shop=shop,
                user=request.user,
                kind=form.cleaned_data["kind"],
                file=form.cleaned_data["file"],
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            messages.success(request, _("The document has been sent for review."))
            return redirect("seller:documents", shop_slug=shop.slug)
    return render(
        request,
        "seller/documents.html",
        {
            "shop": shop,
            "form": form,
            "documents": shop.kyc_documents.order_by("kind", "-uploaded_at"),
        },
    )


@shop_view
def imports(request):
    """Upload an offer file; see past imports with their progress."""
    from halles.catalog.imports import offer_import_start

    shop = request.shop
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            offer_import = offer_import_start(
                shop=shop,
                user=request.user,
                uploaded_file=form.cleaned_data["file"],
                mode=form.cleaned_data["mode"],
            )
        except DomainError as error:
            form.add_error("file" if error.field in (None, "file") else None, str(error.message))
        else:
            return redirect("seller:import_detail", shop_slug=shop.slug, import_id=offer_import.pk)
    return render(
        request,
        "seller/imports.html",
        {"shop": shop, "form": form, "imports": shop.imports.all()[:30]},
        status=400 if form.errors else 200,
    )


@shop_view
def import_detail(request, import_id):
    """One import; htmx polls the progress fragment until it is done."""
    offer_import = get_object_or_404(request.shop.imports, pk=import_id)
    template = "seller/_import_progress.html" if request.htmx else "seller/import_detail.html"
    return render(request, template, {"shop": request.shop, "offer_import": offer_import})


@shop_view
def import_errors(request, import_id):
    from django.http import HttpResponse

    from halles.catalog.imports import import_errors_csv

    offer_import = get_object_or_404(request.shop.imports, pk=import_id)
    response = HttpResponse(import_errors_csv(offer_import), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{offer_import.pk}-errors.csv"'
    return response
