"""Runs started over REST read their files only from the server's data directory, and a failed run's reason
is for token holders: ``JobRunner`` and ``Job`` called directly, no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgexplain.errors import InputError
from kgexplain.service.jobs import Job, JobRunner, RunSpec
from kgexplain.store import EmbeddedStore

DATA_REFUSED = "data: not a file or directory under the server's data directory"
KG_REFUSED = "kg: not a file under the server's data directory"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``tmp_path/data`` (the data directory) with a dataset, a dump, a folder and links; beside it, a
    secret file that no path may reach."""
    data = tmp_path / "data"
    (data / "sets" / "painters").mkdir(parents=True)
    (data / "texts.csv").write_text("text,label\na text about Italy,1\n")
    (data / "sets" / "painters" / "train.csv").write_text("text,label\nx,1\n")
    (data / "dump.nt").write_text(
        '<http://www.wikidata.org/entity/Q38> <http://www.w3.org/2000/01/rdf-schema#label> "Italy"@en .\n'
    )
    (tmp_path / "secret.csv").write_text("text,label\nsecret,1\n")
    (data / "out.csv").symlink_to(tmp_path / "secret.csv")
    (data / "in.nt").symlink_to(data / "dump.nt")
    (data / "loop").symlink_to(data / "loop")
    return data


@pytest.fixture
def runner(tree: Path):
    with EmbeddedStore(None) as store:
        jobs = JobRunner(store, tree.parent / "work", "https://example.org/", data_dir=tree)
        yield jobs
        jobs.close()


def _refusal(runner: JobRunner, **spec: str) -> str:
    with pytest.raises(InputError) as raised:
        runner.check(RunSpec(**spec))
    return str(raised.value)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/nowhere/at/all.csv",
        "{root}/texts.csv",  # absolute, existing or not, even inside
        "../secret.csv",
        "../missing.csv",
        "sets/../../secret.csv",  # escapes, to a file that exists or not
        "out.csv",  # a link from inside to outside
        "missing.csv",
        "sets/missing/train.csv",
        "loop",
        "a\x00b",
        "",  # missing, a link loop, a NUL
    ],
)
def test_every_path_outside_or_missing_gets_one_message(runner: JobRunner, tree: Path, path: str) -> None:
    """The same words whether the file exists or not: the answer is no oracle for the server's files."""
    path = path.format(root=tree)
    assert _refusal(runner, data=path, kg="dump.nt") == DATA_REFUSED
    assert _refusal(runner, data="texts.csv", kg=path) == KG_REFUSED


def test_a_dump_must_be_a_file(runner: JobRunner) -> None:
    assert _refusal(runner, data="texts.csv", kg="sets") == KG_REFUSED


def test_paths_inside_the_data_directory_are_accepted(runner: JobRunner) -> None:
    runner.check(RunSpec(data="texts.csv", kg="dump.nt"))
    runner.check(RunSpec(data="sets/painters", kg="in.nt"))  # a dataset folder; a link inside
    runner.check(RunSpec(data="sets/painters/../../texts.csv", kg="./dump.nt"))  # ".." that stays inside
    assert runner._resolve("kg", "in.nt") == (runner.data_dir / "dump.nt").resolve()  # type: ignore[operator]


def test_without_a_data_directory_only_the_demo_runs(tree: Path) -> None:
    with EmbeddedStore(None) as store:
        runner = JobRunner(store, None, "https://example.org/")
        assert _refusal(runner, data=str(tree / "texts.csv"), kg=str(tree / "dump.nt")) == DATA_REFUSED
        assert _refusal(runner, data="texts.csv", kg="dump.nt") == DATA_REFUSED
        runner.check(RunSpec(demo=True))
        runner.close()


def test_a_file_swapped_for_a_link_out_after_queueing_is_refused_when_the_job_runs(
    runner: JobRunner, tree: Path
) -> None:
    spec = RunSpec(data="texts.csv", kg="dump.nt", epochs=1)
    runner.check(spec)
    (tree / "texts.csv").unlink()
    (tree / "texts.csv").symlink_to(tree.parent / "secret.csv")
    job = Job("job-swapped", spec)
    runner._run(job)
    assert job.status == "failed" and job.error == DATA_REFUSED


def test_a_failed_jobs_reason_is_shown_only_when_asked(runner: JobRunner, tree: Path) -> None:
    """A reason can quote the server's files (a malformed dataset is named with its path)."""
    (tree / "broken.csv").write_text("no,such,columns\n1,2,3\n")
    job = Job("job-broken", RunSpec(data="broken.csv", kg="dump.nt"))
    runner._run(job)
    assert job.status == "failed" and job.error
    assert job.as_dict()["error"] == job.error == job.as_dict(show_error=True)["error"]
    hidden = job.as_dict(show_error=False)
    assert hidden["error"] == "failed (details for token holders)" and "broken" not in str(hidden["error"])
    assert Job("job-ok", RunSpec(demo=True)).as_dict(show_error=False)["error"] is None
