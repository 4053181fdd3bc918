from django.urls import path

from accounts.api.views import UserMeApi

app_name = "accounts"

urlpatterns = [
    path("me/", UserMeApi.as_view(), name="me"),
]
