"""Payment tasks: thin wrappers that take ids and call the services."""

from django_tasks import task

from .sandbox import bank


@task()
def deliver_sandbox_webhook(webhook_id: int) -> bool:
    return bank.webhook_deliver(webhook_id=webhook_id)


@task()
def sweep_sandbox_webhooks() -> int:
    """Resend the sandbox's undelivered callbacks (a receiver that was down gets them)."""
    sent = 0
    for webhook_id in bank.undelivered_webhooks().values_list("id", flat=True)[:200]:
        sent += bank.webhook_deliver(webhook_id=webhook_id)
    return sent
