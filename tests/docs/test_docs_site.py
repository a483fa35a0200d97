"""The docs site: its connection page lists the form's fields, and a broken link fails the build."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from dag_helpers import REPO_ROOT

from workmagic_provider.get_provider_info import get_provider_info


def _docs_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wm_docs_hook", REPO_ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_connection_page_lists_every_form_field_with_its_label() -> None:
    table = _docs_hook().connection_fields_table()
    (conn_type,) = get_provider_info()["connection-types"]
    for name, field in conn_type["conn-fields"].items():
        assert f"| `{name}` | {field['label']} |" in table, name
    for name, label in conn_type["ui-field-behaviour"]["relabeling"].items():
        assert f"| `{name}` | {label} |" in table, name
    assert "{{ connection_fields }}" in (REPO_ROOT / "docs" / "connection.md").read_text()


def _build(root: Path) -> subprocess.CompletedProcess[str]:
    mkdocs = str(Path(sys.executable).with_name("mkdocs"))
    # not `-q`: quiet mode hides the warnings that strict mode counts, and nothing would fail
    return subprocess.run(
        [mkdocs, "build", "--strict", "-f", str(root / "mkdocs.yml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.integration
def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path)
    shutil.copytree(REPO_ROOT / "docs", tmp_path / "docs")
    # the API reference is what takes time to render, and links are checked without it
    (tmp_path / "docs" / "reference.md").write_text("# API reference\n")
    for page in (tmp_path / "docs").rglob("*.md"):
        text = page.read_text()
        page.write_text(text.replace("][workmagic_provider.", "](https://example.invalid/#"))
    index = tmp_path / "docs" / "index.md"
    good = _build(tmp_path)
    assert good.returncode == 0, good.stderr[-3000:]

    index.write_text(index.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    broken = _build(tmp_path)
    assert broken.returncode != 0
    assert "no-such-page.md" in broken.stderr
