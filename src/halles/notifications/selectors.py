"""Reads of the outbox and of the notification centre, shared by the interfaces."""

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Email, Notice


def emails_for_reference(references: str | Iterable[str]) -> QuerySet[Email]:
    """The e-mails filed under `references` (a reference or several), oldest first: the
    notification log of an order for the operator and the order timeline.

    Orders file a shop order's e-mails (buyer's and sellers') under the shop order's
    reference and the whole-order e-mails ("order placed") under the order's reference, so
    an order's complete log is `emails_for_reference([order.reference, *shop order
    references])`. Each row has `created_at`, `template`, `to`, `recipient_id`, `language`,
    `subject`, `status` (queued, sent, failed), `attempts`, `sent_at` and `reference`. The
    caller scopes by right: the references must be of orders the viewer may see.
    """
    if isinstance(references, str):
        references = [references]
    references = [reference for reference in references if reference]
    return (
        Email.objects.filter(reference__in=references)
        .defer("body_text", "body_html")
        .order_by("created_at", "id")
    )


def notices_for(user, marketplace) -> QuerySet[Notice]:
    """`user`'s notices on `marketplace`, newest first."""
    if user is None or not user.is_authenticated or marketplace is None:
        return Notice.objects.none()
    return Notice.objects.filter(user_id=user.pk, marketplace=marketplace).order_by(
        "-created_at", "-id"
    )


def unread_count(user, marketplace) -> int:
    """How many of `user`'s notices on `marketplace` are unread (one COUNT query)."""
    if user is None or not user.is_authenticated or marketplace is None:
        return 0
    return Notice.objects.filter(user_id=user.pk, marketplace=marketplace, read_at=None).count()
