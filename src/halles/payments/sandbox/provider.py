"""The sandbox behind the provider interface, used exactly as a remote provider would be."""

import json

from halles.core.urls import site_url

from ..providers import (
    Callback,
    InvalidSignature,
    OperationResult,
    PaymentProvider,
    PaymentState,
    Session,
)
from . import bank


class SandboxProvider(PaymentProvider):
    code = "sandbox"

    def start(self, *, payment, return_url: str, description: str) -> Session:
        intent = bank.intent_open(
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            description=description,
            return_url=return_url,
        )
        page = site_url("sandbox:pay", kwargs={"intent_id": intent.id})
        return Session(provider_reference=intent.id, redirect_url=page)

    def retrieve(self, *, payment) -> PaymentState:
        intent = bank.SandboxIntent.objects.get(pk=payment.provider_reference)
        message = str(bank.FAILURES.get(intent.failure_code, "")) if intent.failure_code else ""
        return PaymentState(
            status=intent.status, failure_code=intent.failure_code, failure_message=message
        )

    def capture(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        return self._move(payment, "capture", amount_cents, idempotency_key)

    def void(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        return self._move(payment, "void", amount_cents, idempotency_key)

    def refund(self, *, payment, amount_cents: int, idempotency_key: str) -> OperationResult:
        return self._move(payment, "refund", amount_cents, idempotency_key)

    def _move(self, payment, kind, amount_cents, key) -> OperationResult:
        answer = bank.intent_move(
            intent_id=payment.provider_reference, kind=kind, amount_cents=amount_cents, key=key
        )
        if answer["status"] == "succeeded":
            return OperationResult(succeeded=True, provider_reference=answer["id"])
        code = answer.get("error", "failed")
        return OperationResult(
            succeeded=False,
            provider_reference=answer.get("id", ""),
            error_code=code,
            error_message=str(bank.FAILURES.get(code, code)),
        )

    def parse_callback(self, *, body: bytes, headers) -> Callback:
        if not bank.verify(body, headers.get(bank.SIGNATURE_HEADER, "")):
            raise InvalidSignature()
        try:
            payload = json.loads(body)
            data = payload["data"]
            return Callback(
                event_id=str(payload["id"]),
                event_type=str(payload["type"]),
                provider_reference=str(data["payment"]),
                payload=payload,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSignature("malformed callback") from exc
