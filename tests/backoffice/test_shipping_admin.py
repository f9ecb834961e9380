"""Carriers and relay points in the back-office: the operator's carriers (tracking template
checked), the relay-point import with its per-row report, the read-only directory and its
search, the parcels on the shop-order page, and tenancy between marketplaces."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from halles.orders import fulfilment, services
from halles.shipping.models import Carrier, RelayPoint

from ..factories import MarketplaceFactory, OperatorFactory
from ..orders.conftest import buy

pytestmark = pytest.mark.django_db

CARRIERS = "/admin/shipping/carrier/"
POINTS = "/admin/shipping/relaypoint/"


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def stranger(db):
    """The operator of another marketplace."""
    other = MarketplaceFactory(slug="ailleurs")
    client = Client()
    client.force_login(OperatorFactory(email="other-op@example.test", marketplaces=[other]))
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def mondial(marketplace):
    return Carrier.objects.create(
        marketplace=marketplace,
        code="mondial-relay",
        label="Mondial Relay",
        tracking_url_template="https://www.mondialrelay.fr/suivi?n={tracking}&cp={postcode}",
        has_relay_points=True,
    )


def carrier_data(marketplace, **fields):
    return {
        "marketplace": marketplace.pk,
        "code": "gls",
        "label": "GLS",
        "tracking_url_template": "https://gls-group.eu/track/{tracking}",
        "is_active": "on",
        "position": "0",
        **fields,
    }


def test_an_operator_adds_and_edits_a_carrier_with_a_checked_tracking_template(
    admin_client, marketplace
):
    add = f"{CARRIERS}add/"

    bad = admin_client.post(
        add, carrier_data(marketplace, tracking_url_template="https://gls-group.eu/track")
    )
    injected = admin_client.post(
        add, carrier_data(marketplace, tracking_url_template="javascript:{tracking}")
    )
    unknown = admin_client.post(
        add, carrier_data(marketplace, tracking_url_template="https://x.example/{tracking}/{user}")
    )

    assert bad.status_code == 200 and "The address must contain {tracking}." in bad.content.decode()
    assert "must start with https://" in injected.content.decode()
    assert "Only {tracking} and {postcode} may be used." in unknown.content.decode()
    assert not Carrier.objects.exists()

    created = admin_client.post(add, carrier_data(marketplace))
    assert created.status_code == 302
    carrier = Carrier.objects.get(code="gls")
    page = admin_client.get(f"{CARRIERS}{carrier.pk}/change/").content.decode()
    assert "https://gls-group.eu/track/6A12345678901" in page  # the example link

    admin_client.post(
        f"{CARRIERS}{carrier.pk}/change/",
        {**carrier_data(marketplace), "label": "GLS France"},
    )
    carrier.refresh_from_db()
    assert carrier.label == "GLS France"
    twice = admin_client.post(add, carrier_data(marketplace))
    assert twice.status_code == 200 and Carrier.objects.filter(code="gls").count() == 1


def test_operators_see_and_create_carriers_of_their_own_marketplaces_only(
    admin_client, stranger, marketplace, mondial
):
    other = MarketplaceFactory(slug="lointain")
    theirs = Carrier.objects.create(
        marketplace=other,
        code="ups",
        label="UPS",
        tracking_url_template="https://ups.example/{tracking}",
    )

    listed = admin_client.get(CARRIERS).context["cl"].queryset
    assert list(listed) == [mondial]
    assert admin_client.get(f"{CARRIERS}{theirs.pk}/change/").status_code == 302  # not found
    forged = admin_client.post(f"{CARRIERS}add/", carrier_data(other, code="dhl"))
    assert forged.status_code == 200 and not Carrier.objects.filter(code="dhl").exists()

    assert list(stranger.get(CARRIERS).context["cl"].queryset) == []
    assert list(stranger.get(POINTS).context["cl"].queryset) == []
    assert stranger.get(f"{CARRIERS}{mondial.pk}/relay-points/import/").status_code == 404


def test_the_relay_point_import_reports_bad_rows_and_keeps_the_good_ones(
    admin_client, stranger, mondial
):
    url = f"{CARRIERS}{mondial.pk}/relay-points/import/"
    page = admin_client.get(url)
    assert page.status_code == 200 and 'data-testid="relay-example"' in page.content.decode()
    assert url in admin_client.get(f"{CARRIERS}{mondial.pk}/change/").content.decode()
    csv = (
        b"id;name;address;postcode;city;country;opening_hours\n"
        b"020123;Tabac de la Gare;2 place de la Gare;69002;Lyon;FR;Lun-Sam 7h-19h\n"
        b"020124;Pressing Martin;;69003;Lyon;FR;\n"
        b"020125;Fleuriste;5 rue Neuve;6900$;Lyon;FR;\n"
        b"020126;Librairie;8 rue Haute;75011;Paris;;\n"
    )

    response = admin_client.post(url, {"file": SimpleUploadedFile("points.csv", csv)})

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.updated) == (2, 0)
    assert [(line, column) for line, column, _m in report.errors] == [
        (3, "address"),
        (4, "postcode"),
    ]
    html = response.content.decode()
    assert 'data-testid="relay-errors"' in html and "Not a postcode." in html
    assert set(mondial.relay_points.values_list("external_id", flat=True)) == {"020123", "020126"}

    again = admin_client.post(url, {"file": SimpleUploadedFile("points.csv", csv)})
    assert (again.context["report"].created, again.context["report"].updated) == (0, 2)

    no_columns = admin_client.post(url, {"file": SimpleUploadedFile("x.csv", b"id;name\n1;A\n")})
    assert no_columns.status_code == 400 and "Missing columns" in no_columns.content.decode()

    forged = stranger.post(url, {"file": SimpleUploadedFile("points.csv", csv)})
    assert forged.status_code == 404
    assert RelayPoint.objects.count() == 2


def test_relay_points_are_searched_by_postcode_or_city_and_are_read_only(admin_client, mondial):
    lyon = RelayPoint.objects.create(
        carrier=mondial,
        external_id="1",
        name="Tabac",
        address="2 pl.",
        postcode="69002",
        city="Lyon",
    )
    paris = RelayPoint.objects.create(
        carrier=mondial,
        external_id="2",
        name="Kiosque",
        address="1 r.",
        postcode="75011",
        city="Paris",
    )

    by_postcode = admin_client.get(POINTS, {"q": "69002"}).context["cl"].queryset
    by_city = admin_client.get(POINTS, {"q": "paris"}).context["cl"].queryset

    assert list(by_postcode) == [lyon] and list(by_city) == [paris]
    assert admin_client.get(f"{POINTS}add/").status_code == 403
    view = admin_client.get(f"{POINTS}{lyon.pk}/change/")
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    admin_client.post(f"{POINTS}{lyon.pk}/change/", {"name": "Changed"})
    lyon.refresh_from_db()
    assert lyon.name == "Tabac"


def test_the_shop_order_page_lists_its_parcels_with_their_tracking_links(
    admin_client, world, run_on_commit, marketplace
):
    Carrier.objects.create(
        marketplace=marketplace,
        code="dpd",
        label="DPD",
        tracking_url_template="https://trace.dpd.fr/fr/trace/{tracking}?cp={postcode}",
    )
    with run_on_commit():
        order = buy(world, [(world.bread, 2)])
    shop_order = order.shop_orders.get()
    with run_on_commit():
        services.shop_order_decide(
            shop_order_id=shop_order.pk,
            actor=world.baker,
            decisions={line.pk: True for line in shop_order.lines.all()},
        )
    fulfilment.shipment_declare(
        shop_order_id=shop_order.pk,
        actor=world.baker,
        carrier_code="dpd",
        tracking_number="DPD 1",
        quantities={shop_order.lines.get().pk: 1},
    )

    page = admin_client.get(f"/admin/orders/shoporder/{shop_order.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert (
        '<a href="https://trace.dpd.fr/fr/trace/DPD%201?cp=75011" rel="noopener noreferrer"' in html
    )
    assert "1 × Produit PAIN" in html
