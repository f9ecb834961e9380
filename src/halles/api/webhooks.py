"""Payment providers' callbacks: `POST /payments/webhooks/<provider>/`.

No session, no CSRF (the provider is not a browser): the signature is the authentication.
A bad signature is a 400, an unknown provider a 404, a replay a 200 that changes nothing.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from halles.checkout.callbacks import payment_callback
from halles.core.errors import DomainError


@csrf_exempt
@require_POST
def provider_callback(request, provider):
    try:
        outcome = payment_callback(
            provider_code=provider, body=request.body, headers=request.headers
        )
    except DomainError as exc:
        return JsonResponse({"error": exc.code, "message": str(exc.message)}, status=exc.status)
    return JsonResponse({"received": True, "outcome": outcome})
