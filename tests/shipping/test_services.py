"""Tracking links are encoded, never injected; relay points import row by row."""

import pytest
from django.core.exceptions import ValidationError

from halles.core.errors import DomainError
from halles.shipping import services
from halles.shipping.models import Carrier, RelayPoint, validate_tracking_template

pytestmark = pytest.mark.django_db

MONDIAL = (
    "https://www.mondialrelay.fr/suivi-de-colis?numeroExpedition={tracking}&codePostal={postcode}"
)


@pytest.mark.parametrize(
    "tracking,expected",
    [
        ("12345", "numeroExpedition=12345&codePostal=75011"),
        ("12 34/5", "numeroExpedition=12%2034%2F5&codePostal=75011"),
        ('1"><script>', "numeroExpedition=1%22%3E%3Cscript%3E&codePostal=75011"),
        ("1&admin=1#x", "numeroExpedition=1%26admin%3D1%23x&codePostal=75011"),
    ],
)
def test_tracking_numbers_are_encoded_in_the_link(tracking, expected):
    url = services.tracking_url(MONDIAL, tracking, "75011")
    assert url == "https://www.mondialrelay.fr/suivi-de-colis?" + expected


@pytest.mark.parametrize(
    "template",
    [
        "https://example.org/track",  # no {tracking}
        "ftp://example.org/{tracking}",
        "https://example.org/{tracking}/{user}",
    ],
)
def test_a_carrier_template_must_be_a_web_address_with_tracking(template):
    with pytest.raises(ValidationError):
        validate_tracking_template(template)


@pytest.fixture
def mondial(marketplace):
    return Carrier.objects.create(
        marketplace=marketplace,
        code="mondial-relay",
        label="Mondial Relay",
        tracking_url_template=MONDIAL,
        has_relay_points=True,
    )


def test_relay_points_import_reports_bad_rows_and_keeps_good_ones(mondial):
    data = (
        "id;name;address;postcode;city;country;opening_hours\n"
        "020123;Tabac de la Gare;2 place de la Gare;69002;Lyon;FR;Lun-Sam 7h-19h\n"
        "020124;Pressing Martin;;69003;Lyon;FR;\n"
        "020125;Fleuriste;5 rue Neuve;6900$;Lyon;FR;\n"
        "020123;Doublon;1 rue;69002;Lyon;FR;\n"
        "020126;Librairie;8 rue Mercière;69002;Lyon;;\n"
    ).encode()

    report = services.relay_points_import(carrier=mondial, data=data)

    assert (report.created, report.updated) == (2, 0)
    assert [(line, column) for line, column, _message in report.errors] == [
        (3, "address"),
        (4, "postcode"),
        (5, "id"),
    ]
    assert RelayPoint.objects.get(external_id="020126").country == "FR"

    again = services.relay_points_import(
        carrier=mondial,
        data=b"id,name,address,postcode,city\n020123,Tabac,2 pl.,69002,Lyon\n",
    )
    assert (again.created, again.updated, again.closed) == (0, 1, 1)
    assert RelayPoint.objects.get(external_id="020123").name == "Tabac"
    # 020126 is no longer in the carrier's directory: closed, not deleted.
    assert RelayPoint.objects.get(external_id="020126").is_active is False


def test_a_file_without_the_required_columns_is_refused(mondial):
    with pytest.raises(DomainError) as error:
        services.relay_points_import(carrier=mondial, data=b"id;name\n1;x\n")
    assert "address" in str(error.value.message)


def test_relay_points_are_found_by_postcode_or_city(mondial):
    RelayPoint.objects.create(
        carrier=mondial, external_id="1", name="A", address="1 rue", postcode="69002", city="Lyon"
    )
    RelayPoint.objects.create(
        carrier=mondial, external_id="2", name="B", address="2 rue", postcode="75011", city="Paris"
    )
    assert [p.name for p in services.relay_point_search(carrier=mondial, query="690")] == ["A"]
    assert [p.name for p in services.relay_point_search(carrier=mondial, query="pari")] == ["B"]
    assert list(services.relay_point_search(carrier=mondial, query="")) == []
