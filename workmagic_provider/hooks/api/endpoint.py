"""One WorkMagic API: where it is, how it authenticates, which field is the order id.

The hook (:meth:`WorkMagicHook.api_endpoint`) builds endpoints from the connection; this module
knows nothing about connections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workmagic_provider.exceptions import WorkMagicConfigError

ENRICH_PATH = "/enrich/orders"
ORDERS_PATH = "/api/orders"


@dataclass(frozen=True)
class ApiEndpoint:
    """One WorkMagic API endpoint (the key is kept out of ``repr``).

    :param key_hint: what to check when the key is refused (shown in the 401/403 error).
    """

    name: str
    base_url: str
    path: str
    auth_header: str
    auth_value: str = field(repr=False)
    id_field: str
    conn_id: str = "workmagic_default"
    key_hint: str = ""

    def __post_init__(self) -> None:
        # httpx encodes headers as ASCII; a pasted key with a stray character would otherwise
        # fail in the first request with a UnicodeEncodeError that carries the whole header
        if not all(" " <= ch <= "~" for ch in self.auth_value):
            raise WorkMagicConfigError(
                f"connection {self.conn_id!r}: the {self.name} key holds characters an HTTP "
                "header cannot carry (non-ASCII, a line break or a control character); copy it "
                "again from WorkMagic's UI"
            )

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + self.path

    @property
    def secret(self) -> str:
        """The bare key (what redaction removes from any text)."""
        return self.auth_value.removeprefix("Bearer ")

    @property
    def readable(self) -> bool:
        """Whether sent orders can be read back (only the Enrich API has a GET)."""
        return self.path == ENRICH_PATH


__all__ = ["ENRICH_PATH", "ORDERS_PATH", "ApiEndpoint"]
