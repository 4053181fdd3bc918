"""The loyalty pages, mounted at the site root by grasshopper.urls (so this module spells the full paths)."""

from django.urls import path

from loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("account/loyalty/", views.account_loyalty, name="account"),
    path("orders/<str:code>/redeem-points/", views.redeem_points, name="redeem"),
]
