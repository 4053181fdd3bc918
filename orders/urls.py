"""The checkout's pages, mounted at /orders/ by grasshopper.urls."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("checkout/", views.checkout_start, name="checkout_start"),
    path("<str:code>/", views.confirmation, name="confirmation"),
    path("<str:code>/checkout/", views.checkout, name="checkout"),
    path("<str:code>/extend/", views.extend_hold, name="extend"),
    path("<str:code>/cancel/", views.cancel, name="cancel"),
    path("<str:code>/names/", views.holder_names, name="holder_names"),
    path("<str:code>/pay/", views.pay, name="pay"),
    path("<str:code>/payment/", views.payment_status, name="payment_status"),
    path("<str:code>/calendar.ics", views.calendar, name="calendar"),
    path("<str:code>/tickets.pdf", views.tickets_pdf, name="tickets_pdf"),
]
