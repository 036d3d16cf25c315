"""Page-number pagination whose cost follows the page, not the table.

The page is read with one extra row to know whether another follows. The count is exact up to
API_COUNT_LIMIT rows (or as far as the page asked for reaches); past that the answer carries the
limit with `countExact: false`, so no request counts every file in the database.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


def bounded_count(queryset: QuerySet[Any], *, limit: int) -> tuple[int, bool]:
    """(count, exact): the rows up to `limit`, counted over at most `limit + 1` of them."""
    found = queryset.values("pk")[: limit + 1].count()
    return min(found, limit), found <= limit


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        size = self.get_page_size(request) or 100
        number = self._page_number(request)
        offset = (number - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        self.number, self.has_next = number, len(rows) > size
        rows = rows[:size]
        if not rows and number > 1:
            raise NotFound(f"Invalid page: page {number} is past the last one.")
        if not self.has_next:
            self.count, self.count_exact = offset + len(rows), True
        else:
            limit = max(settings.API_COUNT_LIMIT, offset + size)
            self.count, self.count_exact = bounded_count(queryset, limit=limit)
        return rows

    def _page_number(self, request: Request) -> int:
        text = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(text)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound(f"Invalid page: {text!r} is not a page number.")
        return number

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self._url(), self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        url = self._url()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def _url(self) -> str:
        assert self.request is not None
        return self.request.build_absolute_uri()

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "countExact": self.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["countExact"] = {
            "type": "boolean",
            "description": "False when there are more rows than `count` (counting stops there).",
        }
        answer["required"] = [*answer.get("required", []), "countExact"]
        return answer
