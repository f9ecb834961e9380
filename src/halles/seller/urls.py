from django.urls import path

from . import fulfilment_views, order_views, settings_views, views

app_name = "seller"

urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path(
        "invitations/<str:token>/",
        settings_views.invitation_accept,
        name="invitation_accept",
    ),
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
    path("<slug:shop_slug>/orders/", order_views.orders, name="orders"),
    path("<slug:shop_slug>/orders/<str:reference>/", order_views.order, name="order"),
    path(
        "<slug:shop_slug>/orders/<str:reference>/decide/",
        order_views.order_decide,
        name="order_decide",
    ),
    path(
        "<slug:shop_slug>/orders/<str:reference>/ship/",
        fulfilment_views.order_ship,
        name="order_ship",
    ),
    path(
        "<slug:shop_slug>/orders/<str:reference>/ready/",
        fulfilment_views.order_ready,
        name="order_ready",
    ),
    path(
        "<slug:shop_slug>/orders/<str:reference>/collect/",
        fulfilment_views.order_collect,
        name="order_collect",
    ),
    path(
        "<slug:shop_slug>/shipments/import/",
        fulfilment_views.shipments_import,
        name="shipments_import",
    ),
    path("<slug:shop_slug>/documents/", views.documents, name="documents"),
    path("<slug:shop_slug>/imports/", views.imports, name="imports"),
    path("<slug:shop_slug>/imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path(
        "<slug:shop_slug>/imports/<int:import_id>/errors.csv",
        views.import_errors,
        name="import_errors",
    ),
    path("<slug:shop_slug>/settings/", settings_views.profile, name="settings"),
    path("<slug:shop_slug>/settings/hours/", settings_views.hours, name="hours"),
    path(
        "<slug:shop_slug>/settings/hours/closures/<int:closure_id>/remove/",
        settings_views.closure_remove,
        name="closure_remove",
    ),
    path("<slug:shop_slug>/settings/delivery/", settings_views.delivery, name="delivery"),
    path(
        "<slug:shop_slug>/settings/delivery/new/",
        settings_views.delivery_edit,
        name="delivery_add",
    ),
    path(
        "<slug:shop_slug>/settings/delivery/<int:mode_id>/",
        settings_views.delivery_edit,
        name="delivery_edit",
    ),
    path(
        "<slug:shop_slug>/settings/delivery/<int:mode_id>/active/",
        settings_views.delivery_toggle,
        name="delivery_toggle",
    ),
    path(
        "<slug:shop_slug>/settings/delivery/<int:mode_id>/delete/",
        settings_views.delivery_delete,
        name="delivery_delete",
    ),
    path(
        "<slug:shop_slug>/settings/delivery/<int:mode_id>/slots/",
        settings_views.slots,
        name="slots",
    ),
    path(
        "<slug:shop_slug>/settings/delivery/<int:mode_id>/slots/<int:slot_id>/delete/",
        settings_views.slot_delete,
        name="slot_delete",
    ),
    path("<slug:shop_slug>/settings/staff/", settings_views.staff, name="staff"),
    path(
        "<slug:shop_slug>/settings/staff/<int:member_id>/remove/",
        settings_views.staff_remove,
        name="staff_remove",
    ),
]
