from django.urls import path
from rest_framework.routers import SimpleRouter

from events.api.views import ArtistViewSet, EventViewSet, GenreListApi, SearchApi, VenueViewSet

app_name = "events"

router = SimpleRouter()
router.register("events", EventViewSet, basename="event")
router.register("artists", ArtistViewSet, basename="artist")
router.register("venues", VenueViewSet, basename="venue")

urlpatterns = [
    *router.urls,
    path("genres/", GenreListApi.as_view(), name="genre-list"),
    path("search/", SearchApi.as_view(), name="search"),
]
