"""Middleware of the shared kernel."""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from grasshopper.lib.logging_signals import set_request_id_header

GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


@sync_and_async_middleware
def request_id_header_middleware(get_response: GetResponse) -> GetResponse:
    """Return the request's log id in ``X-Request-ID``, so a user's report can be found in the logs.

    Placed right after ``django_structlog.middlewares.RequestMiddleware``: the id is decided before the
    request reaches us (``grasshopper.lib.logging_signals``) and kept on the request, so the response
    passing back gets it (also a 500 response, which Django's exception handling produces further in).
    """
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            response = await get_response(request)  # type: ignore[misc]
            set_request_id_header(request, response)
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        set_request_id_header(request, response)  # type: ignore[arg-type]
        return response  # type: ignore[return-value]

    return middleware
