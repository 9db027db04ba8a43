"""Plain SQL for the lookups of the group-commit writer's hot path.

A queryset such as `Charger.objects.filter(charger_id__in=ids).values_list(
"charger_id", "pk")` spends most of its time compiling itself: for a lone
message on a small machine that was a third of the writer's work, more than
the database took to answer. These statements are built from the models'
own table and column names, so they follow the schema, and run as given.
"""

from collections.abc import Iterable

from django.db import connection, models

CHUNK = 500  # keys per statement: far below every backend's parameter limit


def column_map(model: type[models.Model], key: str, value: str, keys: Iterable) -> dict:
    """{key: value} for the rows of `model` whose field `key` is one of
    `keys` (e.g. charger id -> pk). Rows that do not exist are absent."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_column = quote(model._meta.get_field(key).column)
    value_column = quote(model._meta.get_field(value).column)
    found: dict = {}
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            cursor.execute(
                f"SELECT {key_column}, {value_column} FROM {table} "
                f"WHERE {key_column} IN ({', '.join(['%s'] * len(part))})",
                part,
            )
            found.update(cursor.fetchall())
    return found


def update_where_in(model: type[models.Model], key: str, keys: Iterable, **values) -> int:
    """UPDATE the rows of `model` whose field `key` is one of `keys`, setting
    the fields given in `values` (adapted as the ORM would store them): the
    number of rows changed, as QuerySet.update() returns it. Like update(),
    it does not touch auto_now fields."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return 0
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in values]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    prepared = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    table = quote(model._meta.db_table)
    key_column = quote(model._meta.get_field(key).column)
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE {key_column} IN ({', '.join(['%s'] * len(part))})",
                [*prepared, *part],
            )
            changed += cursor.rowcount
    return changed


def update_rows(model: type[models.Model], key: str, fields: Iterable[str], rows: Iterable[tuple]) -> None:
    """One prepared UPDATE run for many rows: each row is the values of
    `fields` (adapted as the ORM would store them) followed by the `key` of
    the row to change. Rows are applied in order: the last one for a key wins."""
    columns = [model._meta.get_field(name) for name in fields]
    params = [
        (*(field.get_db_prep_save(value, connection) for field, value in zip(columns, row, strict=False)), row[-1])
        for row in rows
    ]
    if not params:
        return
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    key_column = quote(model._meta.get_field(key).column)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {key_column} = %s", params)
