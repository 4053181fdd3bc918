from rest_framework.routers import SimpleRouter

from waitlist.api.views import WaitlistEntryViewSet

app_name = "waitlist"

router = SimpleRouter()
router.register("waitlist", WaitlistEntryViewSet, basename="waitlist-entry")

urlpatterns = router.urls
