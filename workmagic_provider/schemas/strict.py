"""Input that a JSON parser would change in silence: non-finite numbers and repeated keys.

``NaN``, ``Infinity`` and numbers too large for a float (``1e400``) have no JSON form, and a
key given twice in one object keeps only one of its values. Either would change a row's data
on its way to WorkMagic, so each is that row's error, naming the field.

The check runs on every valid row, so it starts with what costs almost nothing: the models
drop null values from their output, so a ``null`` there is a non-finite number (or a null in
a list), and a repeated key makes the input hold more ``":`` pairs than the output. Only a row
where one of these tests fires is parsed again, with Python's ``json`` keeping every pair, to
find the field. The count can only miss a repeated key in a row that also writes another key
unusually (``"key" :`` with a space before the colon, or a ``\\u0022`` before a colon inside
a string, exactly as many times as keys repeat); no common JSON writer does either.
"""

from __future__ import annotations

import json
from typing import Any


class _Pairs(list):  # type: ignore[type-arg]
    """An object's ``(key, value)`` pairs in input order, repeats kept."""


class _NonFinite(str):
    """A number with no JSON form, as written in the input."""


def _float(text: str) -> Any:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _NonFinite(text)
    return value


def changed_value(raw: bytes | str, out: bytes) -> tuple[str, str] | None:
    """``(field, reason)`` if validating ``raw`` into ``out`` would lose data, else ``None``."""
    if b"null" not in out:
        if isinstance(raw, str):
            if raw.count('":') == out.count(b'":'):
                return None
        elif raw.count(b'":') == out.count(b'":'):
            return None
    return find_changed_value(raw)


def find_changed_value(raw: bytes | str) -> tuple[str, str] | None:
    """The first repeated key or non-finite number of a JSON text, by its dotted path."""
    try:
        value = json.loads(
            raw, object_pairs_hook=_Pairs, parse_constant=_NonFinite, parse_float=_float
        )
    except (ValueError, RecursionError):
        return None  # not JSON, or nested too deeply: validation reports those itself
    try:
        return _walk(value, "")
    except RecursionError:
        return None


def _walk(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, _NonFinite):
        return path or "<row>", f"{value} is not a finite number; JSON has no form for it"
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for key, item in value:
            where = f"{path}.{key}" if path else key
            if key in seen:
                return where, "the key is given twice in one object; which value is meant?"
            seen.add(key)
            found = _walk(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None
