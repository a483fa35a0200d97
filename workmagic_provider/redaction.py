"""Keeping secrets out of messages: the one place that replaces a secret by ``***``.

Imports nothing heavy (the CLI uses it without Airflow).
"""

from __future__ import annotations

from collections.abc import Iterable

#: What a secret becomes in a message (Airflow's masker prints the same).
MASK = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every occurrence of every (non-empty) secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def shown(value: object, secrets: Iterable[str | None]) -> str:
    """``repr`` of a bad value for an error message, unless it carries a secret."""
    text = repr(value)
    return "<value not shown: it contains a secret>" if redact(text, secrets) != text else text
