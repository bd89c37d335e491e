"""Paging of the account search: pages of a ranked search, linked by `next` and `previous`.

The search ranks across several kinds of match and stops as soon as it has the hits a page
needs, so there is no total count (counting every match would cost what paging saves); the
page knows only whether another follows (cis.selectors.SearchPage.has_next)."""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from cis.selectors import SearchHit, SearchPage


class SearchPagination(BasePagination):
    page_query_param = "page"

    def paginate(self, results: SearchPage, request: Request) -> list[SearchHit]:
        """The page's hits; a page past the last one (other than the first) is 404, as DRF's
        own paged lists answer."""
        if not results.hits and results.page > 1:
            raise NotFound("Invalid page: the search has fewer hits.")
        self.results = results
        self.request = request
        return results.hits

    def _link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data: Any) -> Response:
        page = self.results.page
        return Response({
            "page": page,
            "page_size": self.results.per_page,
            "next": self._link(page + 1) if self.results.has_next else None,
            "previous": self._link(page - 1) if page > 1 else None,
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["page", "page_size", "next", "previous", "results"],
            "properties": {
                "page": {"type": "integer", "example": 2},
                "page_size": {"type": "integer", "example": 25},
                "next": {"type": "string", "format": "uri", "nullable": True,
                         "description": "The next page; null on the last one.",
                         "example": "https://utilis.example/api/search/?q=smith&page=3"},
                "previous": {"type": "string", "format": "uri", "nullable": True,
                             "description": "The previous page; null on the first one.",
                             "example": "https://utilis.example/api/search/?q=smith"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        # `page` and `page_size` are declared (and validated) by SearchQuerySerializer.
        return []
