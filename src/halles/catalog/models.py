"""Categories, products (shared by GTIN or created by a shop), offers, coupons, imports."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .validation import FieldError, clean_gtin


class Category(models.Model):
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="categories",
        verbose_name=_("marketplace"),
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent category"),
    )
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    sellers_may_use = models.BooleanField(
        _("sellers may use it"),
        default=True,
        help_text=_("Sellers can file products in this category."),
    )
    is_active = models.BooleanField(_("visible"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["marketplace", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "slug"], name="category_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list["Category"]:
        chain, node = [], self.parent
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    ACCEPTED = "accepted", pgettext_lazy("category request", "Accepted")
    REFUSED = "refused", pgettext_lazy("category request", "Refused")


class CategoryRequest(models.Model):
    """A seller asks the operator for a category that does not exist yet."""

    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        related_name="category_requests",
        verbose_name=_("shop"),
    )
    name = models.CharField(_("category wanted"), max_length=100)
    parent = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("under"),
    )
    reason = models.TextField(_("why"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    answer = models.TextField(_("answer"), blank=True)
    created_at = models.DateTimeField(_("asked"), default=timezone.now)

    class Meta:
        verbose_name = _("category request")
        verbose_name_plural = _("category requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """What is sold. With a GTIN it is shared by every shop that sells it on the marketplace;
    without one it belongs to the shop that created it."""

    # No index of its own: the unique (marketplace, gtin) leads with it (see Offer.shop).
    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="products",
        verbose_name=_("marketplace"),
        db_index=False,
    )
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    # NULL, not "", for products without a GTIN: the unique constraint ignores NULLs.
    gtin = models.CharField(_("GTIN / EAN"), max_length=14, null=True, blank=True)  # noqa: DJ001
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
        verbose_name=_("category"),
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_by_shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "gtin"], name="product_gtin_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    @cached_property
    def card_image(self) -> "ProductImage | None":
        """The image an offer card shows: the first one. The search's page sets it for all its
        cards from one query; else it comes from the images (prefetched, or read)."""
        images = list(self.images.all())
        return images[0] if images else None

    def clean_fields(self, exclude=None) -> None:
        """Also puts the GTIN in its canonical form (see `validation.clean_gtin`), for the
        back-office's form, which the services' checks do not see."""
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if not exclude or "gtin" not in exclude:
            try:
                self.gtin = clean_gtin(self.gtin or "")
            except FieldError as error:
                errors.setdefault("gtin", []).append(error.message)
        if errors:
            raise ValidationError(errors)


class ProductImage(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    image = models.ImageField(_("image"), upload_to="products/%Y/%m/")
    thumbnail = models.ImageField(_("thumbnail"), upload_to="products/thumbs/%Y/%m/", blank=True)
    alt = models.CharField(_("description of the image"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product", "position", "id"]

    def __str__(self) -> str:
        return self.alt or self.image.name


def effective_price_expression(at=None):
    """SQL for the price a buyer pays now: the discount price inside its dates, else the price."""
    at = at or timezone.now()
    in_promotion = (
        Q(discount_price_cents__isnull=False)
        & (Q(discount_starts_at__isnull=True) | Q(discount_starts_at__lte=at))
        & (Q(discount_ends_at__isnull=True) | Q(discount_ends_at__gt=at))
    )
    return Case(When(in_promotion, then=F("discount_price_cents")), default=F("price_cents"))


class Offer(models.Model):
    """One shop's terms for one product."""

    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=_("marketplace"),
    )
    # No index of its own: the unique (shop, sku) leads with it. With both, the planner
    # could probe the shop's index for each SKU of an import (docs/performance.md).
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        related_name="offers",
        verbose_name=_("shop"),
        db_index=False,
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="offers", verbose_name=_("product")
    )
    sku = models.CharField(_("shop SKU"), max_length=100)
    description = models.TextField(_("offer details"), blank=True)
    price_cents = models.PositiveIntegerField(_("price (cents, VAT included)"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2, default=20)
    stock = models.IntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    min_quantity = models.PositiveIntegerField(_("minimum quantity"), default=1)
    max_quantity = models.PositiveIntegerField(_("maximum quantity"), null=True, blank=True)
    discount_price_cents = models.PositiveIntegerField(
        _("discount price (cents)"), null=True, blank=True
    )
    discount_starts_at = models.DateTimeField(_("discount from"), null=True, blank=True)
    discount_ends_at = models.DateTimeField(_("discount until"), null=True, blank=True)
    deactivate_when_sold_out = models.BooleanField(_("deactivate at zero stock"), default=False)
    low_stock_threshold = models.PositiveIntegerField(_("low stock below"), default=3)
    delivery_modes = models.ManyToManyField(
        "shops.DeliveryMode", blank=True, related_name="offers", verbose_name=_("delivery modes")
    )
    visible_to_sectors = models.ManyToManyField(
        "accounts.BusinessSector",
        blank=True,
        related_name="offers",
        verbose_name=_("visible to sectors"),
        help_text=_("Empty: visible to every buyer."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["shop", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "sku"], name="offer_sku_unique_per_shop"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="offer_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(max_quantity__isnull=True) | Q(max_quantity__gte=F("min_quantity")),
                name="offer_max_quantity_above_min",
            ),
            models.CheckConstraint(
                condition=Q(discount_price_cents__isnull=True)
                | Q(discount_price_cents__lt=F("price_cents")),
                name="offer_discount_below_price",
            ),
        ]
        indexes = [models.Index(fields=["marketplace", "is_active"])]

    def __str__(self) -> str:
        return f"{self.sku} ({self.shop})"

    def in_promotion(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.discount_price_cents is not None
            and (self.discount_starts_at is None or self.discount_starts_at <= at)
            and (self.discount_ends_at is None or self.discount_ends_at > at)
        )

    def effective_price_cents(self, at=None) -> int:
        return self.discount_price_cents if self.in_promotion(at) else self.price_cents

    @property
    def is_low_stock(self) -> bool:
        return self.stock <= self.low_stock_threshold


class CouponKind(models.TextChoices):
    PERCENT = "percent", _("Percentage")
    FIXED = "fixed", _("Fixed amount")


class Coupon(models.Model):
    """A code giving a discount: a shop's (on its lines) or the operator's (on the cart)."""

    marketplace = models.ForeignKey(
        "marketplaces.Marketplace",
        on_delete=models.CASCADE,
        related_name="coupons",
        verbose_name=_("marketplace"),
    )
    shop = models.ForeignKey(
        "shops.Shop",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="coupons",
        verbose_name=_("shop"),
        help_text=_("Empty: an operator coupon."),
    )
    code = models.CharField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=CouponKind.choices)
    percent = models.DecimalField(
        _("percentage"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    amount_cents = models.PositiveIntegerField(_("amount (cents)"), null=True, blank=True)
    starts_at = models.DateTimeField(_("valid from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("valid until"), null=True, blank=True)
    minimum_basket_cents = models.PositiveIntegerField(_("minimum basket (cents)"), default=0)
    max_uses = models.PositiveIntegerField(_("uses in all"), null=True, blank=True)
    max_uses_per_buyer = models.PositiveIntegerField(_("uses per buyer"), null=True, blank=True)
    times_used = models.PositiveIntegerField(_("times used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(fields=["marketplace", "code"], name="coupon_code_unique"),
            models.CheckConstraint(
                condition=(
                    Q(kind="percent", percent__gt=0, percent__lte=100, amount_cents__isnull=True)
                    | Q(kind="fixed", amount_cents__gt=0, percent__isnull=True)
                ),
                name="coupon_value_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ImportMode(models.TextChoices):
    NORMAL = "normal", _("Normal: create and update offers")
    PARTIAL = "partial", _("Partial update: only the columns present change")
    REPLACE = "replace", _("Replace: offers absent from the file are deactivated")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class OfferImport(models.Model):
    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="imports", verbose_name=_("shop")
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    mode = models.CharField(
        _("mode"), max_length=10, choices=ImportMode.choices, default=ImportMode.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    done_rows = models.PositiveIntegerField(_("rows done"), default=0)
    applied_rows = models.PositiveIntegerField(_("rows applied"), default=0)
    error_rows = models.PositiveIntegerField(_("rows in error"), default=0)
    deactivated_offers = models.PositiveIntegerField(_("offers deactivated"), default=0)
    errors = models.JSONField(
        _("errors"), default=list, blank=True, help_text=_("[{line, sku, column, message}]")
    )
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # A running import's sign of life: saved when it is claimed and after each chunk. The
    # sweep resumes a running import whose heartbeat is too old (its worker died).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(
        _("runs started"), default=0, help_text=_("The first run, then one per resumption.")
    )
    # What a resumed run continues from: {"created", "updated", "deleted", "errors"} counted
    # so far (the other counters have their own fields).
    counters = models.JSONField(_("counters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("offer import")
        verbose_name_plural = _("offer imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


class Question(models.Model):
    """A buyer's question to a shop from a product page (messaging turns it into a thread)."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="questions", verbose_name=_("shop")
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("offer")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("asked by"),
    )
    message = models.TextField(_("question"))
    created_at = models.DateTimeField(_("asked"), default=timezone.now)

    class Meta:
        verbose_name = _("question to a seller")
        verbose_name_plural = _("questions to sellers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message[:60]
