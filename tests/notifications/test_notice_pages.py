"""The notification centre's pages: the bell in the header, the list, opening a notice
(read, then its link when it is on this site) and "mark all as read"."""

import pytest
from django.conf import settings

from halles.notifications.models import Notice

from ..factories import MarketplaceFactory, UserFactory

pytestmark = pytest.mark.django_db


def notice(user, marketplace, title="Commande acceptée", link="", **fields):
    return Notice.objects.create(
        user=user, marketplace=marketplace, title=title, link=link, **fields
    )


def test_the_bell_shows_the_unread_count_and_leads_to_the_list(client, marketplace):
    user = UserFactory()
    client.force_login(user)
    page = client.get("/account/").content.decode()
    assert 'data-testid="notices-link"' in page and 'data-testid="unread-count"' not in page

    notice(user, marketplace)
    notice(user, marketplace, read_at="2026-01-01T00:00Z")
    notice(user, MarketplaceFactory())  # another marketplace's
    notice(UserFactory(), marketplace)  # someone else's
    page = client.get("/account/").content.decode()
    assert 'data-testid="unread-count">1</span>' in page


def test_anonymous_visitors_have_no_bell_and_no_list(client, marketplace):
    page = client.get("/").content.decode()
    assert "notices-link" not in page
    response = client.get("/account/notices/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_list_shows_ones_notices_newest_first_unread_highlighted(client, marketplace):
    user = UserFactory()
    old = notice(user, marketplace, title="Ancienne", read_at="2026-01-01T00:00Z")
    new = notice(user, marketplace, title="Nouvelle")
    notice(UserFactory(), marketplace, title="Pas à moi")
    client.force_login(user)

    response = client.get("/account/notices/")
    assert [n.pk for n in response.context["page"]] == [new.pk, old.pk]
    page = response.content.decode()
    assert "Pas à moi" not in page
    assert page.count('data-unread="1"') == 1
    assert 'data-testid="notices-read-all"' in page


def test_the_list_is_paginated(client, marketplace):
    user = UserFactory()
    Notice.objects.bulk_create(
        Notice(user=user, marketplace=marketplace, title=f"N{i}") for i in range(25)
    )
    client.force_login(user)
    assert len(client.get("/account/notices/").context["page"]) == 20
    assert len(client.get("/account/notices/?page=2").context["page"]) == 5


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        ("/account/orders/", True),
        (f"{settings.SITE_URL}/m/villeneuve/account/orders/VIL-1/", True),
        ("http://testserver/account/", True),
        ("https://evil.example/phish", False),
        ("//evil.example/phish", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_opening_a_notice_marks_it_read_and_follows_only_a_link_on_this_site(
    client, marketplace, link, followed
):
    user = UserFactory()
    item = notice(user, marketplace, link=link)
    client.force_login(user)

    response = client.get(f"/account/notices/{item.pk}/")

    assert response.status_code == 302
    assert response["Location"] == (link if followed else "/account/notices/")
    item.refresh_from_db()
    assert item.read_at is not None


def test_another_users_notice_cannot_be_opened(client, marketplace):
    item = notice(UserFactory(), marketplace, link="/account/")
    client.force_login(UserFactory())
    assert client.get(f"/account/notices/{item.pk}/").status_code == 404
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_all_as_read_is_a_post_of_this_marketplace_only(client, marketplace):
    user = UserFactory()
    here = [notice(user, marketplace), notice(user, marketplace)]
    elsewhere = notice(user, MarketplaceFactory())
    client.force_login(user)

    assert client.get("/account/notices/read/").status_code == 405
    response = client.post("/account/notices/read/")

    assert response.status_code == 302 and response["Location"] == "/account/notices/"
    assert all(Notice.objects.get(pk=n.pk).read_at for n in here)
    assert Notice.objects.get(pk=elsewhere.pk).read_at is None


def test_a_seller_reads_their_shop_notices_in_the_same_centre(client, world, run_on_commit):
    from ..orders.conftest import buy

    with run_on_commit():
        order = buy(world, [(world.bread, 1)])
    client.force_login(world.baker)
    page = client.get("/account/notices/").content.decode()
    bakery_order = order.shop_orders.get()
    assert bakery_order.reference in page
    item = Notice.objects.get(user=world.baker)
    response = client.get(f"/account/notices/{item.pk}/")
    assert response["Location"] == item.link
    assert f"/seller/{world.bakery.slug}/" in item.link
