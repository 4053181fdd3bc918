"""The offline stand-in for Stripe's hosted Checkout page, mounted at /_fakestripe/ by grasshopper.urls.
Every URL here is a 404 unless STRIPE_OFFLINE and DEBUG are on (orders.views_fakestripe)."""

from django.urls import path

from orders import views_fakestripe

app_name = "fakestripe"

urlpatterns = [
    path("checkout/<str:session_id>/", views_fakestripe.checkout, name="checkout"),
]
