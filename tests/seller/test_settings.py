"""Shop settings in the seller portal: profile, payments, returns, hours, closures, delivery
modes, pick-up slots, staff and invitations."""

import io
from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from halles.shops.models import (
    Closure,
    DeliveryKind,
    DeliveryMode,
    PickupSlot,
    ShopStaff,
    StaffInvitation,
    StaffRole,
)

from ..conftest import links_in
from ..factories import (
    ClickCollectFactory,
    DeliveryModeFactory,
    OpeningHoursFactory,
    PickupSlotFactory,
    ShopFactory,
    ShopStaffFactory,
    StaffInvitationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, so the tests read the messages as written in the code."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.test", first_name="Olga", last_name="Martin")


@pytest.fixture
def shop(marketplace, owner):
    return ShopFactory(marketplace=marketplace, owner=owner, name="La Fromagerie")


@pytest.fixture
def clerk(shop):
    """A member of the staff who is not an owner."""
    return ShopStaffFactory(shop=shop, user=UserFactory(email="clerk@example.test")).user


def url(shop, path=""):
    return f"/seller/{shop.slug}/settings/{path}"


def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    return buffer.getvalue()


# --- Access ---------------------------------------------------------------------------------


def test_every_settings_page_is_for_the_shops_staff_only(client, shop, owner, clerk):
    mode = ClickCollectFactory(shop=shop)
    member = ShopStaff.objects.get(shop=shop, user=clerk)
    pages = [
        url(shop),
        url(shop, "hours/"),
        url(shop, "delivery/"),
        url(shop, "delivery/new/"),
        url(shop, "delivery/new/?kind=home"),
        url(shop, f"delivery/{mode.pk}/"),
        url(shop, f"delivery/{mode.pk}/slots/"),
        url(shop, "staff/"),
    ]
    assert client.get(url(shop))["Location"].startswith("/login/")
    for user in (owner, clerk):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == 200, (user, page)

    client.force_login(UserFactory())
    for page in pages:
        assert client.get(page).status_code == 404, page
    assert client.post(url(shop, f"delivery/{mode.pk}/active/")).status_code == 404
    assert client.post(url(shop, f"staff/{member.pk}/remove/")).status_code == 404
    mode.refresh_from_db()
    assert mode.is_active and ShopStaff.objects.filter(pk=member.pk).exists()


def test_another_shops_delivery_mode_and_member_are_not_found(client, marketplace, shop, owner):
    other = ShopFactory(marketplace=marketplace, owner=UserFactory())
    theirs = DeliveryModeFactory(shop=other)
    their_owner = ShopStaff.objects.get(shop=other)
    client.force_login(owner)
    assert client.get(url(shop, f"delivery/{theirs.pk}/")).status_code == 404
    assert client.get(url(shop, f"delivery/{theirs.pk}/slots/")).status_code == 404
    assert client.post(url(shop, f"delivery/{theirs.pk}/active/")).status_code == 404
    assert client.post(url(shop, f"staff/{their_owner.pk}/remove/")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and ShopStaff.objects.filter(pk=their_owner.pk).exists()


def test_the_portal_nav_links_to_the_settings(client, shop, owner):
    client.force_login(owner)
    page = client.get(f"/seller/{shop.slug}/").content.decode()
    assert f'href="{url(shop)}"' in page


# --- Profile, payment methods, return policy -----------------------------------------------


def test_the_profile_is_saved_but_not_the_name(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop),
        {
            "section": "profile",
            "name": "Renamed",
            "description": "Fromages affinés en cave.",
            "public_email": "Bonjour@Fromagerie.test",
            "public_phone": "04 72 00 00 00",
        },
    )
    assert response.status_code == 302 and response["Location"] == url(shop)
    shop.refresh_from_db()
    assert (shop.name, shop.description, shop.public_email, shop.public_phone) == (
        "La Fromagerie",
        "Fromages affinés en cave.",
        "bonjour@fromagerie.test",
        "04 72 00 00 00",
    )
    page = client.get(url(shop)).content.decode()
    assert "Your shop&#x27;s settings are saved." in page
    assert 'name="name"' not in page and "La Fromagerie" in page


def test_a_bad_profile_shows_the_error_on_its_field_and_changes_nothing(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop),
        {"section": "profile", "description": "Nouveau", "public_email": "pas-une-adresse"},
    )
    assert response.status_code == 200
    assert response.context["profile_form"].errors["public_email"]
    assert b'id="id_public_email_errors"' in response.content
    shop.refresh_from_db()
    assert shop.description == "" and shop.public_email == ""


