"""Our code uses the amazon provider's hooks through their public API only.

Private attributes (``_region_name``, ``_verify``, ``_config``, ...) change between amazon
releases without notice. The private names are read from the installed provider itself, so a
new one is covered the day it appears.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workmagic_provider"
AMAZON_HOOK_BASES = {"S3Hook", "AwsBaseHook", "AwsGenericHook"}


def amazon_private_names() -> set[str]:
    """Single-underscore attributes of an ``S3Hook`` and its amazon base classes."""
    pytest.importorskip("airflow.providers.amazon")
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    names = set(vars(S3Hook(aws_conn_id=None)))
    for cls in S3Hook.__mro__:
        if cls.__module__.startswith("airflow.providers.amazon"):
            names |= set(vars(cls))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _class_bases(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}


def private_accesses(source: str, private: set[str]) -> list[tuple[int, str]]:
    """Lines that touch an amazon-private name on an amazon hook (or on anything not ours)."""
    tree = ast.parse(source)
    own: set[str] = set()  # names our own (non-amazon) classes assign on self
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if _class_bases(cls) & AMAZON_HOOK_BASES:
            continue
        for node in ast.walk(cls):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    own.add(target.attr)
    found: list[tuple[int, str]] = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if _class_bases(cls) & AMAZON_HOOK_BASES:  # inside a subclass: every private counts
            found += [
                (n.lineno, n.attr)
                for n in ast.walk(cls)
                if isinstance(n, ast.Attribute) and n.attr in private
            ]
    found += [
        (n.lineno, n.attr)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr in private and n.attr not in own
    ]
    return sorted(set(found))


def test_the_walk_knows_the_private_attributes_at_stake():
    assert {"_region_name", "_verify", "_config"} <= amazon_private_names()


def test_the_walk_finds_a_private_access_in_a_hook_subclass():
    source = (
        "class H(S3Hook):\n"
        "    def f(self):\n"
        "        return self._region_name\n"
        "class Mine:\n"
        "    def __init__(self):\n"
        "        self._client = 1\n"
        "    def g(self):\n"
        "        return self._client\n"
    )
    assert private_accesses(source, amazon_private_names()) == [(3, "_region_name")]


def test_no_module_of_ours_touches_amazon_hook_private_attributes():
    private = amazon_private_names()
    offenders = {
        str(path.relative_to(PACKAGE.parent)): hits
        for path in PACKAGE.rglob("*.py")
        if (hits := private_accesses(path.read_text(), private))
    }
    assert offenders == {}
