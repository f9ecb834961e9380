"""Queue e-mails (outbox) and deliver them (worker); in-app notices; operators' versions of
the e-mails."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from halles.core.errors import NotAllowed, NotFound
from halles.core.tasks import enqueue_on_commit

from .models import Email, EmailStatus, EmailTemplateOverride, Notice
from .rendering import render_email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
NOTICE_BODY_CHARS = 280


def email_queue(
    *,
    to: str,
    template: str,
    context: dict,
    language: str,
    marketplace=None,
    recipient=None,
    reply_to: str = "",
    reference: str = "",
    notice: bool = False,
) -> Email:
    """Render `emails/<template>` (or the marketplace's version of it) in `language` and
    queue it for delivery after commit.

    The row is written in the caller's transaction: a rolled-back change sends nothing.
    `reference` files the e-mail under what it is about (a shop order's or an order's
    reference) for the log per order. With `notice`, the recipient user also gets an in-app
    notice on `marketplace`, in the same transaction (none without a recipient or a
    marketplace).
    """
    context = {**context, "marketplace": marketplace, "site_url": settings.SITE_URL}
    rendered = render_email(
        template=template, context=context, language=language, marketplace=marketplace
    )
    subject = rendered.subject
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
        reference=reference,
        subject=subject[:255],
        body_text=rendered.body_text,
        body_html=rendered.body_html,
    )
    if notice and recipient is not None and marketplace is not None:
        Notice.objects.create(
            user=recipient,
            marketplace=marketplace,
            title=Truncator(rendered.subject).chars(255),
            body=notice_body(rendered.body_text),
            link=str(context.get("link") or "")[:500],
            reference=reference,
        )
    from .tasks import deliver_email

    enqueue_on_commit(deliver_email, email.pk)
    return email


def notice_body(text: str) -> str:
    """The gist of an e-mail for its notice: the first paragraph after the greeting
    ("Hello Alice,"), shortened."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    if len(paragraphs) > 1 and paragraphs[0].endswith(","):
        paragraphs = paragraphs[1:]
    return Truncator(paragraphs[0]).chars(NOTICE_BODY_CHARS) if paragraphs else ""


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


# --- In-app notices ---------------------------------------------------------------------------


def notice_mark_read(*, user, notice_id: int) -> Notice:
    """Mark one of `user`'s notices read (the first reading counts); another's is NotFound."""
    notice = Notice.objects.filter(pk=notice_id, user_id=user.pk).first()
    if notice is None:
        raise NotFound(_("This notification does not exist."))
    if notice.read_at is None:
        now = timezone.now()
        Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=now)
        notice.read_at = now
    return notice


def notices_mark_all_read(*, user, marketplace) -> int:
    """Mark all of `user`'s unread notices on `marketplace` read; returns how many."""
    return Notice.objects.filter(user_id=user.pk, marketplace=marketplace, read_at=None).update(
        read_at=timezone.now()
    )


# --- Operators' versions of the e-mails ---------------------------------------------------------


def template_override_save(*, override: EmailTemplateOverride, actor) -> EmailTemplateOverride:
    """Save an operator's version of an e-mail after checking it compiles (ValidationError
    otherwise) and that `actor` runs its marketplace."""
    if not may_edit_templates(actor, override.marketplace):
        raise NotAllowed()
    override.full_clean()
    override.updated_by = actor
    with transaction.atomic():
        override.save()
    return override


def may_edit_templates(user, marketplace) -> bool:
    """Active operator staff of `marketplace`, or a superuser. (The same rule as
    `marketplaces.workflow.can_operate`, which notifications cannot import: marketplaces
    sends its e-mails through this app.)"""
    if user is None or not user.is_active or marketplace is None:
        return False
    if user.is_superuser:
        return True
    return user.is_staff and marketplace.operators.filter(pk=user.pk).exists()
