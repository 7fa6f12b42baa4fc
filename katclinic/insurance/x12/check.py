"""Validation of a whole X12 file against its implementation guide with pyx12, the maintained
open-source X12 validator (https://github.com/azoner/pyx12), which carries the 5010 maps of
837P (005010X222A1) and 835 (005010X221A1)."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import pyx12.error_handler
import pyx12.params
import pyx12.x12n_document


@dataclass(frozen=True)
class Validation:
    ok: bool
    errors: tuple[str, ...]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # pyx12 writes acknowledgements only for some transactions; that is not a file error.
        if not message.startswith("Failed to create 999"):
            self.messages.append(message)


def validate(text: str) -> Validation:
    """Check `text` with pyx12; `errors` holds the validator's messages when it fails."""
    params = pyx12.params.params()
    collector = _Collector()
    logger = logging.getLogger("pyx12")
    logger.addHandler(collector)
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=params,
            src_file=io.StringIO(text),
            fd_997=io.StringIO(),
            fd_html=None,
            fd_xmldoc=None,
        )
    finally:
        logger.removeHandler(collector)
    return Validation(ok=bool(ok), errors=tuple(collector.messages))
