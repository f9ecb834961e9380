import pytest
from django.core import mail

from halles.notifications import services
from halles.notifications.models import Email, EmailStatus

pytestmark = pytest.mark.django_db


def queue(marketplace, language="fr"):
    from ..factories import UserFactory

    user = UserFactory(language=language)
    return services.email_queue(
        to=user.email,
        template="accounts/password_reset",
        context={"user": user, "link": "http://127.0.0.1:8000/x"},
        language=language,
        marketplace=marketplace,
        recipient=user,
    )


def test_an_email_is_sent_after_commit_and_only_once(marketplace, run_on_commit, outbox):
    with run_on_commit():
        email = queue(marketplace)
        assert outbox == []  # nothing leaves before the commit
    assert len(outbox) == 1
    assert outbox[0].alternatives[0][1] == "text/html"
    assert outbox[0].reply_to == [marketplace.contact_email]

    assert services.email_deliver(email_id=email.pk) is False  # a replayed task sends nothing
    assert len(outbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 1)


def test_a_failed_delivery_is_retried_then_given_up(marketplace, monkeypatch, outbox):
    email = queue(marketplace)
    calls = []

    class Down:
        def send_messages(self, messages):
            calls.append(messages)
            raise OSError("connection refused")

    monkeypatch.setattr(services, "get_connection", lambda: Down())
    for _ in range(services.MAX_ATTEMPTS):
        assert services.email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED
    assert email.attempts == services.MAX_ATTEMPTS
    assert "connection refused" in email.last_error
    assert services.email_deliver(email_id=email.pk) is False
    assert len(calls) == services.MAX_ATTEMPTS
    assert mail.outbox == []


def test_the_email_is_rendered_in_the_recipients_language(marketplace):
    french = queue(marketplace, "fr")
    english = queue(marketplace, "en")
    assert french.subject != english.subject
    assert english.subject == f"[{marketplace.name}] Reset your password"
    assert Email.objects.count() == 2
