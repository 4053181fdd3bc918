from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The home page. The catalogue issue fills it with featured and soonest on-sale events."""
    return render(request, "events/home.html")
