import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from halles.catalog import services
from halles.catalog.models import Category, Coupon, Offer
from halles.core.errors import DomainError, NotAllowed

from ..factories import MarketplaceFactory, UserFactory, make_offer, make_shop


@pytest.mark.django_db
def test_stock_is_reserved_and_released_never_below_zero(marketplace):
    shop, _owner = make_shop(marketplace)
    offer = make_offer(shop, stock=2, deactivate_when_sold_out=True)
    services.stock_reserve(offer_id=offer.pk, quantity=2)
    offer.refresh_from_db()
    assert (offer.stock, offer.is_active) == (0, False)
    with pytest.raises(services.OutOfStock):
        services.stock_reserve(offer_id=offer.pk, quantity=1)
    services.stock_release(offer_id=offer.pk, quantity=1)
    offer.refresh_from_db()
    assert offer.stock == 1
    with pytest.raises(DomainError):
        services.stock_reserve(offer_id=offer.pk, quantity=0)


@pytest.mark.django_db
def test_a_seller_can_never_touch_another_shops_offers(marketplace):
    shop, owner = make_shop(marketplace)
    other, _ = make_shop(marketplace, slug="librairie")
    theirs = make_offer(other, sku="X")
    with pytest.raises(NotAllowed):
        services.offer_quick_update(shop=shop, user=owner, offer_id=theirs.pk, price_cents=1)
    with pytest.raises(NotAllowed):
        services.offer_quick_update(shop=other, user=owner, offer_id=theirs.pk, price_cents=1)
    theirs.refresh_from_db()
    assert theirs.price_cents == 1000


@pytest.mark.django_db
def test_quick_update_checks_price_and_stock(marketplace):
    shop, owner = make_shop(marketplace)
    offer = make_offer(shop, discount_price_cents=800)
    with pytest.raises(DomainError) as error:
        services.offer_quick_update(shop=shop, user=owner, offer_id=offer.pk, price_cents=700)
    assert error.value.field == "price"
    with pytest.raises(DomainError):
        services.offer_quick_update(shop=shop, user=owner, offer_id=offer.pk, stock=-1)
    updated = services.offer_quick_update(
        shop=shop, user=owner, offer_id=offer.pk, price_cents=1200, stock=9
    )
    assert (updated.price_cents, updated.stock) == (1200, 9)


@pytest.mark.django_db
def test_a_suspended_shop_cannot_change_its_offers(marketplace):
    shop, owner = make_shop(marketplace, status="suspended")
    offer = make_offer(shop)
    with pytest.raises(DomainError) as error:
        services.offer_quick_update(shop=shop, user=owner, offer_id=offer.pk, stock=1)
    assert error.value.code == "shop_not_active"


@pytest.mark.django_db
def test_the_discount_applies_between_its_dates(marketplace):
    shop, _ = make_shop(marketplace)
    now = timezone.now()
    offer = make_offer(
        shop,
        discount_price_cents=700,
        discount_starts_at=now - timedelta(days=1),
        discount_ends_at=now + timedelta(days=1),
    )
    assert offer.effective_price_cents(now) == 700
    assert offer.effective_price_cents(now + timedelta(days=2)) == 1000
    assert offer.effective_price_cents(now - timedelta(days=2)) == 1000


@pytest.mark.django_db
def test_products_gtin_is_checked_and_shared(marketplace):
    shop, owner = make_shop(marketplace)
    with pytest.raises(DomainError) as error:
        services.product_save(shop=shop, user=owner, title="Café", gtin="4006381333932")
    assert error.value.field == "gtin"
    product = services.product_save(shop=shop, user=owner, title="Café", gtin="4006381333931")
    other, other_owner = make_shop(marketplace, slug="epicerie")
    with pytest.raises(DomainError) as error:
        services.product_save(shop=other, user=other_owner, title="Café", gtin="4006381333931")
    assert error.value.code == "gtin_exists"
    with pytest.raises(NotAllowed):
        services.product_save(shop=other, user=other_owner, title="Volé", product=product)


@pytest.mark.django_db
def test_product_images_get_a_thumbnail_and_bad_files_are_refused(marketplace, settings, tmp_path):
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    shop, owner = make_shop(marketplace)
    product = services.product_save(shop=shop, user=owner, title="Baguette")
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), "orange").save(buffer, "JPEG")
    upload = SimpleUploadedFile("baguette.jpg", buffer.getvalue(), content_type="image/jpeg")
    image = services.product_image_add(shop=shop, user=owner, product=product, upload=upload)
    with Image.open(image.thumbnail.path) as thumb:
        assert max(thumb.size) == 400
    fake = SimpleUploadedFile("virus.jpg", b"MZ\x90\x00not an image", content_type="image/jpeg")
    with pytest.raises(DomainError) as error:
        services.product_image_add(shop=shop, user=owner, product=product, upload=fake)
    assert error.value.code == "image_invalid"
    assert product.images.count() == 1


