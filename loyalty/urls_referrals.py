"""The referral link, mounted at the site root by grasshopper.urls: ``/r/<code>/`` (short, for sharing), and
the checkout's welcome-discount form (reward "discount")."""

from django.urls import path

from loyalty import views_referrals

app_name = "referrals"

urlpatterns = [
    path("r/<str:code>/", views_referrals.referral_link, name="link"),
    path("orders/<str:code>/welcome-discount/", views_referrals.welcome_discount, name="discount"),
]
