"""The installed distribution's metadata links to the project, as PyPI and Airflow show it."""

from __future__ import annotations

import importlib.metadata
from urllib.parse import urlparse

import pytest
from dag_helpers import REPO_ROOT

LABELS = ("Homepage", "Documentation", "Source", "Issues", "Changelog")


def _project_urls() -> dict[str, str]:
    metadata = importlib.metadata.metadata("airflow-provider-workmagic")
    pairs = (entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    return {label: url for label, url in pairs}


@pytest.mark.parametrize("label", LABELS)
def test_metadata_has_an_https_project_url(label: str) -> None:
    url = urlparse(_project_urls().get(label, ""))
    assert url.scheme == "https" and url.netloc, f"no https Project-URL {label!r}"


def test_the_documentation_url_is_the_docs_sites_address() -> None:
    mkdocs = (REPO_ROOT / "mkdocs.yml").read_text()
    assert f"site_url: {_project_urls()['Documentation']}" in mkdocs.splitlines()


def test_the_changelog_url_names_the_repositorys_changelog() -> None:
    changelog = _project_urls()["Changelog"]
    assert changelog.startswith(_project_urls()["Source"])
    assert (REPO_ROOT / changelog.rsplit("/", 1)[1]).is_file()
