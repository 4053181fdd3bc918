"""The waitlist's pages, mounted at /waitlist/ by grasshopper.urls."""

from django.urls import path

from waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("join/", views.join, name="join"),
    path("<int:entry_id>/leave/", views.leave, name="leave"),
    path("confirm/<str:token>/", views.verify, name="verify"),
    path("leave/<str:token>/", views.leave_by_token, name="leave_by_token"),
]
