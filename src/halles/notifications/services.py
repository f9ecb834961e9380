"""Queue e-mails (outbox) and deliver them (worker)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from halles.core.tasks import enqueue_on_commit

from .models import Email, EmailStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def email_queue(
    *,
    to: str,
    template: str,
    context: dict,
    language: str,
    marketplace=None,
    recipient=None,
    reply_to: str = "",
) -> Email:
    """Render `emails/<template>` in `language` and queue it for delivery after commit.

    The row is written in the caller's transaction: a rolled-back change sends nothing.
    """
    context = {**context, "marketplace": marketplace, "site_url": settings.SITE_URL}
    with translation.override(language):
        subject = render_to_string(f"emails/{template}.subject.txt", context)
        body_text = render_to_string(f"emails/{template}.txt", context)
        body_html = render_to_string(f"emails/{template}.html", context)
    subject = " ".join(subject.split())
    if marketplace is not None:
        subject = f"[{marketplace.name}] {subject}"
    email = Email.objects.create(
        marketplace=marketplace,
        recipient=recipient,
        to=to,
        from_email=_from_address(marketplace),
        reply_to=reply_to or (marketplace.contact_email if marketplace else ""),
        template=template,
        language=language,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
    )
    from .tasks import deliver_email

    enqueue_on_commit(deliver_email, email.pk)
    return email


def email_deliver(*, email_id: int) -> bool:
    """Send one queued e-mail, at most once. Returns True when it was sent by this call."""
    with transaction.atomic():
        email = Email.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != EmailStatus.QUEUED:
            return False
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=email.from_email,
            to=[email.to],
            reply_to=[email.reply_to] if email.reply_to else None,
            headers={"X-Halles-Email-Id": str(email.pk)},
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        email.attempts += 1
        try:
            get_connection().send_messages([message])
        except Exception as exc:
            logger.warning("E-mail %s failed (attempt %s): %s", email.pk, email.attempts, exc)
            email.last_error = f"{type(exc).__name__}: {exc}"
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
            email.save(update_fields=["attempts", "last_error", "status"])
            if email.status == EmailStatus.QUEUED:
                _retry_later(email)
            return False
        email.status = EmailStatus.SENT
        email.sent_at = timezone.now()
        email.save(update_fields=["attempts", "status", "sent_at"])
        return True


def _retry_later(email: Email) -> None:
    from .tasks import deliver_email

    delay = timedelta(minutes=2**email.attempts)
    task = deliver_email
    if task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    enqueue_on_commit(task, email.pk)


def _from_address(marketplace) -> str:
    if marketplace is None:
        return settings.DEFAULT_FROM_EMAIL
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">")
    return f"{marketplace.name} <{address}>"
