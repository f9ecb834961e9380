import re

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from halles.backoffice.site import site

urlpatterns = [
    path("admin/", site.urls),
    path("seller/", include("halles.seller.urls")),
    path("sandbox/", include("halles.payments.sandbox.urls")),
    path("", include("halles.api.urls")),
    path("", include("halles.storefront.urls")),
]
if settings.SERVE_MEDIA:
    # Uploaded files (logos, product images); a production web server may serve them instead.
    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

handler404 = "halles.storefront.errors.not_found"
handler500 = "halles.storefront.errors.server_error"
handler403 = "halles.storefront.errors.permission_denied"
handler400 = "halles.storefront.errors.bad_request"
