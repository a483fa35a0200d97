"""Streaming validation: rows in, valid rows out as compact JSON, errors into a report.

The hot path stays in pydantic-core: each line is validated straight from its bytes and written
back with the serializer (for the custom-site order through the model's typed-dict twin, see
:mod:`workmagic_provider.schemas.fastpath`); Python only looks at a row when it fails, to turn
the model's errors into :class:`RowError` lines. Output is deterministic (declared fields in
schema order, then pass-through fields in input order; fields that are absent or null are not
written), so validating the output again returns it byte for byte.
"""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from workmagic_provider.schemas.fastpath import RowCodec, codec_for
from workmagic_provider.schemas.options import SchemaOptions, config_error, unknown_fields_of
from workmagic_provider.schemas.report import ROW, ValidationReport, brief
from workmagic_provider.schemas.strict import changed_value

SCHEMA_NAMES: tuple[str, ...] = ("custom-site", "imported", "enrich")

_DEFAULT_OPTIONS = SchemaOptions()
_ROOT_NOT_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})


def get_model(name: str, options: SchemaOptions | None = None) -> type[BaseModel]:
    """The pydantic model of schema ``name`` under ``options`` (built once, then cached)."""
    if options is None:
        options = _DEFAULT_OPTIONS
    elif not isinstance(options, SchemaOptions):
        raise config_error(f"options must be a SchemaOptions, got {type(options).__name__}")
    # each schema's module is imported when first used: a run builds only the model it needs
    if name == "custom-site":
        from workmagic_provider.schemas.custom_site import build_custom_site_model

        return build_custom_site_model(unknown_fields_of(options, "allow"), options.max_count)
    if name == "enrich":
        from workmagic_provider.schemas.enrich import build_enrich_model

        return build_enrich_model(unknown_fields_of(options, "reject"))
    if name == "imported":
        from workmagic_provider.schemas.imported import build_imported_model

        # only the options this schema reads go into the cache key
        return build_imported_model(
            SchemaOptions(
                unknown_fields=unknown_fields_of(options, "reject"),
                week_start=options.week_start,
                extra_geo_types=options.extra_geo_types,
                extra_date_types=options.extra_date_types,
                max_count=options.max_count,
            )
        )
    raise config_error(f"unknown schema {name!r}; valid names: {', '.join(SCHEMA_NAMES)}")


#: Schemas validated through a typed-dict twin of their model (the high-volume one).
_TWINNED = frozenset({"custom-site"})


def get_codec(name: str, options: SchemaOptions | None = None) -> RowCodec:
    """How rows of schema ``name`` are validated and written (cached per model)."""
    return _codec(get_model(name, options), name in _TWINNED)


@cache
def _codec(model: type[BaseModel], twin: bool) -> RowCodec:
    if twin:
        return codec_for(model)
    validator = model.__pydantic_validator__
    return RowCodec(model, validator.validate_json, model.__pydantic_serializer__.to_json, None)


#: Receives each rejected row: its row number and its raw input line.
RejectedConsumer = Callable[[int, Any], None]


def validate_json_lines(
    lines: Iterable[tuple[int, bytes | str]],
    schema: str,
    *,
    report: ValidationReport,
    options: SchemaOptions | None = None,
    rejected: RejectedConsumer | None = None,
) -> Iterator[bytes]:
    """Validate ``(row number, JSON object bytes)`` pairs; yield each valid row as compact JSON.

    Invalid rows (including lines that are not JSON or not an object) go to ``report`` and are
    skipped; valid rows keep flowing in input order. ``rejected(row, raw_line)``, if given, is
    called for each invalid row right after its errors were recorded. Lazy and constant-memory.
    The output bytes carry no newline.
    """
    codec = get_codec(schema, options)  # unknown schema fails here, not at the first row
    return (out for _, out in validate_with(lines, codec, report, rejected, _strict(options)))


