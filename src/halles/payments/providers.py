"""The payment-provider interface: what Halles asks of Stripe, Mangopay or the sandbox.

Every call is made outside any database transaction that could still roll back (the
payments service commits first, then calls). Each money movement carries an idempotency
key, so a retried call never moves money twice. Transfers and payouts come with the money
issue.
"""

from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class InvalidSignature(Exception):
    """A callback whose signature does not verify: it is refused, never processed."""


@dataclass(frozen=True)
class Session:
    """A payment started at the provider: where to send the buyer."""

    provider_reference: str
    redirect_url: str


@dataclass(frozen=True)
class PaymentState:
    """The provider's view of an authorisation."""

    status: str  # a PaymentStatus value
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class OperationResult:
    succeeded: bool
    provider_reference: str = ""
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class Callback:
    """A verified provider callback."""

    event_id: str
    event_type: str
    provider_reference: str
    payload: dict = field(default_factory=dict)


class PaymentProvider:
    """Base class: a provider implements each method against its documented API."""

    code = ""

    def start(self, *, payment, return_url: str, description: str) -> Session:
        raise NotImplementedError

    def retrieve(self, *, payment) -> PaymentState:
        raise NotImplementedError

    def capture(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        raise NotImplementedError

    def void(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        raise NotImplementedError

    def refund(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        raise NotImplementedError

    def parse_callback(self, *, body: bytes, headers) -> Callback:
        """Verify and decode a callback; raise InvalidSignature when it does not verify."""
        raise NotImplementedError


@cache
def _provider_class(path: str):
    return import_string(path)


def get_provider(code: str | None = None) -> PaymentProvider:
    code = code or settings.HALLES_DEFAULT_PAYMENT_PROVIDER
    try:
        path = settings.HALLES_PAYMENT_PROVIDERS[code]
    except KeyError:
        raise LookupError(f"unknown payment provider {code!r}") from None
    return _provider_class(path)()
