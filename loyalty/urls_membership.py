"""The membership's pages, mounted at ``account/loyalty/membership/`` by grasshopper.urls."""

from django.urls import path

from loyalty import views_membership as views

app_name = "membership"

urlpatterns = [
    path("join/", views.join, name="join"),
    path("welcome/", views.welcome, name="welcome"),
    path("cancel/", views.cancel, name="cancel"),
    path("keep/", views.keep, name="keep"),
]
