"""``/api/health`` and the API documentation pages (``/docs``, ``/redoc``) with their own script hashes."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from ... import __version__
from ...store import EmbeddedStore
from ..security import content_security_policy, script_hash
from ..state import StateDep

__all__ = ["router", "docs", "health", "redoc"]

router = APIRouter()
_CDN = "https://cdn.jsdelivr.net"


@router.get("/api/health", summary="Ready to answer")
def health(state: StateDep) -> dict[str, object]:
    kind = "embedded store" if isinstance(state.store, EmbeddedStore) else "remote SPARQL endpoint"
    return {"status": "ok", "store": kind, "version": __version__, "read_only": state.config.update_token is None}


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    """The framework's documentation page, allowed to run its own inline scripts (by hash) and its CDN files."""
    html = bytes(page.body).decode()
    hashes = [script_hash(s) for s in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)]
    policy = content_security_policy(scripts=[*hashes, _CDN], styles=[_CDN, "https://fonts.googleapis.com"])
    return HTMLResponse(
        html, headers={"content-security-policy": policy.replace("img-src 'self' data:", "img-src 'self' data: https:")}
    )


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return _with_policy(get_swagger_ui_html(openapi_url=request.app.openapi_url, title="kgexplain API"))


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    return _with_policy(get_redoc_html(openapi_url=request.app.openapi_url, title="kgexplain API"))
