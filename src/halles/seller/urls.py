from django.urls import path

from . import views

app_name = "seller"

urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("<slug:shop_slug>/", views.dashboard, name="dashboard"),
    path("<slug:shop_slug>/offers/", views.offers, name="offers"),
    path("<slug:shop_slug>/offers/new/", views.offer_edit, name="offer_add"),
    path("<slug:shop_slug>/offers/<int:offer_id>/", views.offer_edit, name="offer_edit"),
    path(
        "<slug:shop_slug>/offers/<int:offer_id>/quick/",
        views.offer_quick_edit,
        name="offer_quick_edit",
    ),
    path("<slug:shop_slug>/questions/", views.questions, name="questions"),
    path("<slug:shop_slug>/documents/", views.documents, name="documents"),
]
