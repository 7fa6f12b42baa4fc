"""Pages of API lists whose bounds the database can take: out of range answers 422 by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

from katclinic.audit import services as audit

MAX_LIMIT = 500
# SQL LIMIT and OFFSET are 64-bit integers; an offset past any real list is refused, not sent.
MAX_OFFSET = 2**31 - 1


class Page(LimitOffsetPagination):
    """`?limit=` (1 to 500, default 100) and `?offset=` (0 to 2**31 - 1)."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)


class AuditedPage(Page):
    """A page of a list that shows patient data: one audit event names the patients on it.

    `patient_of` says which patient each row is about:
    `@paginate(AuditedPage, patient_of=lambda row: row.patient_id)`."""

    def __init__(self, *, patient_of: Callable[[Any], int | None], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.patient_of = patient_of

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        items = list(page[self.items_attribute])
        audit.record_list(request=request, patient_ids=[self.patient_of(row) for row in items])
        return page | {self.items_attribute: items}
