"""Names for the few queries written as SQL by hand, read from the models so that a renamed
table or column follows. Hand-written SQL is kept to hot paths where building the ORM's query
cost more than the rest of the request's work (measured in the docstring of each use)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def table(meta: Any) -> str:
    return str(connection.ops.quote_name(meta.db_table))


def column(meta: Any, name: str) -> str:
    """A concrete field's column, quoted."""
    field = meta.get_field(name)
    if not field.column:
        raise ValueError(f"{meta.label}.{name} has no column")
    return str(connection.ops.quote_name(field.column))


def _quote(name: str | None) -> str:
    if not name:
        raise ValueError("no column")
    return str(connection.ops.quote_name(name))


Converter = Callable[[Any, Any, Any], Any]
_CONVERTERS_ATTR = "_flipside_pk_reader_converters"


class _Part:
    """One model's share of a PkReader's row: which fields, in the model's order, and the
    foreign key it is joined by (None for the model read)."""

    def __init__(
        self, model: type[Model], names: Sequence[str] | None, via: Field | None, alias: str
    ) -> None:
        meta = model._meta
        wanted = None
        if names is not None:
            wanted = {meta.pk.attname}
            for name in names:
                field = meta.get_field(name)
                if not field.concrete or field.many_to_many:
                    raise ValueError(f"{meta.label}.{name} is not a column")
                wanted.add(field.attname)
        self.model, self.via, self.alias = model, via, alias
        # In the model's order: Model.from_db takes values so when some are deferred.
        self.fields = [f for f in meta.concrete_fields if wanted is None or f.attname in wanted]
        self.attnames = [f.attname for f in self.fields]
        self.pk_index = self.attnames.index(meta.pk.attname)
        self.cols = [field.get_col(alias) for field in self.fields]


class PkReader(Generic[M]):
    """One row read by primary key, as `Model.objects.select_related(...).only(...).get(pk=)`
    would, with the SQL built once instead of on every call.

    For the reads every signed-in request makes (the user) or every visit to a cached page makes
    (the attempt behind the marking page): building the ORM's query took 170-300 us of each,
    measured in-process on SQLite, running it 10-20 us. What comes back is the ORM's own kind of
    instance: built by `Model.from_db` with the database's value converters applied, fields not
    asked for deferred (read when touched), and each related row cached on its foreign key, so
    code using it cannot tell the difference.

    `fields`: the model's concrete fields to read (None: all); `related`: forward foreign keys
    to join, each with the fields of its model to read (None: all). Only the default database.
    """

    def __init__(
        self,
        model: type[M],
        fields: Sequence[str] | None = None,
        related: dict[str, Sequence[str] | None] | None = None,
    ) -> None:
        self.model = model
        self._fields = fields
        self._related = dict(related or {})
        self._built: tuple[str, list[_Part]] | None = None
        self._lock = threading.Lock()

    def _build(self) -> tuple[str, list[_Part]]:
        meta = self.model._meta
        parts = [_Part(self.model, self._fields, None, "T0")]
        joins = []
        for number, (name, fields) in enumerate(self._related.items(), start=1):
            fk: Any = meta.get_field(name)
            if not (fk.many_to_one and fk.concrete):
                raise ValueError(f"{meta.label}.{name} is not a foreign key")
            if not any(f.attname == fk.attname for f in parts[0].fields):
                raise ValueError(f"{meta.label}.{name} is joined, so it must be read too")
            part = _Part(fk.related_model, fields, fk, f"T{number}")
            parts.append(part)
            target = fk.target_field
            joins.append(
                f" LEFT OUTER JOIN {table(target.model._meta)} {part.alias} ON "
                f"{part.alias}.{_quote(target.column)} = T0.{_quote(fk.column)}"
            )
        selected = ", ".join(
            f"{part.alias}.{_quote(field.column)}" for part in parts for field in part.fields
        )
        # Only names from the models, quoted; the key is a parameter.
        sql = (
            f"SELECT {selected} FROM {table(meta)} T0{''.join(joins)} "  # noqa: S608
            f"WHERE T0.{_quote(meta.pk.column)} = %s"
        )
        return sql, parts

    def _converters_for(self, db: Any, parts: list[_Part]) -> list[list[list[Converter]]]:
        """The value converters the ORM would apply (SQLCompiler.get_converters), kept on the
        connection they are bound to (each thread has its own), so they go with it: cached
        here, keyed by connection, they would hold every connection a thread ever opened (ASGI
        runs each request on a new thread)."""
        kept: dict[PkReader[Any], list[list[list[Converter]]]] = db.__dict__.setdefault(
            _CONVERTERS_ATTR, {}
        )
        found = kept.get(self)
        if found is None:
            found = kept[self] = [
                [db.ops.get_db_converters(col) + col.get_db_converters(db) for col in part.cols]
                for part in parts
            ]
        return found

    def _out_of_range(self, db: Any, key: Any) -> bool:
        """A key no row can have because the column cannot hold it: the ORM answers such a
        lookup with no rows (IntegerFieldOverflow); SQLite's driver would raise instead."""
        if not isinstance(key, int):
            return False
        try:
            low, high = db.ops.integer_field_range(self.model._meta.pk.get_internal_type())
        except KeyError:  # not an integer key
            return False
        return (low is not None and key < low) or (high is not None and key > high)

    def __call__(self, pk: Any) -> M | None:
        """The instance, or None when no row has this key."""
        if self._built is None:
            with self._lock:
                self._built = self._built or self._build()
        sql, parts = self._built
        db = connections[DEFAULT_DB_ALIAS]
        key = self.model._meta.pk.get_db_prep_value(pk, db, prepared=False)
        if self._out_of_range(db, key):
            return None
        with db.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            return None
        converters = self._converters_for(db, parts)
        instances: list[Model | None] = []
        start = 0
        for part, part_converters in zip(parts, converters, strict=True):
            values = list(row[start : start + len(part.fields)])
            start += len(part.fields)
            for index, chain in enumerate(part_converters):
                for convert in chain:
                    values[index] = convert(values[index], part.cols[index], db)
            if part.via is not None and values[part.pk_index] is None:
                instances.append(None)  # a null foreign key: nothing joined
                continue
            instances.append(part.model.from_db(db.alias, part.attnames, values))
        main = instances[0]
        for part, instance in zip(parts[1:], instances[1:], strict=True):
            # As select_related leaves it: `main.<fk>` is read without a query.
            part.via.set_cached_value(main, instance)  # type: ignore[union-attr]
        return main  # type: ignore[return-value]
