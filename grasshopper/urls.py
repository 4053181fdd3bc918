"""The composition root's URLs: every app's pages and APIs are mounted here."""

from django.contrib import admin
from django.urls import include, path

from events import views as event_views

# Versioned API for mobile clients. Each app adds its own urls module here.
api_v1 = [
    path("", include("accounts.api.urls")),
]

urlpatterns = [
    path("", event_views.home, name="home"),
    # --- API (owned by the API skeleton: schema, docs) ---
    path("api/v1/", include((api_v1, "v1"))),
    # --- operations (health) ---
    # --- accounts ---
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "grasshopper.views.bad_request"
handler403 = "grasshopper.views.permission_denied"
handler404 = "grasshopper.views.page_not_found"
handler500 = "grasshopper.views.server_error"
