from django.urls import path

from notifications.api.views import NotificationListApi, NotificationReadApi

app_name = "notifications"

urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("notifications/read/", NotificationReadApi.as_view(), name="notification-read"),
]
