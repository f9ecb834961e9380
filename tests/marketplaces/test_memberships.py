import threading

import pytest
from django.db import connection

from halles.core.errors import DomainError, InvalidState, NotAllowed
from halles.marketplaces import services
from halles.marketplaces.models import Membership, MembershipStatus, RegistrationMode
from halles.notifications.models import Email

from ..factories import MarketplaceFactory, MembershipFactory, OperatorFactory, UserFactory


@pytest.fixture
def b2b(db):
    return MarketplaceFactory(
        slug="sante-pro", name="Santé Pro", registration_mode=RegistrationMode.APPROVAL
    )


@pytest.mark.django_db
def test_approval_is_emailed_in_the_applicants_language(b2b, run_on_commit, outbox):
    operator = OperatorFactory(marketplaces=[b2b])
    pending = MembershipFactory(marketplace=b2b, user=UserFactory(language="en"))

    with run_on_commit():
        services.membership_decide(membership_id=pending.pk, operator=operator, approve=True)

    pending.refresh_from_db()
    assert pending.status == MembershipStatus.APPROVED and pending.decided_by == operator
    assert len(outbox) == 1
    assert "approved" in outbox[0].subject
    assert "http://127.0.0.1:8000/m/sante-pro/" in outbox[0].body


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_sends_it(b2b, run_on_commit, outbox):
    operator = OperatorFactory(marketplaces=[b2b])
    pending = MembershipFactory(marketplace=b2b)

    with pytest.raises(DomainError) as error:
        services.membership_decide(
            membership_id=pending.pk, operator=operator, approve=False, reason=" "
        )
    assert error.value.code == "reason_required"

    with run_on_commit():
        services.membership_decide(
            membership_id=pending.pk, operator=operator, approve=False, reason="SIRET inconnu"
        )
    assert "SIRET inconnu" in outbox[0].body
    assert Membership.objects.get(pk=pending.pk).status == MembershipStatus.REJECTED


@pytest.mark.django_db
def test_a_request_is_decided_once_and_only_by_its_operators(b2b):
    pending = MembershipFactory(marketplace=b2b)
    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])
    with pytest.raises(NotAllowed):
        services.membership_decide(membership_id=pending.pk, operator=stranger, approve=True)

    operator = OperatorFactory(marketplaces=[b2b])
    services.membership_decide(membership_id=pending.pk, operator=operator, approve=True)
    with pytest.raises(InvalidState):
        services.membership_decide(
            membership_id=pending.pk, operator=operator, approve=False, reason="x"
        )
    assert Email.objects.count() == 1


@pytest.mark.django_db
def test_a_rejected_user_cannot_ask_again(b2b):
    rejected = MembershipFactory(marketplace=b2b, status=MembershipStatus.REJECTED)
    with pytest.raises(DomainError) as error:
        services.membership_request(marketplace=b2b, user=rejected.user, role="buyer")
    assert error.value.code == "membership_rejected"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_operators_deciding_at_once_decide_once(b2b):
    """Under concurrency the decision happens exactly once: one wins, the other gets a clear
    InvalidState, and a single e-mail is queued."""
    pending = MembershipFactory(marketplace=b2b)
    operators = [OperatorFactory(marketplaces=[b2b]) for _ in range(8)]
    barrier = threading.Barrier(len(operators))
    outcomes = []

    def decide(operator, approve):
        try:
            barrier.wait()
            services.membership_decide(
                membership_id=pending.pk, operator=operator, approve=approve, reason="non"
            )
            outcomes.append("done")
        except InvalidState:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(op, i % 2 == 0)) for i, op in enumerate(operators)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["done"] + ["refused"] * (len(operators) - 1)
    assert Email.objects.filter(template="marketplaces/membership_decision").count() == 1
