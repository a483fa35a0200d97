"""S3/GCS paths as inputs and sidecars: glob matching and the errors a user gets."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from workmagic_provider.exceptions import WorkMagicConfigError
from workmagic_provider.files import object_sources
from workmagic_provider.files.object_sources import StoreObject, _match


@pytest.mark.parametrize(
    ("key", "pattern", "matches"),
    [
        ("in/2026/a.csv", "in/*/a.csv", True),
        ("in/2026/03/a.csv", "in/*/a.csv", False),  # * stays within one folder level
        ("in/2026/03/a.csv", "in/**/a.csv", True),
        ("in/a.csv", "in/**/a.csv", True),  # ** also matches no level
        ("in/a.csv.gz", "in/*.csv", False),
        ("in/b.csv", "in/[ab].csv", True),
    ],
)
def test_glob_matches_per_path_segment(key: str, pattern: str, matches: bool) -> None:
    assert _match(key.split("/"), pattern.split("/")) is matches


def test_access_denied_on_exists_names_the_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    class Denied:
        def metadata(self, key: str) -> Any:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(object_sources, "_store", lambda *args: Denied())
    target = StoreObject("s3", "my_aws", "my-bucket", "state/manifest.json")
    with pytest.raises(WorkMagicConfigError, match="s3:ListBucket") as raised:
        target.exists()
    assert "s3://my-bucket/state/manifest.json" in str(raised.value)
    assert "my_aws" in str(raised.value)
