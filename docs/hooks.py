"""MkDocs hook: the connection page's field table comes from the provider info Airflow reads.

So the page cannot list a field the form lacks, or miss one it has.
"""

from __future__ import annotations

from typing import Any

MARKER = "{{ connection_fields }}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def connection_fields_table() -> str:
    from workmagic_provider.get_provider_info import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    behaviour = conn_type.get("ui-field-behaviour", {})
    rows = ["| field | label in the form | default | what it is |", "|---|---|---|---|"]
    relabeled = behaviour.get("relabeling", {})
    for name, label in relabeled.items():
        hint = behaviour.get("placeholders", {}).get(name, "")
        rows.append(f"| `{name}` | {_cell(label)} | — | {_cell(hint)} |")
    for name, field in conn_type["conn-fields"].items():
        default = field.get("schema", {}).get("default")
        shown = "—" if default is None else f"`{default}`"
        what = _cell(field.get("description", ""))
        rows.append(f"| `{name}` | {_cell(field['label'])} | {shown} | {what} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, connection_fields_table())
    return markdown
