from django.contrib.auth.decorators import login_required
from django.urls import path

from . import catalog_views, views

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
]
