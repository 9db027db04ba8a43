"""What every read of the pages and the API shares."""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def filter_given(qs: QuerySet[M], **lookups: object) -> QuerySet[M]:
    """`qs` filtered by each lookup that has a value: None or "" (a filter
    the user left out or blank) is no filter; 0 is a value."""
    given = {lookup: value for lookup, value in lookups.items() if value is not None and value != ""}
    return qs.filter(**given) if given else qs
