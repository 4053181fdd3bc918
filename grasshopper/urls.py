"""The composition root's URLs: every app's pages and APIs are mounted here."""

from django.contrib import admin
from django.urls import include, path

from events import views as event_views

urlpatterns = [
    path("", event_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "grasshopper.views.bad_request"
handler403 = "grasshopper.views.permission_denied"
handler404 = "grasshopper.views.page_not_found"
handler500 = "grasshopper.views.server_error"
