"""The catalogue's pages (the home page is mounted by grasshopper.urls as "home")."""

from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/<slug:slug>/", views.event_detail, name="detail"),
    path("events/<slug:slug>/calendar.ics", views.event_calendar, name="calendar"),
    path("artists/<slug:slug>/", views.artist_detail, name="artist"),
    path("venues/<slug:slug>/", views.venue_detail, name="venue"),
]