def validate_numbered(
    lines: Iterable[tuple[int, bytes | str]],
    schema: str,
    *,
    report: ValidationReport,
    options: SchemaOptions | None = None,
    rejected: RejectedConsumer | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Like :func:`validate_json_lines`, each valid row with its row number: ``(row, JSON)``."""
    codec = get_codec(schema, options)
    return validate_with(lines, codec, report, rejected, _strict(options))


def validate_records(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    schema: str,
    *,
    report: ValidationReport,
    options: SchemaOptions | None = None,
) -> Iterator[bytes]:
    """Like :func:`validate_json_lines` for rows that are already Python mappings.

    Each record is first written as JSON (datetimes and dates in ISO-8601, ``Decimal`` as a
    number, UUIDs as strings), so rows from CSV, Excel or a database cursor follow exactly the
    same rules and produce exactly the same output as JSON Lines.
    """
    codec = get_codec(schema, options)
    lines = records_as_json_lines(records, report)
    return (out for _, out in validate_with(lines, codec, report, None, _strict(options)))


def _strict(options: SchemaOptions | None) -> bool:
    return options is None or not isinstance(options, SchemaOptions) or options.strict_json


def validate_with(
    lines: Iterable[tuple[int, bytes | str]],
    codec: RowCodec,
    report: ValidationReport,
    rejected: RejectedConsumer | None,
    strict: bool = True,
) -> Iterator[tuple[int, bytes]]:
    """Validate ``(row, raw)`` pairs with ``codec``: the one loop every validation runs."""
    validate, dump, model = codec.validate, codec.dump, codec.model
    check = changed_value if strict else None
    for row, raw in lines:
        try:
            out = dump(validate(raw), exclude_none=True)
        except ValidationError as error:
            try:
                out = codec.recheck(raw, error)
            except ValidationError as err:
                record_errors(report, row, err, model, raw)
                if rejected is not None:
                    rejected(row, raw)
                continue
        changed = check(raw, out) if check is not None else None
        if changed is not None:
            report.add(row, *changed)
            if rejected is not None:
                rejected(row, raw)
            continue
        report.rows_valid += 1
        yield row, out


def records_as_json_lines(
    records: Iterable[tuple[int, Mapping[str, Any]]], report: ValidationReport
) -> Iterator[tuple[int, str]]:
    """Numbered mappings as JSON lines (dates ISO-8601, Decimal as numbers), for the pipeline.

    A record that is not a mapping or has no JSON form is reported as a row error, not dropped.
    """
    dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    for row, record in records:
        if not isinstance(record, Mapping):
            report.add(row, ROW, f"expected a JSON object, got {type(record).__name__}")
            continue
        try:
            text = dumps(record if isinstance(record, dict) else dict(record))
        except (TypeError, ValueError) as err:
            report.add(row, ROW, f"not JSON-serialisable: {err}")
            continue
        yield row, text


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)  # NaN/inf become NaN/Infinity, which validation then refuses
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a value of type {type(value).__name__} has no JSON form")


def record_errors(
    report: ValidationReport,
    row: int,
    error: ValidationError,
    model: type[BaseModel],
    raw: bytes | str | None = None,
) -> None:
    """Add the errors of one failed row to ``report`` as ``RowError`` lines."""
    for item in error.errors(include_url=False, include_context=False):
        loc = item["loc"]
        kind = item["type"]
        value = item.get("input")
        if not loc and kind == "json_invalid":
            reason = item["msg"].removeprefix("Invalid JSON: ")
            report.add(row, ROW, f"not valid JSON: {reason}", None if raw is None else brief(raw))
            continue
        if not loc and kind in _ROOT_NOT_OBJECT:
            report.add(row, ROW, f"expected a JSON object, got {_json_type(value)}", brief(value))
            continue
        path = ".".join(str(part) for part in loc) or ROW
        if kind == "missing":
            report.add(row, path, "field required")
        elif kind == "extra_forbidden":
            report.add(row, path, _unknown_field_reason(model, loc), brief(value))
        else:
            report.add(row, path, item["msg"], brief(value))


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _unknown_field_reason(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    name = str(loc[-1])
    known = _model_at(model, loc[:-1])
    reason = f"unknown field {name!r}"
    if known is not None:
        close = difflib.get_close_matches(name, list(known.model_fields), n=1)
        if close:
            reason += f"; did you mean {close[0]!r}?"
    return reason


def _model_at(model: type[BaseModel], path: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The (nested) model an error path points into, for suggesting its field names."""
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # a list index: the item model was already selected
        info = current.model_fields.get(part)
        current = _find_model(info.annotation) if info is not None else None
    return current


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None
