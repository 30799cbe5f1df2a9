"""Pagination of the API lists: limit/offset with a cap on the page size."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class CappedPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000


class CandlePagination(LimitOffsetPagination):
    """Candles come in bigger pages for charts, still capped."""

    default_limit = 1000
    max_limit = 5000
