"""Buyers' catalog pages: categories, search, products, shops. Reads only; the one write
(a question to a seller) goes through the catalog service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from halles.catalog import search as catalog_search
from halles.catalog import services as catalog
from halles.catalog.models import Category, Product, effective_price_expression
from halles.catalog.selectors import buyer_sector_id, visible_offers
from halles.core.errors import DomainError
from halles.core.money import MoneyError, parse_amount
from halles.shops.models import DeliveryKind, Shop, ShopStatus

SORTS = [
    ("relevance", "Relevance"),
    ("price_asc", "Price, lowest first"),
    ("price_desc", "Price, highest first"),
    ("newest", "Newest"),
]


def _marketplace(request):
    if request.marketplace is None:
        raise Http404
    return request.marketplace


def _filters_from(request, category=None):
    get = request.GET

    def cents(name):
        try:
            return parse_amount(get[name]) if get.get(name) else None
        except MoneyError:
            return None

    def number(name):
        value = get.get(name, "")
        return int(value) if value.isdigit() else None

    delivery = get.get("delivery") or None
    return catalog_search.SearchFilters(
        category_id=category.pk if category else number("category"),
        shop_id=number("shop"),
        min_price_cents=cents("min_price"),
        max_price_cents=cents("max_price"),
        delivery_kind=delivery if delivery in DeliveryKind.values else None,
        in_stock=get.get("in_stock") == "1",
        on_promotion=get.get("promo") == "1",
    )


def search(request, category_slug=None):
    marketplace = _marketplace(request)
    category = None
    if category_slug:
        category = get_object_or_404(
            Category, marketplace=marketplace, slug=category_slug, is_active=True
        )
    query = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort") or ("relevance" if query else "newest")
    if sort not in dict(SORTS):
        sort = "relevance"
    page = request.GET.get("page", "1")
    result = catalog_search.search_offers(
        marketplace=marketplace,
        query=query,
        filters=_filters_from(request, category),
        sort=sort,
        page=int(page) if page.isdigit() else 1,
        sector_id=buyer_sector_id(request.user),
    )
    return render(
        request,
        "storefront/search.html",
        {
            "result": result,
            "query": query,
            "sort": sort,
            "sorts": [(code, _(label)) for code, label in SORTS],
            "category": category,
            "subcategories": category.children.filter(is_active=True) if category else None,
            "delivery_kinds": DeliveryKind.choices,
        },
    )


def product(request, product_id):
    marketplace = _marketplace(request)
    item = get_object_or_404(
        Product.objects.select_related("category").prefetch_related("images"),
        pk=product_id,
        marketplace=marketplace,
    )
    offers = list(
        visible_offers(marketplace, request.user)
        .filter(product=item)
        .select_related("shop")
        .prefetch_related("delivery_modes")
        .annotate(effective_price=effective_price_expression(timezone.now()))
        .order_by("effective_price", "id")
    )
    if not offers:
        raise Http404
    return render(request, "storefront/product.html", {"product": item, "offers": offers})


@login_required
@require_POST
def ask_question(request, offer_id):
    offer = get_object_or_404(
        visible_offers(_marketplace(request), request.user).select_related("shop", "product"),
        pk=offer_id,
    )
    try:
        catalog.question_ask(
            offer=offer, user=request.user, message=request.POST.get("message", "")
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Your question has been sent to %(shop)s.") % {"shop": offer.shop}
        )
    return redirect("storefront:product", product_id=offer.product_id)


def shop(request, shop_slug):
    marketplace = _marketplace(request)
    item = get_object_or_404(
        Shop.objects.select_related("plan"),
        marketplace=marketplace,
        slug=shop_slug,
        status=ShopStatus.ACTIVE,
    )
    page = request.GET.get("page", "1")
    result = catalog_search.search_offers(
        marketplace=marketplace,
        filters=catalog_search.SearchFilters(shop_id=item.pk),
        sort="newest",
        page=int(page) if page.isdigit() else 1,
        sector_id=buyer_sector_id(request.user),
    )
    today = timezone.localdate()
    return render(
        request,
        "storefront/shop.html",
        {
            "shop": item,
            "result": result,
            "hours": item.opening_hours.all(),
            "closures": item.closures.filter(end_date__gte=today)[:5],
            "delivery_modes": item.delivery_modes.filter(is_active=True),
        },
    )


def shops(request):
    marketplace = _marketplace(request)
    return render(
        request,
        "storefront/shops.html",
        {"shops": Shop.objects.filter(marketplace=marketplace, status=ShopStatus.ACTIVE)},
    )
