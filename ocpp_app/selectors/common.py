"""What every read of the pages and the API shares."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def filter_given(qs: QuerySet[M], **lookups: object) -> QuerySet[M]:
    """`qs` filtered by each lookup that has a value: an empty or None value
    (a filter field the user left blank) is no filter."""
    given = {lookup: value for lookup, value in lookups.items() if value}
    return qs.filter(**given) if given else qs
