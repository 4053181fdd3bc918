from rest_framework.pagination import CursorPagination


class DefaultCursorPagination(CursorPagination):
    """Stable under inserts: the default for every list endpoint. Lists with a better order override it."""

    ordering = "-pk"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
