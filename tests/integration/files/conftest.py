"""Fixtures of the file-import tests: a landing folder with Variables pointing at it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "files"
PREFIX = "account-121226/order-geo-date-data/"


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``landing(hour, *files)``: copy corpus files (or write bytes) into the hour's folder."""
    root = tmp_path / "landing"
    root.mkdir()
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_LANDING_ROOT", str(root))
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_REJECTED_ROOT", str(tmp_path / "rejected"))
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_IMPORT_MANIFEST", str(tmp_path / "manifest.json"))
    monkeypatch.setenv("AIRFLOW_VAR_WORKMAGIC_SINGLE_MACHINE", "true")  # local state paths

    def put(hour: Any, *files: str | tuple[str, bytes]) -> Path:
        folder = root / f"{hour:%Y/%m/%d/%H}"
        folder.mkdir(parents=True, exist_ok=True)
        for item in files:
            if isinstance(item, tuple):
                (folder / item[0]).write_bytes(item[1])
            else:
                shutil.copy(DATA / item, folder / item)
        return folder

    return put


@pytest.fixture
def parts(clean_sandbox: Any) -> Callable[[Any], dict[str, list[dict[str, Any]]]]:
    """``parts(hour)``: the rows of every part in WorkMagic's S3 hour folder, by part name."""
    import gzip
    import json

    def read(hour: Any) -> dict[str, list[dict[str, Any]]]:
        client = clean_sandbox.aws.admin_client()
        found = {}
        for key in clean_sandbox.aws.list_keys(f"{PREFIX}{hour:%Y/%m/%d/%H}/"):
            body = client.get_object(Bucket=clean_sandbox.bucket, Key=key)["Body"].read()
            lines = gzip.decompress(body).splitlines()
            found[key.rsplit("/", 1)[1]] = [json.loads(line) for line in lines]
        return found

    return read
