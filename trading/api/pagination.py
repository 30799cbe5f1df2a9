"""Pagination of the API lists: limit/offset with a cap on the page size, and a capped count.

Counting every matching row on each page is what made ``/api/fills/`` slow on PostgreSQL with 100,000 fills
(``COUNT(*)`` scans them all). ``CappedPagination`` counts at most ``COUNT_CAP`` rows (or up to one past the
requested page, if that is further): below the cap ``count`` is exact; at the cap the response says
``"count_capped": true`` and ``count`` is a lower bound. ``next``/``previous`` and ``?limit=&offset=`` work as
before."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

COUNT_CAP = 10_000
MAX_OFFSET = 1_000_000_000  # far past any list here, and inside a database's 64-bit LIMIT/OFFSET


class BoundedOffset:
    """``?offset=`` above MAX_OFFSET is a 400 naming the field and the limit (a larger number overflowed the
    database's bigint OFFSET and answered 500)."""

    def get_offset(self, request) -> int:
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({"offset": [f"offset: {offset} is above the limit {MAX_OFFSET:,}"]})
        return offset


class CappedPagination(BoundedOffset, LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000
    count_cap = COUNT_CAP

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)  # before the count: the count reaches past the requested page
        self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        return list(queryset[self.offset:self.offset + self.limit])

    def get_count(self, queryset) -> int:
        bound = max(self.count_cap, self.offset + self.limit + 1)
        try:
            n = queryset.order_by()[:bound].count()  # COUNT(*) over a LIMITed subquery
        except (AttributeError, TypeError):
            n = len(queryset)
        self.count_capped = n >= bound
        return n

    def get_paginated_response(self, data):
        return Response({"count": self.count, "count_capped": getattr(self, "count_capped", False),
                         "next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count_capped"] = {"type": "boolean", "example": False,
                                             "description": "count stopped at the cap: it is a lower bound"}
        out["required"] = [*out.get("required", []), "count_capped"]
        return out


class CandlePagination(BoundedOffset, LimitOffsetPagination):
    """Candles come in bigger pages for charts, still capped."""

    default_limit = 1000
    max_limit = 5000
