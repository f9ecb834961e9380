"""The log per order and the in-app notification centre: order e-mails are filed under
their order's reference and come with a notice for their recipient, in their language."""

import pytest
from django.db import transaction

from halles.core.errors import NotFound
from halles.notifications import selectors, services
from halles.notifications.models import Email, Notice

from ..factories import MarketplaceFactory, UserFactory
from ..orders.conftest import buy

pytestmark = pytest.mark.django_db


def placed_order(world, run_on_commit):
    with run_on_commit():
        return buy(world, [(world.bread, 1), (world.novel, 1)])


def test_placing_an_order_gives_the_buyer_and_each_seller_a_notice_in_their_language(
    world, run_on_commit
):
    world.buyer.language = "en"
    world.buyer.save()
    world.baker.language = "fr"
    world.baker.save()

    order = placed_order(world, run_on_commit)

    bakery_order = order.shop_orders.get(shop=world.bakery)
    buyer_notice = Notice.objects.get(user=world.buyer)
    assert buyer_notice.title == f"Your order {order.reference} is placed"
    assert "[" not in buyer_notice.title  # no "[marketplace]" prefix
    assert order.reference in buyer_notice.body and "Hello" not in buyer_notice.body
    assert buyer_notice.link.endswith(f"/m/villeneuve/account/orders/{order.reference}/")
    assert (buyer_notice.reference, buyer_notice.marketplace) == (
        order.reference,
        world.marketplace,
    )
    baker_notice = Notice.objects.get(user=world.baker)
    baker_email = Email.objects.get(recipient=world.baker)
    # The order e-mails are not in the French catalogue yet: the language is the e-mail's.
    assert (baker_email.language, baker_email.template) == ("fr", "orders/seller_new_order")
    assert baker_email.subject == f"[{world.marketplace.name}] {baker_notice.title}"
    assert bakery_order.reference in baker_notice.title
    assert baker_notice.reference == bakery_order.reference
    assert f"/seller/{world.bakery.slug}/" in baker_notice.link
    assert Notice.objects.filter(user=world.bookseller).count() == 1


def test_the_log_per_order_lists_its_emails_by_reference(world, run_on_commit):
    order = placed_order(world, run_on_commit)
    bakery_order, books_order = order.shop_orders.order_by("shop_id")

    placed = selectors.emails_for_reference(order.reference)
    assert [e.template for e in placed] == ["orders/buyer_placed"]
    bakery_log = selectors.emails_for_reference([bakery_order.reference])
    assert [(e.template, e.to) for e in bakery_log] == [
        ("orders/seller_new_order", world.baker.email)
    ]
    whole = selectors.emails_for_reference(
        [order.reference, bakery_order.reference, books_order.reference]
    )
    assert whole.count() == Email.objects.count() == 3
    assert list(whole) == sorted(whole, key=lambda e: (e.created_at, e.pk))
    assert not selectors.emails_for_reference([]).exists()


def test_unread_count_and_mark_read_of_ones_own_notices_only(world, run_on_commit):
    placed_order(world, run_on_commit)
    placed_order(world, run_on_commit)
    assert selectors.unread_count(world.buyer, world.marketplace) == 2
    assert selectors.unread_count(world.buyer, MarketplaceFactory()) == 0
    first, second = selectors.notices_for(world.buyer, world.marketplace)
    assert first.created_at >= second.created_at  # newest first

    with pytest.raises(NotFound):
        services.notice_mark_read(user=world.baker, notice_id=first.pk)
    assert selectors.unread_count(world.buyer, world.marketplace) == 2

    read = services.notice_mark_read(user=world.buyer, notice_id=first.pk)
    assert read.read_at is not None
    again = services.notice_mark_read(user=world.buyer, notice_id=first.pk)
    assert again.read_at == read.read_at  # the first reading counts
    assert selectors.unread_count(world.buyer, world.marketplace) == 1

    assert services.notices_mark_all_read(user=world.buyer, marketplace=world.marketplace) == 1
    assert selectors.unread_count(world.buyer, world.marketplace) == 0
    assert selectors.unread_count(world.baker, world.marketplace) == 2  # untouched


def queue(marketplace, user, **kwargs):
    return services.email_queue(
        to=user.email,
        template="accounts/password_reset",
        context={"user": user, "link": "http://127.0.0.1:8000/m/x/"},
        language=user.language,
        marketplace=marketplace,
        recipient=user,
        reference="ORDER-1",
        notice=True,
        **kwargs,
    )


def test_a_rolled_back_change_leaves_no_email_no_notice_and_sends_nothing(
    marketplace, run_on_commit, outbox
):
    user = UserFactory()
    with run_on_commit() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        queue(marketplace, user)
        assert Email.objects.count() == Notice.objects.count() == 1
        raise RuntimeError("the change fails after the e-mail was queued")
    assert callbacks == []
    assert Email.objects.count() == Notice.objects.count() == 0
    assert outbox == []


def test_delivering_twice_sends_once(marketplace, run_on_commit, outbox):
    user = UserFactory()
    with run_on_commit():
        email = queue(marketplace, user)
    assert len(outbox) == 1
    assert services.email_deliver(email_id=email.pk) is False
    from halles.notifications.tasks import deliver_email

    deliver_email.enqueue(email.pk)  # a replayed task
    assert len(outbox) == 1
    assert Notice.objects.filter(user=user).count() == 1


def test_a_failed_delivery_is_retried_until_it_goes(
    marketplace, run_on_commit, outbox, monkeypatch
):
    user = UserFactory()
    real = services.get_connection
    failures = []

    def flaky():
        if not failures:
            failures.append(1)

            class Down:
                def send_messages(self, messages):
                    raise OSError("connection refused")

            return Down()
        return real()

    monkeypatch.setattr(services, "get_connection", flaky)
    with run_on_commit():
        email = queue(marketplace, user)
    email.refresh_from_db()
    assert (email.status, email.attempts, len(outbox)) == ("sent", 2, 1)
    assert "connection refused" in email.last_error


def test_the_notice_title_is_the_subject_in_the_recipients_language(marketplace):
    french, english = UserFactory(language="fr"), UserFactory(language="en")
    queue(marketplace, french)
    queue(marketplace, english)
    assert Notice.objects.get(user=english).title == "Reset your password"
    assert Notice.objects.get(user=french).title == "Réinitialisation de votre mot de passe"


def test_no_notice_without_a_recipient_or_when_not_asked(marketplace):
    user = UserFactory()
    services.email_queue(
        to="someone@example.test",
        template="accounts/password_reset",
        context={"user": user, "link": "x"},
        language="fr",
        marketplace=marketplace,
        notice=True,
    )
    services.email_queue(
        to=user.email,
        template="accounts/password_reset",
        context={"user": user, "link": "x"},
        language="fr",
        marketplace=marketplace,
        recipient=user,
    )
    assert Email.objects.count() == 2 and Notice.objects.count() == 0
