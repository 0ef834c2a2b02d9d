"""What the SPARQL endpoint checks before it runs a query: the operation's kind, ``SERVICE`` targets, and the
time and size budget while the answer is written."""

from __future__ import annotations

import re
import time
from collections.abc import Collection

__all__ = ["Budget", "BudgetExceeded", "QueryRefused", "check_operation", "strip_literals"]

# Comments, strings (long ones first) and IRIs: removed before looking for keywords, so that text inside
# them (a label that says "service", an IRI ending in /SERVICE) is not mistaken for one.
_NOISE = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
                    r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*'" r"|#[^\n]*")
_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_SERVICE = re.compile(r"(?<![\w?$:])SERVICE\s+(?:SILENT\s+)?(<[^>]*>|\S+)", re.IGNORECASE)
_UPDATE = re.compile(r"(?<![\w?$:])(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)(?![\w:])", re.IGNORECASE)


class QueryRefused(ValueError):
    """The endpoint will not run this operation (HTTP 400 or 403)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BudgetExceeded(RuntimeError):
    """The answer outgrew its size limit or its time (raised from ``Budget.write``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def strip_literals(text: str) -> str:
    """``text`` with comments and string literals blanked (IRIs kept)."""
    return _NOISE.sub(lambda m: '""' if m.group(0)[0] in "\"'" else "", text)


def check_operation(text: str, *, update: bool, allowed_services: Collection[str] = ()) -> None:
    """Refuses a ``SERVICE`` to any endpoint not in ``allowed_services`` (the store would fetch it: a
    way to make the server call arbitrary hosts), and a query that is an update or an update that is
    not one (the protocol keeps them apart)."""
    code = strip_literals(text)
    for target in _SERVICE.findall(code):
        iri = target[1:-1] if target.startswith("<") else None
        if iri is None or iri not in allowed_services:
            allowed = f" (allowed: {', '.join(sorted(allowed_services))})" if allowed_services else ""
            raise QueryRefused(f"SERVICE {target} refused: this endpoint does not federate to other hosts{allowed}")
    keywords = _UPDATE.findall(_IRI.sub("<>", code))
    if not update and keywords:
        raise QueryRefused(f"{keywords[0].upper()} is an update: send it as `update`, with the update token")


class Budget:
    """A write-only buffer that stops a query once its answer passes ``max_bytes`` or ``deadline``
    (``time.monotonic()``): Oxigraph writes answers in chunks as it evaluates, so raising here ends
    the evaluation too. Work done before the first chunk (a big ORDER BY) cannot be stopped this way."""

    def __init__(self, max_bytes: int, deadline: float, timeout_s: float) -> None:
        self.max_bytes, self.deadline, self.timeout_s = max_bytes, deadline, timeout_s
        self.parts: list[bytes] = []
        self.size = 0
        self.stopped: BudgetExceeded | None = None

    def write(self, data: bytes) -> int:
        if time.monotonic() > self.deadline:
            self.stopped = BudgetExceeded(f"the query ran past the {self.timeout_s:g} s timeout", 503)
        elif self.size + len(data) > self.max_bytes:
            self.stopped = BudgetExceeded(f"the answer is larger than the {self.max_bytes:,} bytes this endpoint "
                                          "returns; add a LIMIT or page with OFFSET", 413)
        if self.stopped is not None:
            raise self.stopped
        self.size += len(data)
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing buffered below this object."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)
