"""The custom-site hot path (a typed-dict twin of the model) accepts, rejects and writes exactly
like the model: a differential test over valid, coerced, odd and invalid rows."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from workmagic_provider.schemas import SchemaOptions, get_model
from workmagic_provider.schemas.fastpath import codec_for, typed_dict_twin
from workmagic_provider.schemas.validate import get_codec
from workmagic_sandbox.sample_data import custom_site_orders

BASE: dict[str, Any] = {
    "id": "id_1",
    "created_at": "2025-09-22T23:50:25.867Z",
    "updated_at": "2025-09-22T23:50:28+02:00",
    "order_number": 1001,
    "total_price": "214.96",
    "currency": "USD",
    "current_total_tax": 0,
    "discount_codes": [{"code": "A"}],
    "shipping_address": {"zip": "02134", "country_code": "US", "x": 1},
    "line_items": [{"id": 5, "price": 1, "quantity": "2", "current_quantity": 2.0}],
    "customer": {"id": "c", "email": None},
    "extensions": {"order_cost_cogs": "1e2", "is_subscription_order": False, "y": [1, {"z": 2}]},
}

# values that exercise coercions and refusals of every field type
ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    "abc",
    "12",
    "1.5",
    "-3",
    "1e3",
    "NaN",
    "Infinity",
    "0x10",
    " 7 ",
    0,
    -1,
    1.5,
    2.0,
    10**20,
    True,
    False,
    [],
    [1],
    {},
    {"a": 1},
    "US",
    "us",
    "USD",
    "2025-09-22",
    "2025-09-22T23:50:25",
    "2025-09-22T23:50:25Z",
    "2025-09-22 23:50:25+05:30",
    "2025-13-45T00:00:00Z",
    "1758585025",
    1758585025,
    "ünïcödé",
]

PATHS: list[tuple[str, ...]] = [
    ("id",),
    ("created_at",),
    ("updated_at",),
    ("order_number",),
    ("browser_ip",),
    ("total_price",),
    ("currency",),
    ("current_total_tax",),
    ("discount_codes",),
    ("discount_codes", "0"),
    ("discount_codes", "0", "code"),
    ("shipping_address",),
    ("shipping_address", "country_code"),
    ("shipping_address", "zip"),
    ("line_items",),
    ("line_items", "0"),
    ("line_items", "0", "id"),
    ("line_items", "0", "price"),
    ("line_items", "0", "quantity"),
    ("customer",),
    ("customer", "id"),
    ("extensions",),
    ("extensions", "order_refund_product_count"),
    ("extensions", "is_subscription_order"),
    ("unknown_top",),
    ("extensions", "unknown_nested"),
]

RAW_ROWS: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b"12",
    b"{}",
    b'{"id": "x"}',
    b'{"id": "a", "id": "b", "created_at": "2025-01-01T00:00:00Z",'
    b' "updated_at": "2025-01-01T00:00:00Z", "total_price": 1}',
    b'{"z_extra": 1, "id": "a", "created_at": "2025-01-01T00:00:00Z", "a_extra": null,'
    b' "updated_at": "2025-01-01T00:00:00Z", "total_price": 1, "m": {"n": [null, 1.0]}}',
    b'\xff{"id": 1}',
]


def with_value(row: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """``row`` with the value at ``path`` replaced (unchanged if the path no longer exists)."""
    row = copy.deepcopy(row)
    target: Any = row
    for key in path[:-1]:
        if isinstance(target, list) and target:
            target = target[int(key)]
        elif isinstance(target, dict) and key in target:
            target = target[key]
        else:
            return row
    last = path[-1]
    if isinstance(target, list) and target:
        target[int(last)] = value
    elif isinstance(target, dict):
        target[last] = value
    return row


def model_result(model: type[BaseModel], raw: bytes) -> tuple[str, Any]:
    try:
        obj = model.model_validate_json(raw)
    except ValidationError as err:
        return "error", err.errors(include_url=False)
    return "ok", obj.model_dump_json(exclude_none=True).encode()


def codec_result(schema: str, options: SchemaOptions, raw: bytes) -> tuple[str, Any]:
    codec = get_codec(schema, options)
    try:
        out = codec.convert(raw)
    except ValidationError as err:
        return "error", err.errors(include_url=False)
    return "ok", out


def cases() -> list[bytes]:
    rows = [json.dumps(o).encode() for o in custom_site_orders(200)]
    rows.append(json.dumps(BASE).encode())
    for path in PATHS:
        for value in ODD_VALUES:
            rows.append(json.dumps(with_value(BASE, path, value)).encode())
    for key in list(BASE):  # every field missing in turn
        rows.append(json.dumps({k: v for k, v in BASE.items() if k != key}).encode())
    rng = random.Random(11)
    for _ in range(400):  # several odd values at once
        row = BASE
        for _ in range(rng.randint(2, 5)):
            row = with_value(row, rng.choice(PATHS), rng.choice(ODD_VALUES))
        rows.append(json.dumps(row).encode())
    return rows + RAW_ROWS


CASES = cases()


@pytest.mark.parametrize("unknown", ["allow", "reject", "ignore"])
def test_twin_and_model_agree_on_every_row(unknown: str) -> None:
    options = SchemaOptions(unknown_fields=unknown)  # type: ignore[arg-type]
    model = get_model("custom-site", options)
    accepted = rejected = 0
    for raw in CASES:
        expected = model_result(model, raw)
        assert codec_result("custom-site", options, raw) == expected, raw
        if expected[0] == "ok":
            accepted += 1
        else:
            rejected += 1
    assert accepted > 200 and rejected > 200  # both sides of the fence are exercised


def test_the_twin_itself_agrees_with_the_model() -> None:
    """Not only through the re-check: the twin alone accepts exactly what the model accepts."""
    model = get_model("custom-site")
    codec = get_codec("custom-site")
    assert codec.check is not None  # the hot path really is the twin
    for raw in CASES:
        try:
            fast: Any = codec.dump(codec.validate(raw), exclude_none=True)
        except ValidationError:
            fast = "error"
        slow = model_result(model, raw)
        assert fast == (slow[1] if slow[0] == "ok" else "error"), raw


def test_twin_keeps_field_order_and_optionality() -> None:
    model = get_model("custom-site")
    twin = typed_dict_twin(model, {})
    assert list(twin.__annotations__) == list(model.model_fields)
    assert twin.__required_keys__ == {"id", "created_at", "updated_at", "total_price"}


def test_models_a_twin_cannot_mirror_keep_the_model_as_hot_path() -> None:
    class WithValidator(BaseModel):
        a: int

        @field_validator("a")
        @classmethod
        def _double(cls, value: int) -> int:
            return value * 2

    class WithDefault(BaseModel):
        a: int = 3

    class WithAlias(BaseModel):
        a: int = Field(alias="b")

    for model in (WithValidator, WithDefault, WithAlias):
        codec = codec_for(model)
        assert codec.check is None
        assert codec.validate == model.__pydantic_validator__.validate_json

    codec = codec_for(WithValidator)
    assert codec.convert(b'{"a": 2}') == b'{"a":4}'


def test_other_schemas_use_their_model() -> None:
    for name in ("imported", "enrich"):
        assert get_codec(name).check is None