def test_a_logo_is_saved_and_one_over_2_mb_is_refused(client, shop, owner):
    client.force_login(owner)
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    response = client.post(url(shop), {"section": "profile", "logo": logo})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.logo.name.startswith("shops/logos/logo")

    big = SimpleUploadedFile("big.png", png_bytes().ljust(2 * 1024 * 1024 + 1, b"\0"))
    response = client.post(url(shop), {"section": "profile", "logo": big})
    assert response.status_code == 200
    assert "2 MB at most" in response.context["profile_form"].errors["logo"][0]
    kept = shop.logo.name
    shop.refresh_from_db()
    assert shop.logo.name == kept

    not_an_image = SimpleUploadedFile("logo.png", b"%PDF-1.4 nothing to see")
    response = client.post(url(shop), {"section": "profile", "logo": not_an_image})
    assert response.status_code == 200 and response.context["profile_form"].errors["logo"]


def test_payment_methods_change_but_never_all_go(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop),
        {"section": "payments", "accepts_bank_transfer": "on", "accepts_pay_in_store": ""},
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.accepts_card, shop.accepts_bank_transfer, shop.accepts_pay_in_store) == (
        False,
        True,
        False,
    )

    response = client.post(url(shop), {"section": "payments"})
    assert response.status_code == 200
    assert response.context["payments_form"].errors["accepts_card"] == [
        "Accept at least one payment method."
    ]
    assert "Accept at least one payment method." in response.content.decode()
    shop.refresh_from_db()
    assert shop.accepts_bank_transfer


def test_the_return_policy_is_saved(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop),
        {
            "section": "returns",
            "return_policy": "14 jours, produits non ouverts.",
            "return_shipping_paid_by": "shop",
        },
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.return_policy, shop.return_shipping_paid_by) == (
        "14 jours, produits non ouverts.",
        "shop",
    )
    bad = client.post(url(shop), {"section": "returns", "return_shipping_paid_by": "nobody"})
    assert bad.status_code == 200 and bad.context["returns_form"].errors["return_shipping_paid_by"]


# --- Opening hours and closures -------------------------------------------------------------


def hours_data(**days):
    """hours_data(day0=["09:00-12:00", "14:00-18:00"]) -> the POST of the hours form."""
    data = {"section": "hours"}
    for weekday in range(7):
        for number in (1, 2):
            data[f"day{weekday}_{number}_opens"] = ""
            data[f"day{weekday}_{number}_closes"] = ""
        for number, period in enumerate(days.get(f"day{weekday}", []), start=1):
            opens, closes = period.split("-")
            data[f"day{weekday}_{number}_opens"] = opens
            data[f"day{weekday}_{number}_closes"] = closes
    return data


def periods_of(shop):
    return [(p.weekday, p.opens, p.closes) for p in shop.opening_hours.order_by("weekday", "opens")]


def test_opening_hours_are_saved_and_shown(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop, "hours/"), hours_data(day0=["09:00-12:00", "14:00-18:30"], day5=["08:00-13:00"])
    )
    assert response.status_code == 302
    assert periods_of(shop) == [
        (0, time(9), time(12)),
        (0, time(14), time(18, 30)),
        (5, time(8), time(13)),
    ]
    page = client.get(url(shop, "hours/")).content.decode()
    assert 'name="day0_2_closes" value="18:30"' in page


def test_overlapping_opening_hours_are_refused_with_the_error_shown(client, shop, owner):
    OpeningHoursFactory(shop=shop, weekday=1, opens=time(10), closes=time(17))
    client.force_login(owner)
    response = client.post(url(shop, "hours/"), hours_data(day0=["09:00-13:00", "12:00-18:00"]))
    assert response.status_code == 200
    assert "On Monday, two opening periods overlap." in response.content.decode()
    assert periods_of(shop) == [(1, time(10), time(17))]

    half = hours_data()
    half["day2_1_opens"] = "09:00"
    response = client.post(url(shop, "hours/"), half)
    assert response.status_code == 200
    assert response.context["hours_form"].errors["day2_1_closes"]
    assert periods_of(shop) == [(1, time(10), time(17))]


