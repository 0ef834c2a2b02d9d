"""REAT: additive decomposition of a recurrent classifier's logit into word and phrase scores.

algorithms.md §3.2. The cell is re-run step by step from the module's own weights (PyTorch gate order: LSTM
i, f, g, o; GRU r, z, n with the reset gate applied to ``W_hn h + b_hn``) and checked against the native
output (§3.5 check 5). Every update is written as ``h_t = α_t ⊙ h_{t−1} + h̃_t`` (Eq. 10):

- GRU: ``α_t = z_t`` (the update gate; exact).
- LSTM: ``α_t = f_t ⊙ o_t / o_{t−1}`` with ``o_0 := 1`` and the denominator clamped at 1e-6 (Eqs. 17–20; an
  approximation, but the decomposition below telescopes, so completeness holds whatever α is).

Word score (Eq. 13): ``S(x_t) = W_c[(h_t − α_t ⊙ h_{t−1}) ⊙ Π_{k=t+1..T} α_k]`` with ``h_0 = 0``; the
reverse direction of a bidirectional layer uses prefix products and ``h_{T+1,r} = 0`` (Eq. 22).

What is decomposed depends on the head's pooling:

- ``"last"``: the final state (forward ``h_T``; for a bidirectional head ``h_{T,n} ⊕ h_{1,r}``).
- ``"max"`` (the main paper's Bi-LSTM; a reading, §3.6): for each hidden dimension ``d`` with arg-max step
  ``τ_d``, ``h_{τ_d}[d]`` is decomposed over words ``1..τ_d`` (forward half) or ``τ_d..T`` (reverse half).

Either way ``Σ_t S(x_t) = logit − b`` (the dense bias). Scores are computed in float64. Padding positions
(front padding) are steps the RNN ran over, so they get scores like any step; ``explain_reat`` drops them
from its output but reports completeness on the full sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..errors import InputError, ModelError
from ..models.rnn import RNNHead
from ..models.training import TrainedModel, predict
from .base import Attribution, OnRows, collect_rows, embedding_and_head

__all__ = [
    "CLAMP",
    "STATE_TOLERANCE",
    "cell_states",
    "explain_reat",
    "naive_reat_scores",
    "phrase_score",
    "reat_scores",
]

log = logging.getLogger(__name__)

#: Largest allowed |manual h_t − native h_t| (§3.5 check 5).
STATE_TOLERANCE = 1e-5
#: Smallest LSTM output-gate value used as the denominator of α_t (§3.6).
CLAMP = 1e-6


@dataclass
class _Direction:
    """One direction's manual states, in *processing* order (a reverse direction is stored flipped)."""

    h: torch.Tensor  # (batch, length, hidden), float64
    alpha: torch.Tensor  # (batch, length, hidden), float64
    reverse: bool
    clamped: int


def _check_head(head: nn.Module) -> RNNHead:
    """``head``, checked to be a recurrent head REAT reads."""
    rnn = getattr(head, "rnn", None)
    dense = getattr(head, "dense", None)
    if not isinstance(head, RNNHead) or not isinstance(rnn, (nn.LSTM, nn.GRU)) or not isinstance(dense, nn.Linear):
        raise ModelError(
            f"REAT needs a recurrent head (RNNHead with an LSTM or GRU and a dense layer); got {type(head).__name__}"
        )
    if rnn.num_layers != 1 or not rnn.batch_first or bool(getattr(rnn, "proj_size", 0)):
        raise ModelError(
            "REAT supports one batch-first recurrent layer without projection; this head has "
            f"num_layers={rnn.num_layers}, batch_first={rnn.batch_first}, "
            f"proj_size={getattr(rnn, 'proj_size', 0)}"
        )
    if dense.out_features != 1:
        raise ModelError(f"REAT expects a dense layer with one output unit, got {dense.out_features}")
    return head


