from datetime import timedelta

import pytest
from django.utils import timezone

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.marketplaces.models import MarketplaceStatus
from halles.marketplaces.workflow import allowed_actions, marketplace_transition

from ..factories import MarketplaceFactory, OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_draft_opens_then_closes_through_closing(operator):
    draft = MarketplaceFactory(status=MarketplaceStatus.DRAFT)
    draft.operators.add(operator)

    opened = marketplace_transition(marketplace_id=draft.pk, action="open", actor=operator)
    assert opened.status == MarketplaceStatus.OPEN and opened.opened_at is not None

    with pytest.raises(DomainError) as error:
        marketplace_transition(marketplace_id=draft.pk, action="start_closing", actor=operator)
    assert error.value.code == "closing_dates_missing"

    now = timezone.now()
    opened.order_cutoff_at, opened.service_end_at = (
        now + timedelta(days=1),
        now + timedelta(days=30),
    )
    opened.save()
    closing = marketplace_transition(
        marketplace_id=draft.pk, action="start_closing", actor=operator
    )
    assert closing.status == MarketplaceStatus.CLOSING
    assert not closing.takes_orders(now + timedelta(days=2))

    with pytest.raises(DomainError) as error:
        marketplace_transition(marketplace_id=draft.pk, action="close", actor=operator)
    assert error.value.code == "service_not_ended"

    closing.service_end_at = closing.order_cutoff_at = now - timedelta(seconds=1)
    closing.save()
    closed = marketplace_transition(marketplace_id=draft.pk, action="close", actor=operator)
    assert closed.status == MarketplaceStatus.CLOSED and closed.closed_at is not None
    assert allowed_actions(closed) == []


def test_an_illegal_transition_is_refused_and_changes_nothing(marketplace, operator):
    with pytest.raises(InvalidState):
        marketplace_transition(marketplace_id=marketplace.pk, action="open", actor=operator)
    marketplace.refresh_from_db()
    assert marketplace.status == MarketplaceStatus.OPEN


def test_only_the_marketplaces_operators_may_change_it(marketplace):
    outsider = OperatorFactory(marketplaces=[MarketplaceFactory()])
    for actor in (outsider, UserFactory()):
        with pytest.raises(NotAllowed):
            marketplace_transition(
                marketplace_id=marketplace.pk, action="start_closing", actor=actor
            )
    superuser = UserFactory(is_staff=True, is_superuser=True)
    with pytest.raises(DomainError) as error:  # allowed, but the dates are missing
        marketplace_transition(
            marketplace_id=marketplace.pk, action="start_closing", actor=superuser
        )
    assert error.value.code == "closing_dates_missing"


def test_cancelling_a_closing_reopens_and_clears_the_dates(marketplace, operator):
    now = timezone.now()
    marketplace.order_cutoff_at, marketplace.service_end_at = now, now + timedelta(days=9)
    marketplace.save()
    marketplace_transition(marketplace_id=marketplace.pk, action="start_closing", actor=operator)
    reopened = marketplace_transition(
        marketplace_id=marketplace.pk, action="cancel_closing", actor=operator
    )
    assert reopened.status == MarketplaceStatus.OPEN
    assert reopened.order_cutoff_at is None and reopened.takes_orders()


def test_a_marketplace_stops_taking_orders_at_its_cutoff(marketplace):
    now = timezone.now()
    marketplace.order_cutoff_at = now + timedelta(hours=1)
    assert marketplace.takes_orders(now)
    assert not marketplace.takes_orders(now + timedelta(hours=1))


def test_policy_validation_rejects_incoherent_deadlines(marketplace):
    from django.core.exceptions import ValidationError

    marketplace.escalation_business_hours = 24
    marketplace.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError) as error:
        marketplace.full_clean()
    assert set(error.value.message_dict) >= {"escalation_business_hours", "time_zone"}


def test_the_calendar_follows_the_marketplace_country(marketplace):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    thursday = datetime(2026, 4, 30, 10, tzinfo=ZoneInfo("Europe/Paris"))
    deadline = marketplace.calendar.add_business_days(
        thursday, marketplace.acceptance_deadline_business_days
    )
    # May 1st (Friday) and May 8th (Friday) are French public holidays.
    assert deadline.date().isoformat() == "2026-05-11"


def test_every_transition_is_recorded_in_the_history(marketplace, operator):
    now = timezone.now()
    marketplace.order_cutoff_at, marketplace.service_end_at = now, now + timedelta(days=9)
    marketplace.save()
    marketplace_transition(marketplace_id=marketplace.pk, action="start_closing", actor=operator)
    with pytest.raises(InvalidState):
        marketplace_transition(
            marketplace_id=marketplace.pk, action="start_closing", actor=operator
        )
    events = list(marketplace.events.values_list("action", "from_status", "to_status", "actor"))
    assert events == [("start_closing", "open", "closing", operator.pk)]


def test_closing_without_an_end_date_is_a_clear_error(marketplace, operator):
    now = timezone.now()
    marketplace.order_cutoff_at, marketplace.service_end_at = now, now
    marketplace.save()
    marketplace_transition(marketplace_id=marketplace.pk, action="start_closing", actor=operator)
    type(marketplace).objects.filter(pk=marketplace.pk).update(service_end_at=None)
    with pytest.raises(DomainError) as error:
        marketplace_transition(marketplace_id=marketplace.pk, action="close", actor=operator)
    assert error.value.code == "service_not_ended"
