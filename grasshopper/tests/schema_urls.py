"""Test-only URLconf for the OpenAPI error documentation: two annotated endpoints that can fail in every
documented way (body validation, authentication, a path parameter, throttling)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from grasshopper.tests.api_urls import OrderSerializer


class OrderCreateApi(GenericAPIView):
    serializer_class = OrderSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={201: OrderSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.data, status=201)


class OrderDetailApi(GenericAPIView):
    serializer_class = OrderSerializer
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, pk: int) -> Response:
        return Response({})


urlpatterns = [
    path("api/v1/orders/", OrderCreateApi.as_view()),
    path("api/v1/orders/<int:pk>/", OrderDetailApi.as_view()),
]