@pytest.mark.django_db
def test_sellers_use_only_the_categories_the_operator_allows(marketplace):
    shop, owner = make_shop(marketplace)
    closed = Category.objects.create(
        marketplace=marketplace, name="Réservé", slug="reserve", sellers_may_use=False
    )
    with pytest.raises(DomainError):
        services.product_save(shop=shop, user=owner, title="X", category=closed)
    request = services.category_request(shop=shop, user=owner, name="Fromages")
    from ..factories import OperatorFactory

    operator = OperatorFactory(marketplaces=[marketplace])
    category = services.category_request_decide(
        request_id=request.pk, operator=operator, accept=True
    )
    assert category.slug == "fromages"
    assert services.product_save(shop=shop, user=owner, title="Comté", category=category)


@pytest.mark.django_db
def test_coupons_apply_their_rules(marketplace):
    shop, owner = make_shop(marketplace)
    now = timezone.now()
    coupon = services.coupon_save(
        coupon=Coupon(
            code=" noel10 ",
            kind="percent",
            percent=Decimal("10"),
            minimum_basket_cents=2000,
            max_uses=1,
            max_uses_per_buyer=1,
            ends_at=now + timedelta(days=1),
        ),
        user=owner,
        shop=shop,
    )
    assert coupon.code == "NOEL10"
    assert services.coupon_discount(coupon=coupon, basket_cents=2500, uses_by_buyer=0) == 250
    for basket, uses, code in [(1000, 0, "coupon_minimum"), (2500, 1, "coupon_used_by_buyer")]:
        with pytest.raises(DomainError) as error:
            services.coupon_discount(coupon=coupon, basket_cents=basket, uses_by_buyer=uses)
        assert error.value.code == code
    with pytest.raises(DomainError) as error:
        services.coupon_discount(
            coupon=coupon, basket_cents=2500, uses_by_buyer=0, at=now + timedelta(days=2)
        )
    assert error.value.code == "coupon_expired"
    with pytest.raises(DomainError):
        services.coupon_save(
            coupon=Coupon(code="NOEL10", kind="fixed", amount_cents=100), user=owner, shop=shop
        )


@pytest.mark.django_db
def test_a_question_is_stored_and_emailed_to_the_shop(marketplace, run_on_commit, outbox):
    shop, owner = make_shop(marketplace)
    offer = make_offer(shop)
    buyer = UserFactory(email="curious@example.test")
    with run_on_commit():
        services.question_ask(offer=offer, user=buyer, message="Est-il sans gluten ?")
    assert outbox[0].to == [owner.email]
    assert "sans gluten" in outbox[0].body
    assert "curious@example.test" not in outbox[0].body


def _race(offer_id, buyers, guarded):
    barrier = threading.Barrier(buyers)
    both_read = threading.Barrier(2, timeout=5)  # the control: two read before either writes
    results = []

    def buy():
        try:
            barrier.wait()
            if guarded:
                services.stock_reserve(offer_id=offer_id, quantity=1)
            else:  # the control: read, then write, with no guard
                from django.db import transaction

                with transaction.atomic():
                    stock = Offer.objects.get(pk=offer_id).stock
                    if stock < 1:
                        raise services.OutOfStock()
                    with contextlib.suppress(threading.BrokenBarrierError):
                        both_read.wait()
                    Offer.objects.filter(pk=offer_id).update(stock=stock - 1)
            results.append("ok")
        except services.OutOfStock:
            results.append("out")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_32_buyers_on_the_last_unit_exactly_one_gets_it(db):
    marketplace = MarketplaceFactory()
    shop, _ = make_shop(marketplace)
    offer = make_offer(shop, stock=1)
    results = _race(offer.pk, 32, guarded=True)
    assert results.count("ok") == 1 and results.count("out") == 31
    offer.refresh_from_db()
    assert offer.stock == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_guard_the_race_oversells(db):
    marketplace = MarketplaceFactory()
    shop, _ = make_shop(marketplace)
    offer = make_offer(shop, stock=1)
    results = _race(offer.pk, 32, guarded=False)
    assert results.count("ok") > 1  # several buyers "got" the single unit