def test_a_closure_is_added_and_listed(client, shop, owner):
    client.force_login(owner)
    start = timezone.localdate() + timedelta(days=10)
    response = client.post(
        url(shop, "hours/"),
        {
            "section": "closure",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=6)).isoformat(),
            "reason": "Inventaire",
        },
    )
    assert response.status_code == 302
    closure = Closure.objects.get(shop=shop)
    assert (closure.start_date, closure.end_date, closure.reason) == (
        start,
        start + timedelta(days=6),
        "Inventaire",
    )
    assert "Inventaire" in client.get(url(shop, "hours/")).content.decode()

    backwards = client.post(
        url(shop, "hours/"),
        {
            "section": "closure",
            "start_date": start.isoformat(),
            "end_date": (start - timedelta(days=1)).isoformat(),
        },
    )
    assert backwards.status_code == 200
    assert backwards.context["closure_form"].errors["end_date"] == [
        "The closure must end on or after its first day."
    ]
    assert Closure.objects.filter(shop=shop).count() == 1


def test_past_closures_are_not_listed(client, shop, owner):
    today = timezone.localdate()
    Closure.objects.create(
        shop=shop,
        start_date=today - timedelta(days=9),
        end_date=today - timedelta(days=2),
        reason="Old",
    )
    Closure.objects.create(shop=shop, start_date=today, end_date=today, reason="Today")
    client.force_login(owner)
    closures = client.get(url(shop, "hours/")).context["closures"]
    assert [c.reason for c in closures] == ["Today"]


# --- Delivery modes -------------------------------------------------------------------------


def test_a_new_delivery_mode_asks_its_kind_first(client, shop, owner):
    client.force_login(owner)
    response = client.get(url(shop, "delivery/new/"))
    assert response.status_code == 200 and response.context["form"] is None
    assert "?kind=click_collect" in response.content.decode()


