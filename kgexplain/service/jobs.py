"""Pipeline runs started over REST (``POST /api/runs``): one at a time in a background thread, with their
stage and progress kept for ``GET /api/runs/{id}``. A run writes to the served store exactly as
``kgexplain run`` does: every stage's graph is listed in the catalog only once complete, so readers see
a run's rules all at once or not at all.

A run reads its dataset and dump only from the server's data directory (``kgexplain serve --data-dir``),
by paths relative to it; every other path is refused with one message per field, which says nothing about
what exists on the server. A failed job's reason can quote server files, so ``Job.as_dict`` hides it from
callers without the token."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError, KgExplainError
from ..store import RawTriple, TripleStore

__all__ = ["Job", "JobRunner", "RunSpec"]


@dataclass(frozen=True)
class RunSpec:
    """What to run: the built-in demo, or a dataset (file or directory) and a Wikidata dump, given as paths
    relative to the server's data directory."""

    demo: bool = False
    data: str | None = None
    kg: str | None = None
    model: str = "cnn"
    method: str = "shap"
    preset: str = "default"
    epochs: int | None = None
    max_tokens: int | None = None


@dataclass
class Job:
    id: str
    spec: RunSpec
    status: str = "queued"  # queued, running, completed, failed
    stage: str | None = None
    progress: dict[str, dict[str, int | None]] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    started: str | None = None
    ended: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None

    def as_dict(self, *, show_error: bool = True) -> dict[str, Any]:
        """``show_error=False``: a failed job's reason is kept for token holders (it can quote server files)."""
        error = self.error if show_error or self.error is None else "failed (details for token holders)"
        return {
            "id": self.id,
            "status": self.status,
            "stage": self.stage,
            "progress": self.progress,
            "created": self.created,
            "started": self.started,
            "ended": self.ended,
            "error": error,
            "result": self.result,
            "spec": self.spec.__dict__,
            "url": f"/api/runs/{self.id}",
        }


class JobRunner:
    """Runs jobs one after another (each trains a model: running two at once would only slow both)."""

    def __init__(self, store: TripleStore, work_dir: Path | None, base_iri: str, data_dir: Path | None = None) -> None:
        """``work_dir`` keeps the models of the runs; ``None``: a temporary directory made by the first run
        (and left behind with its models, which the runs' results name). ``data_dir``: where runs may read
        datasets and dumps; ``None``: nowhere, only the demo runs."""
        self.store, self._work_dir, self.base_iri, self.data_dir = store, work_dir, base_iri, data_dir
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kgx-run")

    def check(self, spec: RunSpec) -> None:
        """Raises ``InputError`` (a 422) before anything is queued: bad settings, paths outside the data
        directory or missing."""
        if spec.demo == bool(spec.data or spec.kg):
            raise InputError("give either demo: true, or data and kg (paths relative to the server's data directory)")
        if not spec.demo:
            self._resolve("data", spec.data)
            self._resolve("kg", spec.kg)
        self._settings(spec)

    def _resolve(self, name: str, value: str | None) -> Path:
        """``value`` as a path under ``data_dir`` (symbolic links followed). An absolute path, one that
        leaves the directory (``..``, a link out), a missing one, the wrong kind, any path when the server
        has no data directory: all get the same message, so the answer tells nothing of the server's files."""
        refused = InputError(
            f"{name}: not a {'file or directory' if name == 'data' else 'file'} under the server's data directory"
        )
        if self.data_dir is None or not value or "\x00" in value or Path(value).is_absolute():
            raise refused
        root = self.data_dir.resolve()
        try:
            path = (root / value).resolve()
            usable = path.is_relative_to(root) and (path.is_file() or name == "data" and path.is_dir())
        except (OSError, RuntimeError):  # a link loop, a name too long
            usable = False
        if not usable:
            raise refused
        return path

    def _settings(self, spec: RunSpec) -> Any:
        from ..config import Settings
        from ..errors import InputError
        from ..models.training import MODELS

        if spec.model not in MODELS:  # an architecture only: a user's own model is not run over REST
            raise InputError(f"unknown model {spec.model!r}; known: {', '.join(sorted(MODELS))}")
        return Settings.from_options(
            preset=spec.preset,
            base_iri=self.base_iri,
            model=spec.model,
            max_tokens=spec.max_tokens,
            epochs=spec.epochs,
            method=spec.method,
        )

    @property
    def work_dir(self) -> Path:
        with self._lock:
            if self._work_dir is None:
                self._work_dir = Path(tempfile.mkdtemp(prefix="kgx-serve-"))
            return self._work_dir

    def submit(self, spec: RunSpec) -> Job:
        self.check(spec)
        job = Job(f"job-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", spec)
        with self._lock:
            self.jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def _run(self, job: Job) -> None:
        from ..loaders.datasets import read_dataset
        from ..loaders.synthetic import make_synthetic
        from ..stages import best_rules, run_all

        job.status, job.started = "running", datetime.now(UTC).isoformat(timespec="seconds")

        def progress(task: str, done: int, total: int | None) -> None:
            job.stage = task
            job.progress[task] = {"done": done, "total": total}

        start = time.perf_counter()
        try:
            settings = self._settings(job.spec)
            kg: Path | list[RawTriple]
            if job.spec.demo:
                synthetic = make_synthetic()
                dataset, kg = synthetic.dataset, synthetic.kg
            else:  # resolved again: a file may have changed since the job was queued
                dataset = read_dataset(self._resolve("data", job.spec.data))
                kg = self._resolve("kg", job.spec.kg)
            model_dir = self.work_dir / job.id / "model"
            # the same stages as `kgexplain run` (stages.run_all): activations and exports included
            outcome = run_all(
                self.store, dataset, kg, settings, model_dir, out=self.work_dir / job.id, progress=progress
            )
            loaded, trained, explained, mined = outcome.loaded, outcome.trained, outcome.explained, outcome.mined
            job.result = {
                "dataset": dataset.name,
                "documents": len(dataset.docs),
                "kg_triples": loaded.kg_triples,
                "model": trained.model,  # type: ignore[union-attr]
                "test_accuracy": trained.test_accuracy,  # type: ignore[union-attr]  # trained: no user model
                "model_dir": str(model_dir),
                "explain_run": explained.run_id,
                "mentions": explained.mentions,
                "activation_run": outcome.activations.run_id if outcome.activations else None,
                "mining_run": mined.run_id,
                "rules": len(mined.rules),
                "exports": outcome.exports,
                "top_rules": [r.labels.get("rule") for r in best_rules(mined)[:10]],
                "seconds": round(time.perf_counter() - start, 1),
                "rules_url": f"/api/rules?run={mined.run_id}",
            }
            job.status = "completed"
        except KgExplainError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed job reports why instead of dying silently
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.ended = datetime.now(UTC).isoformat(timespec="seconds")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
