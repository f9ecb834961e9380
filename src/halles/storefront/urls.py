from django.contrib.auth.decorators import login_required
from django.urls import path

from . import catalog_views, fulfilment_views, notice_views, order_views, views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("language/", views.set_language, name="set_language"),
    path("signup/", views.signup, name="signup"),
    path("signup/done/", views.signup_done, name="signup_done"),
    path("verify/<uidb64>/<token>/", views.verify_email, name="verify_email"),
    path("verify/resend/", views.resend_verification, name="resend_verification"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done, name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "account/password/",
        login_required(views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path("account/", views.account, name="account"),
    path("account/addresses/", views.addresses, name="addresses"),
    path("account/addresses/new/", views.address_edit, name="address_add"),
    path("account/addresses/<int:pk>/", views.address_edit, name="address_edit"),
    path("account/addresses/<int:pk>/delete/", views.address_delete, name="address_delete"),
    path("account/delete/", views.account_delete, name="account_delete"),
    path("join/", views.join_marketplace, name="join"),
    path("search/", catalog_views.search, name="search"),
    path("c/<slug:category_slug>/", catalog_views.search, name="category"),
    path("p/<int:product_id>/", catalog_views.product, name="product"),
    path("offers/<int:offer_id>/question/", catalog_views.ask_question, name="ask_question"),
    path("shops/", catalog_views.shops, name="shops"),
    path("shops/<slug:shop_slug>/", catalog_views.shop, name="shop"),
    path("cart/", order_views.cart, name="cart"),
    path("cart/add/", order_views.cart_add, name="cart_add"),
    path("cart/lines/<int:line_id>/", order_views.cart_line, name="cart_line"),
    path("cart/shops/<int:shop_id>/delivery/", order_views.cart_delivery, name="cart_delivery"),
    path("cart/coupon/", order_views.cart_coupon, name="cart_coupon"),
    path(
        "cart/coupon/<int:coupon_id>/remove/",
        order_views.cart_coupon_remove,
        name="cart_coupon_remove",
    ),
    path("checkout/", order_views.checkout, name="checkout"),
    path("orders/<str:reference>/pay/", order_views.checkout_pay, name="checkout_pay"),
    path("orders/<str:reference>/return/", order_views.checkout_return, name="checkout_return"),
    path("account/orders/", order_views.orders, name="orders"),
    path("account/orders/<str:reference>/", order_views.order, name="order"),
    path(
        "account/orders/<str:reference>/<str:shop_order_reference>/cancel/",
        order_views.order_cancel,
        name="order_cancel",
    ),
    path(
        "account/orders/<str:reference>/<str:shop_order_reference>/received/",
        fulfilment_views.order_received,
        name="order_received",
    ),
    path(
        "cart/shops/<int:shop_id>/relay-points/",
        fulfilment_views.relay_points,
        name="relay_points",
    ),
    path("account/notices/", notice_views.notices, name="notices"),
    path("account/notices/read/", notice_views.notices_read_all, name="notices_read_all"),
    path("account/notices/<int:notice_id>/", notice_views.notice_open, name="notice_open"),
]
