"""Torch's CPU thread count: ``--threads`` beats ``KGX_THREADS`` beats the default, the default is one thread
on small machines and the free cores on larger ones (at least one), and applying it sets torch's count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.errors import InputError
from kgexplain.threads import ENV_VAR, apply_threads, choose_threads, default_threads, usable_cores


@pytest.fixture
def torch_threads() -> Iterator[None]:
    """Puts torch's thread count back as it was, whatever the test set."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_an_explicit_request_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "3")
    assert choose_threads(5) == 5


def test_the_environment_variable_is_read_when_nothing_is_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, " 4 ")
    assert choose_threads(None) == 4


def test_an_empty_environment_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "")
    assert choose_threads(None) == default_threads()


@pytest.mark.usefixtures("no_env")
def test_without_request_or_variable_the_default_is_used() -> None:
    assert choose_threads(None) == default_threads()
    assert 1 <= choose_threads(None) <= usable_cores()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_environment_variable_names_itself(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(InputError, match=ENV_VAR):
        choose_threads(None)


@pytest.mark.parametrize("value", [0, -1])
def test_a_request_below_one_is_refused(value: int) -> None:
    with pytest.raises(InputError, match="--threads must be at least 1"):
        choose_threads(value)


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [
        (1, 0.0, 1),
        (2, 0.0, 1),
        (2, 5.0, 1),  # small machines: always one thread
        (8, 0.0, 8),
        (8, 2.6, 5),
        (8, 7.6, 1),  # the cores the load leaves free
        (8, 40.0, 1),
        (4, -1.0, 4),  # clamped to 1 … cores
    ],
)
def test_the_default_is_clamped_between_one_and_the_cores(cores: int, load: float, expected: int) -> None:
    assert default_threads(cores, load) == expected


@pytest.mark.usefixtures("torch_threads")
def test_apply_sets_torch_intra_op_threads() -> None:
    apply_threads(1)
    assert torch.get_num_threads() == 1
    apply_threads(2)
    assert torch.get_num_threads() == 2
    with pytest.raises(InputError):
        apply_threads(0)


@pytest.mark.usefixtures("torch_threads", "no_env")
@pytest.mark.parametrize("command", ["explain", "activations"])
def test_the_threads_option_reaches_torch(command: str) -> None:
    torch.set_num_threads(2)
    # no --store: the command fails on the store only after applying the thread count
    result = CliRunner().invoke(app, [command, "--model-dir", "nowhere", "--dataset", "d", "--threads", "1"])
    assert result.exit_code == 2
    assert "--store" in result.output
    assert torch.get_num_threads() == 1


@pytest.mark.usefixtures("torch_threads")
def test_the_environment_variable_reaches_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv(ENV_VAR, "1")
    result = CliRunner().invoke(app, ["train", "--model-dir", "nowhere", "--dataset", "d"])
    assert result.exit_code == 2
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize(
    ("command", "required"),
    [
        ("demo", ["--out", "nowhere"]),
        ("run", ["--data", "nowhere.csv", "--kg", "nowhere.nt", "--out", "nowhere"]),
        ("train", ["--model-dir", "nowhere", "--dataset", "d"]),
        ("explain", ["--model-dir", "nowhere", "--dataset", "d"]),
        ("activations", ["--model-dir", "nowhere", "--dataset", "d"]),
    ],
)
def test_every_torch_command_refuses_zero_threads(command: str, required: list[str]) -> None:
    result = CliRunner().invoke(app, [command, *required, "--threads", "0"])
    assert result.exit_code == 2
    assert "--threads must be at least 1" in result.output
