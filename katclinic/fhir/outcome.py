"""OperationOutcome: how the facade says what went wrong, with the failing element's path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One problem; ``expression`` is the FHIRPath of the failing element ("" when none)."""

    message: str
    expression: str = ""
    code: str = "invalid"  # an IssueType code: invalid, required, value, not-found, ...
    severity: str = "error"

    def under(self, prefix: str) -> Issue:
        """The same issue with its path placed below ``prefix`` (e.g. a Bundle entry)."""
        return Issue(self.message, _join(prefix, self.expression), self.code, self.severity)


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}.{path}" if not path.startswith("[") else prefix + path


class InvalidResource(ValueError):
    """A resource that cannot be stored; carries every issue found, not just the first."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.message}" for i in issues))
        self.issues = list(issues)


class FhirError(Exception):
    """An error answered as an OperationOutcome with ``status``."""

    def __init__(self, status: int, issues: Iterable[Issue]) -> None:
        self.status = status
        self.issues = list(issues)
        super().__init__("; ".join(issue.message for issue in self.issues))

    @classmethod
    def simple(cls, status: int, message: str, code: str, expression: str = "") -> FhirError:
        return cls(status, [Issue(message, expression, code)])


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An R4 OperationOutcome resource listing ``issues``."""
    out = []
    for issue in issues:
        entry: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.message,
        }
        if issue.expression:
            entry["expression"] = [issue.expression]
        out.append(entry)
    if not out:
        out.append({"severity": "information", "code": "informational", "diagnostics": "OK"})
    return {"resourceType": "OperationOutcome", "issue": out}
