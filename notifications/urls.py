"""The inbox pages and the unsubscribe link, mounted at the site root by grasshopper.urls (so this module
spells the full paths: ``account/notifications/`` and ``email/unsubscribe/<token>/``)."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("account/notifications/", views.inbox, name="inbox"),
    path("account/notifications/read/", views.mark_read, name="mark_read"),
    path("account/notifications/preferences/", views.preferences, name="preferences"),
    path("account/notifications/bell/", views.bell, name="bell"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
