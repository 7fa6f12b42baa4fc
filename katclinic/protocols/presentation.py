"""A protocol laid out for reading: every sourced value with its citation and grade."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from katclinic.protocols.schema import Protocol, Source

SOURCE_FIELDS = ("source", "integration_window_source")


@dataclass(frozen=True)
class SourcedRow:
    path: str
    values: str
    source: Source
    unverified: bool


def _values(node: dict[str, Any]) -> str:
    parts = []
    for name, value in node.items():
        if name in SOURCE_FIELDS or isinstance(value, dict | list) or value is None:
            continue
        parts.append(f"{name}={value}")
    return ", ".join(parts)


def _walk(node: Any, path: str, out: list[tuple[str, dict[str, Any], str]]) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, f"{path}[{index}]", out)
    elif isinstance(node, dict):
        for field in SOURCE_FIELDS:
            if isinstance(node.get(field), str):
                out.append((path, node, node[field]))
        for name, child in node.items():
            if name != "sources":
                _walk(child, f"{path}.{name}" if path else name, out)


def sourced_rows(protocol: Protocol) -> list[SourcedRow]:
    """One row per sourced part of the protocol, in file order."""
    found: list[tuple[str, dict[str, Any], str]] = []
    _walk(protocol.model_dump(mode="json"), "", found)
    rows = []
    for path, node, key in found:
        source = protocol.source(key)
        unverified = node.get("verified") is False or source.grade in (
            "unverified",
            "clinic_default",
        )
        rows.append(SourcedRow(path, _values(node), source, unverified))
    return rows
