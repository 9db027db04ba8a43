from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ocpp/", include("ocpp_app.urls")),
]

# Error pages in the site's layout, JSON under the REST API (ocpp_app/web/errors.py).
handler400 = "ocpp_app.web.errors.bad_request"
handler403 = "ocpp_app.web.errors.permission_denied"
handler404 = "ocpp_app.web.errors.page_not_found"
handler500 = "ocpp_app.web.errors.server_error"
