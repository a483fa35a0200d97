"""OpenLineage for every WorkMagic operator: what a run read, and what it wrote.

The openlineage provider asks an operator for ``get_openlineage_facets_on_complete`` after the
task succeeded. :class:`LineageMixin` answers from what ``execute`` returned (the XCom summary:
the hour folder it wrote, the endpoint it posted to, the files it read) plus the task's rendered
fields, so lineage names what the run did instead of planning the run a second time. Each
operator only says how its summary maps to datasets (``lineage_datasets``).

Names follow OpenLineage's naming conventions, as the official providers use them: an object
store is namespace ``s3://bucket`` / ``gs://bucket`` with the key (a folder without its trailing
``/``) as name, a local file ``file`` with its path, a table ``{scheme}://{authority}`` with
its qualified name (BigQuery: ``bigquery`` and ``project.dataset.table``), an HTTP endpoint
``https://host`` with its path. The provider is optional: nothing here imports it until it asks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

#: characters that start a glob: the dataset is the folder before them
_GLOB = "*?["


class LineageDataset(NamedTuple):
    """An OpenLineage dataset identifier (the provider's ``Dataset`` is built from it)."""

    namespace: str
    name: str


Datasets = tuple[list[LineageDataset], list[LineageDataset]]


def uri_dataset(uri: Any) -> LineageDataset:
    """``s3://b/k/`` -> (``s3://b``, ``k``); ``https://h/p`` -> (``https://h``, ``/p``); a local
    path -> (``file``, its absolute path). A glob names the folder it lists."""
    import os

    text = str(uri)
    for char in _GLOB:
        if char in text:
            text = text.split(char, 1)[0].rsplit("/", 1)[0] + "/"
    parts = urlsplit(text)
    if parts.scheme in ("", "file"):
        return LineageDataset("file", os.path.abspath(parts.path or text))
    host = parts.netloc.rsplit("@", 1)[-1]  # ``s3://conn_id@bucket/...`` (ObjectStoragePath)
    if parts.scheme in ("s3", "s3a", "gs", "gcs"):
        scheme = "gs" if parts.scheme == "gcs" else parts.scheme.removesuffix("a")
        return LineageDataset(f"{scheme}://{host}", parts.path.strip("/") or "/")
    return LineageDataset(f"{parts.scheme}://{host}", parts.path.rstrip("/") or "/")


def uri_datasets(uris: Iterable[Any]) -> list[LineageDataset]:
    return [uri_dataset(uri) for uri in uris if uri]


def sql_tables(sql: str, dialect: str | None) -> list[list[str]]:
    """The tables a query reads, sorted, each as its name parts (``[db, schema, table]``).

    CTE names are not tables; a query sqlglot cannot parse reads no table we can name.
    """
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect or None) if t is not None]
    except sqlglot.errors.ParseError:
        return []
    found: dict[tuple[str, ...], None] = {}
    for tree in trees:
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if not table.name or table.name in ctes:
                continue
            parts = tuple(p for p in (table.catalog, table.db, table.name) if p)
            found[parts] = None
    return [list(parts) for parts in sorted(found)]


def table_datasets(
    namespace: str,
    *,
    table: str | None,
    sql: str | None,
    dialect: str | None,
    defaults: tuple[str | None, ...] = (),
    upper: bool = False,
) -> list[LineageDataset]:
    """Datasets of a source given as ``table`` or as a ``sql`` SELECT, named fully qualified.

    ``defaults`` are the leading parts of a full name (``(database, schema)``, BigQuery's
    ``(project, None)``) that a shorter name takes, ``None`` where there is no default.
    """
    tables = [table.replace("`", "").split(".")] if table else sql_tables(sql or "", dialect)
    out = []
    for parts in tables:
        missing = len(defaults) + 1 - len(parts)
        full = [p for p in defaults[: max(missing, 0)] if p] + parts
        name = ".".join(full)
        out.append(LineageDataset(namespace, name.upper() if upper else name))
    return sorted(set(out))


def sql_connection_datasets(conn_id: str, sql: str) -> list[LineageDataset]:
    """The tables ``sql`` reads through Airflow connection ``conn_id``.

    The namespace is the one the connection's hook gives OpenLineage (``postgres://host:port``,
    ...); a hook without OpenLineage support is named ``{conn_type}://{host or conn_id}``.
    """
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    hook: Any = None
    try:
        hook = conn.get_hook()
        info = hook.get_openlineage_database_info(conn)
    except Exception:
        info = None
    if info is not None and getattr(info, "authority", None):
        namespace = f"{info.scheme}://{info.authority}"
        dialect = hook.get_openlineage_database_dialect(conn)
        database = getattr(info, "database", None)
        defaults: tuple[str | None, ...] = (database, hook.get_openlineage_default_schema())
    else:
        namespace = f"{conn.conn_type}://{conn.host or conn_id}"
        dialect, defaults = (conn.conn_type if conn.conn_type != "generic" else None), ()
    if dialect == "generic":
        dialect = None
    return table_datasets(namespace, table=None, sql=sql, dialect=dialect, defaults=defaults)


def _unique(datasets: Iterable[LineageDataset]) -> list[LineageDataset]:
    """Each dataset once; a field that was never rendered (``{{ ... }}``) names no dataset."""
    return [d for d in dict.fromkeys(datasets) if "{{" not in d.namespace + d.name]


def _remembering(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        self._lineage_summary = result
        return result

    return run


class LineageMixin:
    """Mixin: OpenLineage input and output datasets from what the run's ``execute`` returned.

    ``execute`` (and ``execute_complete`` of a deferred task) is wrapped to keep its return
    value on the task; when the task object at hand did not run (another process), the summary
    is read from the task instance's XCom instead, and fields only a run renders name nothing.
    """

    _lineage_summary: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("execute", "execute_complete"):
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, _remembering(method))

    def lineage_datasets(self, summary: Mapping[str, Any]) -> Datasets:
        """(inputs, outputs) of a run whose ``execute`` returned ``summary``."""
        return [], []

    def lineage_summary(self, task_instance: Any) -> Mapping[str, Any] | None:
        summary = self._lineage_summary
        if summary is None and task_instance is not None:
            try:
                summary = task_instance.xcom_pull(task_ids=task_instance.task_id)
            except Exception:
                summary = None
        return summary if isinstance(summary, Mapping) else None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The openlineage provider's hook: datasets of what this run read and wrote."""
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        summary = self.lineage_summary(task_instance)
        if summary is None:
            return OperatorLineage()
        inputs, outputs = self.lineage_datasets(summary)
        return OperatorLineage(
            inputs=[Dataset(namespace=d.namespace, name=d.name) for d in _unique(inputs)],
            outputs=[Dataset(namespace=d.namespace, name=d.name) for d in _unique(outputs)],
        )


__all__ = [
    "LineageDataset",
    "LineageMixin",
    "sql_connection_datasets",
    "sql_tables",
    "table_datasets",
    "uri_dataset",
    "uri_datasets",
]
