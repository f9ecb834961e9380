from django.urls import path

from . import webhooks

app_name = "api"

urlpatterns = [
    path(
        "payments/webhooks/<slug:provider>/", webhooks.provider_callback, name="provider_callback"
    ),
]
