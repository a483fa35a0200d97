"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["zlib", "isal"])
def gzip_codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each compressor the part writer picks: zlib alone, and ISA-L's."""
    from workmagic_provider.files import gzip_codec

    if request.param == "zlib":
        monkeypatch.setattr(gzip_codec, "_isal_zlib", None)  # as without the fast extra
    else:
        assert gzip_codec.isal_available(), "isal (the fast extra) belongs to the dev install"
    return str(request.param)
