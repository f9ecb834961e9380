"""Every write on the catalog: categories, products and images, offers, stock, coupons,
questions. Authorisation is checked here: a seller only ever touches its own shop's rows."""

import io
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from halles.core.errors import DomainError, NotAllowed
from halles.core.money import format_money
from halles.notifications.services import email_queue

from .models import (
    Category,
    CategoryRequest,
    Coupon,
    CouponKind,
    Offer,
    Product,
    ProductImage,
    Question,
    RequestStatus,
)
from .validation import FieldError, clean_gtin

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
THUMBNAIL_SIZE = (400, 400)


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409
    default_message = _("Not enough stock.")


def _require_staff(user, shop) -> None:
    if user is None or not shop.staff.filter(user=user).exists():
        raise NotAllowed(_("You do not work for this shop."))


def _require_selling_shop(shop) -> None:
    if shop.status != "active":
        raise DomainError(
            _("Your shop is not active: its catalog cannot change."), code="shop_not_active"
        )


# --- Categories ----------------------------------------------------------------------------


def category_create(*, marketplace, name: str, parent=None, sellers_may_use=True) -> Category:
    if parent is not None and parent.marketplace_id != marketplace.pk:
        raise DomainError(_("The parent category belongs to another marketplace."))
    base = slugify(name)[:90] or "categorie"
    slug, n = base, 1
    while Category.objects.filter(marketplace=marketplace, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return Category.objects.create(
        marketplace=marketplace,
        name=name,
        slug=slug,
        parent=parent,
        sellers_may_use=sellers_may_use,
    )


def category_request(*, shop, user, name: str, parent=None, reason: str = "") -> CategoryRequest:
    _require_staff(user, shop)
    name = name.strip()
    if not name:
        raise DomainError(_("Name the category you need."), field="name")
    return CategoryRequest.objects.create(shop=shop, name=name, parent=parent, reason=reason)


def category_request_decide(*, request_id: int, operator, accept: bool, answer: str = ""):
    from halles.marketplaces.workflow import can_operate

    with transaction.atomic():
        req = CategoryRequest.objects.select_for_update().select_related("shop").get(pk=request_id)
        marketplace = req.shop.marketplace
        if not can_operate(operator, marketplace):
            raise NotAllowed()
        if req.status != RequestStatus.PENDING:
            raise DomainError(_("This request was already answered."), code="invalid_state")
        req.status = RequestStatus.ACCEPTED if accept else RequestStatus.REFUSED
        req.answer = answer
        req.save(update_fields=["status", "answer"])
        category = None
        if accept:
            category = category_create(marketplace=marketplace, name=req.name, parent=req.parent)
        return category


def usable_categories(marketplace):
    return Category.objects.filter(marketplace=marketplace, is_active=True, sellers_may_use=True)


# --- Products -----------------------------------------------------------------------------


def product_save(
    *,
    shop,
    user,
    title: str,
    description: str = "",
    brand: str = "",
    gtin: str = "",
    category=None,
    attributes: dict | None = None,
    product: Product | None = None,
) -> Product:
    """Create a product for the shop, or edit one the shop created. A GTIN already known on the
    marketplace is the shared product: the shop sells it through an offer, it does not edit it."""
    _require_staff(user, shop)
    try:
        gtin = clean_gtin(gtin)
    except FieldError as error:
        raise DomainError(error.message, code="invalid_gtin", field="gtin") from error
    if (
        category is not None
        and not usable_categories(shop.marketplace).filter(pk=category.pk).exists()
    ):
        raise DomainError(_("Sellers cannot use this category."), field="category")
    if product is not None and product.created_by_shop_id != shop.pk:
        raise NotAllowed(_("This product is shared: only its creator can change it."))
    with transaction.atomic():
        if gtin:
            other = Product.objects.filter(marketplace=shop.marketplace, gtin=gtin)
            if product is not None:
                other = other.exclude(pk=product.pk)
            if other.exists():
                raise DomainError(
                    _("A product with this GTIN already exists: add an offer on it instead."),
                    code="gtin_exists",
                    field="gtin",
                )
        product = product or Product(marketplace=shop.marketplace, created_by_shop=shop)
        product.title, product.description, product.brand = title.strip(), description, brand
        product.gtin, product.category = gtin, category
        product.attributes = attributes or {}
        product.save()
    return product


def product_image_add(*, shop, user, product: Product, upload, alt: str = "") -> ProductImage:
    """Store an image and its thumbnail. Refuses files that are too big or not images."""
    _require_staff(user, shop)
    if product.created_by_shop_id != shop.pk:
        raise NotAllowed(_("This product is shared: only its creator can change it."))
    if upload.size > MAX_IMAGE_BYTES:
        raise DomainError(
            _("The image is larger than 8 MB."), code="image_too_large", field="image"
        )
    data = upload.read()
    thumbnail = make_thumbnail(data)
    with transaction.atomic():
        image = ProductImage(product=product, alt=alt, position=product.images.count())
        image.image.save(upload.name, ContentFile(data), save=False)
        image.thumbnail.save(f"thumb-{upload.name.rsplit('.', 1)[0]}.webp", thumbnail, save=False)
        image.save()
    return image


def make_thumbnail(data: bytes) -> ContentFile:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_IMAGE_PIXELS:
                raise DomainError(_("The image has too many pixels."), field="image")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGB")
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.save(out, "WEBP", quality=82)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise DomainError(
            _("This file is not an image we can read (JPEG, PNG or WebP)."),
            code="image_invalid",
            field="image",
        ) from exc
    return ContentFile(out.getvalue())


# --- Offers -------------------------------------------------------------------------------


def offer_save(*, shop, user, offer: Offer, delivery_modes=None, sectors=None) -> Offer:
    """Create or update one of the shop's offers (fields already validated by the form)."""
    _require_staff(user, shop)
    _require_selling_shop(shop)
    if offer.pk and offer.shop_id != shop.pk:
        raise NotAllowed()
    offer.shop, offer.marketplace = shop, shop.marketplace
    if offer.product.marketplace_id != shop.marketplace_id:
        raise DomainError(_("This product belongs to another marketplace."), field="product")
    if offer.discount_price_cents is not None and offer.discount_price_cents >= offer.price_cents:
        raise DomainError(
            _("The discount price must be below the price."), field="discount_price_cents"
        )
    if (
        offer.discount_starts_at
        and offer.discount_ends_at
        and offer.discount_ends_at <= offer.discount_starts_at
    ):
        raise DomainError(_("The discount must end after it starts."), field="discount_ends_at")
    if offer.max_quantity is not None and offer.max_quantity < offer.min_quantity:
        raise DomainError(_("The maximum is below the minimum."), field="max_quantity")
    if Offer.objects.filter(shop=shop, sku=offer.sku).exclude(pk=offer.pk).exists():
        raise DomainError(_("Another offer of your shop has this SKU."), field="sku")
    with transaction.atomic():
        if offer.deactivate_when_sold_out and offer.stock == 0:
            offer.is_active = False
        offer.save()
        if delivery_modes is not None:
            if any(mode.shop_id != shop.pk for mode in delivery_modes):
                raise NotAllowed(_("A delivery mode belongs to another shop."))
            offer.delivery_modes.set(delivery_modes)
        if sectors is not None:
            offer.visible_to_sectors.set(sectors)
    return offer


def offer_quick_update(
    *,
    shop,
    user,
    offer_id: int,
    price_cents: int | None = None,
    stock: int | None = None,
    is_active: bool | None = None,
) -> Offer:
    """The seller portal's inline edit of price, stock and state."""
    _require_staff(user, shop)
    _require_selling_shop(shop)
    with transaction.atomic():
        offer = Offer.objects.select_for_update().filter(pk=offer_id, shop=shop).first()
        if offer is None:
            raise NotAllowed()
        if price_cents is not None:
            if price_cents <= 0:
                raise DomainError(_("The price must be above zero."), field="price")
            if offer.discount_price_cents is not None and offer.discount_price_cents >= price_cents:
                raise DomainError(_("The price must stay above the discount price."), field="price")
            offer.price_cents = price_cents
        if stock is not None:
            if stock < 0:
                raise DomainError(_("Stock cannot be negative."), field="stock")
            offer.stock = stock
        if is_active is not None:
            offer.is_active = is_active
        if offer.deactivate_when_sold_out and offer.stock == 0:
            offer.is_active = False
        offer.save()
    return offer


def stock_reserve(*, offer_id: int, quantity: int) -> None:
    """Take `quantity` from the stock, never below zero, whatever the concurrency.

    One guarded UPDATE: the row changes only if enough stock is left (`WHERE stock >= n`).
    Callers reserving several offers sort them by id first (no deadlock between carts).
    """
    if quantity <= 0:
        raise DomainError(_("The quantity must be at least 1."), code="bad_quantity")
    updated = Offer.objects.filter(pk=offer_id, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if updated != 1:
        raise OutOfStock()
    Offer.objects.filter(pk=offer_id, stock=0, deactivate_when_sold_out=True).update(
        is_active=False
    )


def stock_release(*, offer_id: int, quantity: int) -> None:
    """Give back stock (a refused or cancelled line)."""
    if quantity <= 0:
        raise DomainError(_("The quantity must be at least 1."), code="bad_quantity")
    Offer.objects.filter(pk=offer_id).update(stock=F("stock") + quantity)


def low_stock_offers(shop):
    return Offer.objects.filter(
        shop=shop, is_active=True, stock__lte=F("low_stock_threshold")
    ).select_related("product")


# --- Coupons ------------------------------------------------------------------------------


def coupon_save(*, coupon: Coupon, user, shop=None) -> Coupon:
    """A shop's coupon (its staff) or an operator's coupon (shop None, operators only)."""
    from halles.marketplaces.workflow import can_operate

    if shop is not None:
        _require_staff(user, shop)
        coupon.shop, coupon.marketplace = shop, shop.marketplace
    elif not can_operate(user, coupon.marketplace):
        raise NotAllowed()
    coupon.code = coupon.code.strip().upper()
    if coupon.kind == CouponKind.PERCENT:
        if coupon.percent is None or not (Decimal(0) < coupon.percent <= Decimal(100)):
            raise DomainError(_("A percentage is between 0 and 100."), field="percent")
        coupon.amount_cents = None
    else:
        if not coupon.amount_cents:
            raise DomainError(_("Give the amount of the discount."), field="amount_cents")
        coupon.percent = None
    if coupon.starts_at and coupon.ends_at and coupon.ends_at <= coupon.starts_at:
        raise DomainError(_("The coupon must end after it starts."), field="ends_at")
    clash = Coupon.objects.filter(marketplace=coupon.marketplace, code=coupon.code)
    if clash.exclude(pk=coupon.pk).exists():
        raise DomainError(_("This code is already used on the marketplace."), field="code")
    coupon.save()
    return coupon


def coupon_discount(*, coupon: Coupon, basket_cents: int, uses_by_buyer: int, at=None) -> int:
    """The discount (cents) the coupon gives on a basket, or a DomainError saying why not."""
    at = at or timezone.now()
    if not coupon.is_active or (coupon.starts_at and at < coupon.starts_at):
        raise DomainError(_("This coupon is not valid yet."), code="coupon_not_started")
    if coupon.ends_at and at >= coupon.ends_at:
        raise DomainError(_("This coupon has expired."), code="coupon_expired")
    if coupon.max_uses is not None and coupon.times_used >= coupon.max_uses:
        raise DomainError(_("This coupon has been used up."), code="coupon_used_up")
    if coupon.max_uses_per_buyer is not None and uses_by_buyer >= coupon.max_uses_per_buyer:
        raise DomainError(_("You have already used this coupon."), code="coupon_used_by_buyer")
    if basket_cents < coupon.minimum_basket_cents:
        raise DomainError(
            _("This coupon needs a basket of at least %(amount)s.")
            % {
                "amount": format_money(
                    coupon.minimum_basket_cents,
                    coupon.marketplace.currency,
                    (get_language() or "fr")[:2],
                )
            },
            code="coupon_minimum",
        )
    if coupon.kind == CouponKind.PERCENT:
        from halles.core.money import percent_of

        return min(basket_cents, percent_of(basket_cents, coupon.percent))
    return min(basket_cents, coupon.amount_cents)


# --- Questions ----------------------------------------------------------------------------


def question_ask(*, offer: Offer, user, message: str) -> Question:
    """Store a buyer's question and e-mail it to the shop (messaging will thread it)."""
    message = message.strip()
    if not message:
        raise DomainError(_("Write your question."), field="message")
    if len(message) > 2000:
        raise DomainError(_("Keep the question under 2,000 characters."), field="message")
    shop = offer.shop
    question = Question.objects.create(shop=shop, offer=offer, author=user, message=message)
    for staff in shop.staff.select_related("user").filter(user__is_active=True):
        email_queue(
            to=staff.user.email,
            template="catalog/question",
            context={"question": question, "offer": offer, "shop": shop},
            language=staff.user.language,
            marketplace=shop.marketplace,
            recipient=staff.user,
        )
    return question
