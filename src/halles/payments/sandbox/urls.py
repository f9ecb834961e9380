from django.urls import path

from . import views

app_name = "sandbox"

urlpatterns = [
    path("pay/<str:intent_id>/", views.pay, name="pay"),
    path("pay/<str:intent_id>/confirm/", views.confirm, name="confirm"),
    path("pay/<str:intent_id>/cancel/", views.cancel, name="cancel"),
]