def test_add_a_home_delivery_mode_with_fees_in_euros(client, shop, owner):
    client.force_login(owner)
    response = client.post(
        url(shop, "delivery/new/?kind=home"),
        {
            "name": "Colissimo domicile",
            "carrier": "Colissimo",
            "fee": "4,90",
            "free_above": "60",
            "lead_time_days": "3",
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == url(shop, "delivery/")
    mode = DeliveryMode.objects.get(shop=shop)
    assert (
        mode.kind,
        mode.name,
        mode.carrier,
        mode.fee_cents,
        mode.free_above_cents,
        mode.lead_time_days,
        mode.is_active,
    ) == (DeliveryKind.HOME, "Colissimo domicile", "Colissimo", 490, 6000, 3, True)
    assert "Colissimo domicile" in client.get(url(shop, "delivery/")).content.decode()


def test_add_a_relay_and_a_click_and_collect_mode(client, shop, owner):
    client.force_login(owner)
    relay = client.post(
        url(shop, "delivery/new/?kind=relay"),
        {"name": "Point relais", "carrier": "Mondial Relay", "fee": "3.5", "is_active": "on"},
    )
    collect = client.post(
        url(shop, "delivery/new/?kind=click_collect"),
        {
            "name": "Retrait",
            "pickup_address": "1 place du Marché, Lyon",
            "uses_slots": "on",
            "is_active": "on",
            "fee": "9,99",  # not a field of click and collect: ignored
        },
    )
    assert relay.status_code == collect.status_code == 302
    modes = {m.kind: m for m in DeliveryMode.objects.filter(shop=shop)}
    assert (modes["relay"].carrier, modes["relay"].fee_cents) == ("Mondial Relay", 350)
    assert (
        modes["click_collect"].pickup_address,
        modes["click_collect"].uses_slots,
        modes["click_collect"].fee_cents,
    ) == ("1 place du Marché, Lyon", True, 0)


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("home", {"name": "Domicile", "carrier": "Colissimo", "fee": "quatre"}, "fee"),
        ("home", {"name": "Domicile", "carrier": "Colissimo", "fee": "-2"}, "fee"),
        ("home", {"name": "Domicile", "carrier": "", "fee": "4,90"}, "carrier"),
        ("relay", {"name": "Relais", "carrier": "X", "fee": "4,999"}, "fee"),
        ("click_collect", {"name": "Retrait", "pickup_address": ""}, "pickup_address"),
        ("relay", {"name": "", "carrier": "X", "fee": "1"}, "name"),
    ],
)
def test_delivery_mode_validation_errors(client, shop, owner, kind, data, field):
    client.force_login(owner)
    data = {"lead_time_days": "2", **data}
    response = client.post(url(shop, f"delivery/new/?kind={kind}"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not DeliveryMode.objects.filter(shop=shop).exists()


def test_edit_a_delivery_mode_keeps_its_kind(client, shop, owner):
    mode = DeliveryModeFactory(shop=shop, fee_cents=590, free_above_cents=5000)
    client.force_login(owner)
    page = client.get(url(shop, f"delivery/{mode.pk}/"))
    assert 'value="5,90"' in page.content.decode()
    response = client.post(
        url(shop, f"delivery/{mode.pk}/?kind=relay"),
        {
            "name": "Domicile express",
            "carrier": "Chronopost",
            "fee": "12,00",
            "free_above": "",
            "lead_time_days": "1",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    mode.refresh_from_db()
    assert (mode.kind, mode.name, mode.carrier, mode.fee_cents, mode.free_above_cents) == (
        DeliveryKind.HOME,
        "Domicile express",
        "Chronopost",
        1200,
        None,
    )


def test_a_delivery_mode_is_deactivated_and_activated(client, shop, owner):
    mode = DeliveryModeFactory(shop=shop)
    client.force_login(owner)
    assert client.get(url(shop, f"delivery/{mode.pk}/active/")).status_code == 405
    client.post(url(shop, f"delivery/{mode.pk}/active/"))
    mode.refresh_from_db()
    assert not mode.is_active
    client.post(url(shop, f"delivery/{mode.pk}/active/"))
    mode.refresh_from_db()
    assert mode.is_active


# --- Pick-up slots --------------------------------------------------------------------------


def test_slots_are_generated_within_the_opening_hours(client, shop, owner):
    for weekday in range(7):
        OpeningHoursFactory(shop=shop, weekday=weekday, opens=time(8), closes=time(12))
    mode = ClickCollectFactory(shop=shop)
    start = timezone.localdate() + timedelta(days=7)
    client.force_login(owner)
    response = client.post(
        url(shop, f"delivery/{mode.pk}/slots/"),
        {
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=2)).isoformat(),
            "times": "08:00-09:00\n 9h00 – 10h00 \n\n11:30-12:30",  # the last one is outside
            "capacity": "4",
        },
    )
    assert response.status_code == 302
    slots = PickupSlot.objects.filter(delivery_mode=mode)
    assert slots.count() == 6 and {s.capacity for s in slots} == {4}
    page = client.get(url(shop, f"delivery/{mode.pk}/slots/"))
    assert "6 slots created." in page.content.decode()
    assert len(page.context["page"]) == 6 and "0/4" in page.content.decode()


def test_slot_generation_errors_are_shown(client, shop, owner):
    mode = ClickCollectFactory(shop=shop)
    start = timezone.localdate() + timedelta(days=7)
    client.force_login(owner)
    bad_line = client.post(
        url(shop, f"delivery/{mode.pk}/slots/"),
        {
            "start_date": start.isoformat(),
            "end_date": start.isoformat(),
            "times": "08:00-09:00\nmidi",
            "capacity": "2",
        },
    )
    assert "Line 2" in bad_line.context["form"].errors["times"][0]
    backwards = client.post(
        url(shop, f"delivery/{mode.pk}/slots/"),
        {
            "start_date": start.isoformat(),
            "end_date": start.isoformat(),
            "times": "10:00-09:00",
            "capacity": "2",
        },
    )
    assert backwards.context["form"].errors["times"] == ["A slot must end after it starts."]
    assert not PickupSlot.objects.exists()


def test_slots_list_their_bookings_and_modes_without_slots_offer_no_form(client, shop, owner):
    slot = PickupSlotFactory(delivery_mode=ClickCollectFactory(shop=shop), capacity=3, booked=2)
    home = DeliveryModeFactory(shop=shop)
    client.force_login(owner)
    page = client.get(url(shop, f"delivery/{slot.delivery_mode_id}/slots/"))
    assert "2/3" in page.content.decode()
    no_slots = client.get(url(shop, f"delivery/{home.pk}/slots/"))
    assert no_slots.status_code == 200 and no_slots.context["form"] is None
    assert client.post(url(shop, f"delivery/{home.pk}/slots/"), {}).status_code == 200


# --- Staff and invitations ------------------------------------------------------------------


def test_an_owner_invites_and_the_invitee_joins_through_the_link(
    client, shop, owner, run_on_commit, outbox
):
    bob = UserFactory(email="bob@example.test", language="en")
    client.force_login(owner)
    with run_on_commit():
        response = client.post(url(shop, "staff/"), {"email": "Bob@Example.test"})
    assert response.status_code == 302
    assert [m.to for m in outbox] == [["bob@example.test"]]
    invitation = StaffInvitation.objects.get(shop=shop)
    assert "bob@example.test" in client.get(url(shop, "staff/")).content.decode()

    link = next(link for link in links_in(outbox[0]) if "/invitations/" in link)
    path = urlsplit(link).path
    assert path == f"/m/villeneuve/seller/invitations/{invitation.token}/"

    client.logout()
    to_login = client.get(path)
    assert to_login.status_code == 302
    assert "/login/?next=" in to_login["Location"] and invitation.token in to_login["Location"]

    client.force_login(bob)
    page = client.get(path)
    assert page.status_code == 200 and "La Fromagerie" in page.content.decode()
    accepted = client.post(path)
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/m/villeneuve/seller/{shop.slug}/"
    dashboard = client.get(accepted["Location"])
    assert dashboard.status_code == 200 and "Welcome to the staff" in dashboard.content.decode()
    assert ShopStaff.objects.get(shop=shop, user=bob).role == StaffRole.STAFF

    used = client.post(path)
    assert used.status_code == 400
    assert "This invitation was already used." in used.content.decode()


def test_an_invitation_accepted_by_another_account_is_refused(client, shop):
    invitation = StaffInvitationFactory(shop=shop, email="bob@example.test")
    intruder = UserFactory(email="eve@example.test")
    client.force_login(intruder)
    response = client.post(f"/seller/invitations/{invitation.token}/")
    assert response.status_code == 400
    assert "sent to another e-mail address" in response.content.decode()
    assert not ShopStaff.objects.filter(user=intruder).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert client.get(f"/seller/{shop.slug}/").status_code == 404


def test_an_expired_or_unknown_invitation_is_a_400_page(client, shop):
    bob = UserFactory(email="bob@example.test")
    invitation = StaffInvitationFactory(shop=shop, email=bob.email)
    client.force_login(bob)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        expired = client.post(f"/seller/invitations/{invitation.token}/")
    assert expired.status_code == 400 and "has expired" in expired.content.decode()
    unknown = client.get("/seller/invitations/not-a-token/")
    assert unknown.status_code == 400
    assert "This invitation does not exist." in unknown.content.decode()
    assert not ShopStaff.objects.filter(user=bob).exists()


def test_a_staff_member_sees_the_staff_but_cannot_invite_or_remove(
    client, shop, owner, clerk, run_on_commit, outbox
):
    client.force_login(clerk)
    page = client.get(url(shop, "staff/"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "owner@example.test" in content and 'data-testid="invite-form"' not in content
    assert "/remove/" not in content

    with run_on_commit():
        response = client.post(url(shop, "staff/"), {"email": "friend@example.test"})
    assert response.status_code == 403
    assert not StaffInvitation.objects.exists() and outbox == []

    owner_member = ShopStaff.objects.get(shop=shop, user=owner)
    assert client.post(url(shop, f"staff/{owner_member.pk}/remove/")).status_code == 403
    assert ShopStaff.objects.filter(pk=owner_member.pk).exists()


def test_an_owner_removes_a_member_but_not_the_last_owner(client, shop, owner, clerk):
    client.force_login(owner)
    clerk_member = ShopStaff.objects.get(shop=shop, user=clerk)
    response = client.post(url(shop, f"staff/{clerk_member.pk}/remove/"), follow=True)
    assert response.redirect_chain[-1][0] == url(shop, "staff/")
    assert not ShopStaff.objects.filter(pk=clerk_member.pk).exists()

    owner_member = ShopStaff.objects.get(shop=shop, user=owner)
    response = client.post(url(shop, f"staff/{owner_member.pk}/remove/"), follow=True)
    assert response.status_code == 200
    assert "The last owner of a shop cannot be removed." in response.content.decode()
    assert ShopStaff.objects.filter(pk=owner_member.pk, role=StaffRole.OWNER).exists()


def test_an_inviting_mistake_is_shown_on_the_field(client, shop, owner, clerk):
    client.force_login(owner)
    response = client.post(url(shop, "staff/"), {"email": "clerk@example.test"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "This person is already a member of the shop's staff."
    ]
    assert not StaffInvitation.objects.exists()
