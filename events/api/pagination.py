"""Pagination of the event list: a cursor where the order allows one, numbered pages where it does not.

Every response has the same shape, ``{"next": url|null, "previous": url|null, "results": [...]}``: clients
follow ``next`` and never build page URLs themselves.

- ``sort=soonest`` (the default) and ``sort=newest`` order by a stored column with the id as tie-breaker
  (``starts_at, id`` / ``-created, -id``): DRF's cursor pagination, stable under inserts and cheap at any
  depth. ``next`` carries ``cursor=...``.
- ``sort=price`` and ``sort=relevance`` order by values computed per query (the lowest all-in price over
  the ticket types, a search rank): they are not unique, may be null and have no stable string form, so a
  cursor position built from them would skip or repeat rows. Those lists are short (a search, a price
  sort of upcoming events) and use numbered pages over a total order (the id is appended as the last key).
  ``next`` carries ``page=N``. No count query: one row more than the page is read to know whether a next
  page exists.
"""

from collections import OrderedDict
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from grasshopper.lib.api.pagination import DefaultCursorPagination

# Orderings a cursor can follow: a stored column, then the primary key.
CURSOR_ORDERINGS = frozenset({("starts_at", "id"), ("-created", "-id")})
TIE_BREAKERS = frozenset({"id", "-id", "pk", "-pk"})


class _EventCursorPagination(DefaultCursorPagination):
    ordering = ("starts_at", "id")  # type: ignore[assignment]


class SlugCursorPagination(DefaultCursorPagination):
    """Artists and venues, in slug order (unique, and close to alphabetical)."""

    ordering = "slug"


class EventListPagination(BasePagination):
    page_size = DefaultCursorPagination.page_size
    max_page_size = DefaultCursorPagination.max_page_size
    page_size_query_param = "page_size"
    page_query_param = "page"
    cursor_query_param = CursorPagination.cursor_query_param

    def __init__(self) -> None:
        self._cursor: CursorPagination | None = None
        self._next: str | None = None
        self._previous: str | None = None

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: Any = None) -> list[Any]:
        ordering = tuple(queryset.query.order_by) or tuple(queryset.model._meta.ordering)
        if all(isinstance(key, str) for key in ordering) and ordering in CURSOR_ORDERINGS:
            self._cursor = _EventCursorPagination()
            self._cursor.ordering = ordering  # type: ignore[assignment]
            return list(self._cursor.paginate_queryset(queryset, request, view) or [])
        return self._paginate_pages(queryset, request, ordering)

    def _paginate_pages(
        self, queryset: QuerySet[Any], request: Request, ordering: tuple[Any, ...]
    ) -> list[Any]:
        page = self._page_number(request)
        size = self._page_size(request)
        if not ordering or not (isinstance(ordering[-1], str) and ordering[-1] in TIE_BREAKERS):
            queryset = queryset.order_by(*ordering, "id")
        start = (page - 1) * size
        rows = list(queryset[start : start + size + 1])
        if len(rows) > size:
            self._next = self._page_url(request, page + 1)
        if page > 1:
            self._previous = self._page_url(request, page - 1)
        return rows[:size]

    def _page_number(self, request: Request) -> int:
        raw = request.query_params.get(self.page_query_param, "") or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_query_param: ["A page number: 1, 2, 3..."]})
        return int(raw)

    def _page_size(self, request: Request) -> int:
        """As on the cursor pages: a missing or bad size is the default, a big one the maximum."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if not raw.isdigit() or int(raw) < 1:
            return self.page_size
        return min(int(raw), self.max_page_size)

    def _page_url(self, request: Request, page: int) -> str:
        url = remove_query_param(request.build_absolute_uri(), self.cursor_query_param)
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data: Any) -> Response:
        if self._cursor is not None:
            return self._cursor.get_paginated_response(data)
        return Response(OrderedDict([("next", self._next), ("previous", self._previous), ("results", data)]))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page (a cursor, or a page number for sort=price|relevance).",
                },
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next`/`previous` link (sort=soonest|newest).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number from a `next`/`previous` link (sort=price|relevance).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