def _weights(rnn: nn.RNNBase, suffix: str, device: torch.device) -> tuple[torch.Tensor, ...]:
    w_ih = getattr(rnn, f"weight_ih_l0{suffix}").detach().to(device, torch.float64)
    w_hh = getattr(rnn, f"weight_hh_l0{suffix}").detach().to(device, torch.float64)
    if rnn.bias:
        b_ih = getattr(rnn, f"bias_ih_l0{suffix}").detach().to(device, torch.float64)
        b_hh = getattr(rnn, f"bias_hh_l0{suffix}").detach().to(device, torch.float64)
    else:
        b_ih = torch.zeros(w_ih.shape[0], dtype=torch.float64, device=device)
        b_hh = torch.zeros_like(b_ih)
    return w_ih, w_hh, b_ih, b_hh


def _run_direction(cell: str, x: torch.Tensor, weights: tuple[torch.Tensor, ...], reverse: bool) -> _Direction:
    """Runs one direction over ``x`` (already in processing order, float64); states and α per step."""
    w_ih, w_hh, b_ih, b_hh = weights
    batch, length, _ = x.shape
    hidden = w_hh.shape[1]
    projected = x @ w_ih.T + b_ih  # (batch, length, gates × hidden)
    h = x.new_zeros(batch, hidden)
    c = x.new_zeros(batch, hidden)
    states, gates_a, gates_b = [], [], []
    for t in range(length):
        recurrent = h @ w_hh.T + b_hh
        if cell == "lstm":
            i, f, g, o = (projected[:, t] + recurrent).chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            gates_a.append(f)
            gates_b.append(o)
        else:
            x_r, x_z, x_n = projected[:, t].chunk(3, dim=1)
            h_r, h_z, h_n = recurrent.chunk(3, dim=1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
            gates_a.append(z)
        states.append(h)
    empty = x.new_zeros(batch, 0, hidden)
    h_all = torch.stack(states, dim=1) if states else empty
    if cell == "gru":
        return _Direction(h_all, torch.stack(gates_a, dim=1) if gates_a else empty, reverse, 0)
    if not states:
        return _Direction(h_all, empty, reverse, 0)
    f_all, o_all = torch.stack(gates_a, dim=1), torch.stack(gates_b, dim=1)
    o_prev = torch.cat([torch.ones_like(o_all[:, :1]), o_all[:, :-1]], dim=1)  # o_0 := 1
    clamped = int((o_prev < CLAMP).sum())
    alpha = f_all * o_all / o_prev.clamp(min=CLAMP)
    return _Direction(h_all, alpha, reverse, clamped)


def _native(head: RNNHead, embedded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The native output sequence and logit, with TF32 off so that the comparison is meaningful on GPUs."""
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, allow_tf32=False):
        out, _ = head.rnn(embedded)
        logit = head.logit(embedded).reshape(len(embedded), -1)[:, 0]
    return out, logit


def _states(head: RNNHead, embedded: torch.Tensor) -> tuple[list[_Direction], torch.Tensor, dict]:
    """Manual states of every direction, the native logit, and the diagnostics; raises on a state mismatch."""
    _check_head(head)
    if embedded.dim() != 3:
        raise InputError(f"REAT expects embedded input of shape (batch, length, dim), got {tuple(embedded.shape)}")
    rnn = head.rnn
    cell = "lstm" if isinstance(rnn, nn.LSTM) else "gru"
    x = embedded.detach().to(torch.float64)
    directions = [_run_direction(cell, x, _weights(rnn, "", x.device), False)]
    if rnn.bidirectional:
        directions.append(_run_direction(cell, x.flip(1), _weights(rnn, "_reverse", x.device), True))
    out, logit = _native(head, embedded.detach())
    manual = torch.cat([d.h.flip(1) if d.reverse else d.h for d in directions], dim=-1)
    error = float((manual - out.to(torch.float64)).abs().max()) if manual.numel() else 0.0
    if not error < STATE_TOLERANCE:
        raise ModelError(
            f"REAT: the manual {cell.upper()} cell does not reproduce the native hidden states "
            f"(max |difference| = {error:.3g} ≥ {STATE_TOLERANCE:g})"
        )
    clamped = sum(d.clamped for d in directions)
    if clamped:
        log.info("REAT: %d LSTM output-gate denominators clamped at %g", clamped, CLAMP)
    return directions, logit.to(torch.float64), {"max_state_error": error, "clamped": clamped}


def _targets(head: RNNHead, directions: list[_Direction]) -> list[torch.Tensor]:
    """Per direction, the processing-order step whose state each dimension's feature reads: (batch, hidden)."""
    targets = []
    for d in directions:
        batch, length, hidden = d.h.shape
        if head.pooling == "max":
            tau = d.h.argmax(dim=1)  # processing order; the feature is h[τ] either way
        else:
            tau = torch.full((batch, hidden), length - 1, dtype=torch.long, device=d.h.device)
        targets.append(tau)
    return targets


def _contributions(d: _Direction, tau: torch.Tensor, naive: bool = False) -> torch.Tensor:
    """contrib[b, t, j] = (h_t − α_t ⊙ h_{t−1}) ⊙ Π_{k=t+1..τ_j} α_k for t ≤ τ_j, else 0 (processing order).

    Σ_t contrib[:, t, j] = h_{τ_j}[j] exactly (telescoping, h_0 = 0). ``naive`` sets α ≡ 1 (NaiveREAT, Eq. 9).
    """
    h = d.h
    alpha = torch.ones_like(d.alpha) if naive else d.alpha
    steps = torch.arange(h.shape[1], device=h.device).view(1, -1, 1)
    within = steps <= tau.unsqueeze(1)
    kept = torch.where(within, alpha, torch.ones_like(alpha))
    shifted = torch.cat([kept[:, 1:], torch.ones_like(kept[:, :1])], dim=1)  # shifted[t] = α_{t+1}
    suffix = shifted.flip(1).cumprod(dim=1).flip(1)  # Π_{k=t+1..τ} α_k
    h_prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
    update = h - alpha * h_prev
    return torch.where(within, update * suffix, torch.zeros_like(update))


def _word_scores(head: RNNHead, embedded: torch.Tensor, naive: bool) -> tuple[torch.Tensor, torch.Tensor, dict]:
    with torch.no_grad():
        directions, logit, diagnostics = _states(head, embedded)
        parts = []
        for d, tau in zip(directions, _targets(head, directions), strict=True):
            contrib = _contributions(d, tau, naive)
            parts.append(contrib.flip(1) if d.reverse else contrib)
        w = head.dense.weight.detach().to(embedded.device, torch.float64)[0]
        scores = torch.cat(parts, dim=-1) @ w
    return scores, logit, diagnostics


def reat_scores(head: RNNHead, embedded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Word scores S(x_t) of shape (batch, length) for the logit minus the dense bias, the logit per row,
    and diagnostics (``max_state_error``: max |manual h_t − native h_t|; ``clamped``: LSTM denominators
    clamped at ``CLAMP``).

    Scores and logit are float64; every position, padding included, gets a score, and
    ``scores.sum(1) == logit − head.dense.bias`` up to the native model's rounding.
    """
    return _word_scores(head, embedded, naive=False)


def naive_reat_scores(head: RNNHead, embedded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """NaiveREAT (Eq. 9): ``S(x_t) = W_c(h_t − h_{t−1})`` (no forgetting factor); same shape and pooling
    handling as ``reat_scores``, and it also sums to the logit minus the bias."""
    return _word_scores(head, embedded, naive=True)


def _phrase_direction(d: _Direction, tau: torch.Tensor, first: int, last: int) -> torch.Tensor:
    """Eq. 14 in processing order for the phrase ``first..last`` (inclusive), each dimension read at τ."""
    h, alpha = d.h, d.alpha
    length = h.shape[1]
    steps = torch.arange(length, device=h.device).view(1, -1, 1)
    end = torch.minimum(torch.full_like(tau, last), tau)  # phrase cut at τ
    active = tau >= first
    h_end = h.gather(1, end.unsqueeze(1)).squeeze(1)
    h_before = h[:, first - 1] if first > 0 else torch.zeros_like(h[:, 0])
    ones = torch.ones_like(alpha)
    inside = (steps >= first) & (steps <= end.unsqueeze(1))
    after = (steps > end.unsqueeze(1)) & (steps <= tau.unsqueeze(1))
    span = torch.where(inside, alpha, ones).prod(dim=1)  # Π_{j=q..r} α_j
    forget = torch.where(after, alpha, ones).prod(dim=1)  # Π_{k=r+1..τ} α_k
    value = (h_end - span * h_before) * forget
    return torch.where(active, value, torch.zeros_like(value))


def phrase_score(head: RNNHead, embedded: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """S(x_A) for the phrase of positions ``start..stop−1`` (0-based, half-open: the paper's q = start + 1,
    r = stop), per row, float64 of shape (batch,).

    Computed directly from Eq. 14 (unidirectional) / Eq. 22 (bidirectional: the reverse half reads
    ``(h_{q,r} − Π_{j=q..r} α_{j,r} ⊙ h_{r+1,r}) ⊙ Π_{k=1..q−1} α_{k,r}``), not by summing word scores; for
    max pooling each dimension uses its own arg-max step as the end of the sequence.
    """
    if embedded.dim() != 3:
        raise InputError(f"REAT expects embedded input of shape (batch, length, dim), got {tuple(embedded.shape)}")
    length = embedded.shape[1]
    if not 0 <= start < stop <= length:
        raise InputError(f"phrase [{start}, {stop}) is not a non-empty span of a length-{length} sequence")
    with torch.no_grad():
        directions, _, _ = _states(head, embedded)
        parts = []
        for d, tau in zip(directions, _targets(head, directions), strict=True):
            if d.reverse:  # positions start..stop−1 are processing steps length−stop..length−1−start
                parts.append(_phrase_direction(d, tau, length - stop, length - 1 - start))
            else:
                parts.append(_phrase_direction(d, tau, start, stop - 1))
        w = head.dense.weight.detach().to(embedded.device, torch.float64)[0]
        return torch.cat(parts, dim=-1) @ w


def cell_states(head: RNNHead, embedded: torch.Tensor) -> tuple[list[dict[str, torch.Tensor]], dict]:
    """The manual cell's states, per direction (forward first), in *text* order: dicts with ``h`` and
    ``alpha`` (batch, length, hidden) float64 and ``reverse``; plus the diagnostics of ``reat_scores``."""
    with torch.no_grad():
        directions, _, diagnostics = _states(head, embedded)
    out = []
    for d in directions:
        flip = (lambda t: t.flip(1)) if d.reverse else (lambda t: t)
        out.append({"h": flip(d.h), "alpha": flip(d.alpha), "reverse": d.reverse})
    return out, diagnostics


def explain_reat(
    trained: TrainedModel,
    texts: list[str],
    *,
    batch_size: int = 64,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
    on_rows: OnRows = None,
) -> Attribution:
    """REAT word scores for each text: one score per non-padding token, in order.

    ``expected_value`` is the dense bias, so that ``Σ scores + expected_value = logit`` (the pre-sigmoid
    output; REAT explains the logit). ``max_additivity_error`` is the largest ``|Σ_t S(x_t) − (logit − b)|``
    over the documents, the sum taken over the full sequence including front padding.
    """
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    embed, module = embedding_and_head(trained, device, "REAT")
    head = _check_head(module)
    bias = float(head.dense.bias.detach()[0]) if head.dense.bias is not None else 0.0
    ids = trained.encode(texts)
    probs = predict(trained.model, ids).numpy()
    relevance: list[np.ndarray] = []
    worst, worst_state, clamped = 0.0, 0.0, 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size].to(device)
        with torch.no_grad():
            emb = embed(batch)
        scores, logit, diagnostics = reat_scores(head, emb)
        error = (scores.sum(dim=1) - (logit - bias)).abs()
        worst = max(worst, float(error.max()))
        worst_state = max(worst_state, diagnostics["max_state_error"])
        clamped += diagnostics["clamped"]
        per_position = scores.cpu().numpy()
        collect_rows(per_position, batch, probs[start : start + len(batch)], relevance, on_batch, on_rows)
    log.debug(
        "reat: max |Σ S − (logit − b)| = %.3g, max state error %.3g, %d clamped denominators",
        worst,
        worst_state,
        clamped,
    )
    return Attribution(
        "reat", relevance, probs, bias, worst, "dense bias (REAT explains the logit: Σ scores + bias = logit)"
    )
