"""``/api/runs``: pipeline runs started over REST (with the update token), and every run in the catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ...errors import InputError
from ...queries import load_query
from ...vocab import local_id
from ..errors import NotFound, Unprocessable
from ..jobs import RunSpec
from ..state import StateDep, has_token, require_token

__all__ = ["router", "RunRequest", "get_run", "list_runs", "start_run"]

router = APIRouter()


class RunRequest(BaseModel):
    """``POST /api/runs``: the built-in demo, or a dataset and a dump under the server's data directory."""

    model_config = ConfigDict(extra="forbid")
    demo: bool = False
    data: str | None = Field(None, description="Dataset file or directory, relative to the server's --data-dir.")
    kg: str | None = Field(None, description="Wikidata dump, relative to the server's --data-dir.")
    model: str = Field("cnn", pattern="^(cnn|bilstm|lstm|gru)$")
    method: str = Field("shap", pattern="^(shap|gradient-shap|ig|deeplift|lrp|reat)$")
    preset: str = Field("default", pattern="^(default|paper)$")
    epochs: int | None = Field(None, ge=1, le=200)
    max_tokens: int | None = Field(None, ge=1, le=5000)


@router.post("/api/runs", status_code=202, summary="Start a pipeline run in the background (needs the update token)")
def start_run(request: Request, body: RunRequest, state: StateDep) -> JSONResponse:
    require_token(request, state.config)
    try:
        job = state.runner.submit(RunSpec(**body.model_dump()))
    except InputError as exc:
        raise Unprocessable(str(exc), title="Invalid run") from None
    return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/api/runs/{job.id}"})


@router.get("/api/runs", summary="Runs started here, and every run recorded in the store's catalog")
def list_runs(request: Request, state: StateDep) -> dict[str, Any]:
    catalog = state.store.select(load_query("catalog/runs"), catalog=state.minter.catalog_graph())
    recorded = [
        {
            "run": local_id(run),
            "kind": local_id(kind),
            "dataset": local_id(dataset),
            "status": status,
            "graph": graph,
            "started": started,
            "ended": ended,
        }
        for run, kind, dataset, status, graph, started, ended in (
            catalog.select("run", "kind", "dataset", "status", "graph", "started", "ended").iter_rows()
            if catalog.height
            else []
        )
    ]
    shown = has_token(request, state.config)
    return {
        "jobs": [job.as_dict(show_error=shown) for job in reversed(list(state.runner.jobs.values()))],
        "recorded": recorded,
    }


@router.get("/api/runs/{job_id}", summary="One run started here: status, stage, progress, result")
def get_run(job_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    job = state.runner.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no run {job_id} was started on this server; see /api/runs", title="No such run")
    return job.as_dict(show_error=has_token(request, state.config))
