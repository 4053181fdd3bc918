"""The loyalty API, mounted in api_v1 by grasshopper.urls (its own paths: ``orders/<code>/redeem-points/``
sits beside the orders router's routes without being one of them)."""

from django.urls import path

from loyalty.api.views import LoyaltySummaryApi, OrderRedeemPointsApi, TransactionListApi

app_name = "loyalty"

urlpatterns = [
    path("loyalty/", LoyaltySummaryApi.as_view(), name="summary"),
    path("loyalty/transactions/", TransactionListApi.as_view(), name="transactions"),
    path("orders/<str:code>/redeem-points/", OrderRedeemPointsApi.as_view(), name="redeem-points"),
]
