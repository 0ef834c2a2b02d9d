"""shap's DeepExplainer values for kgexplain's own heads, a whole batch per forward and backward pass.

``shap.DeepExplainer`` (0.51, ``deep_pytorch.py``) explains one document at a time: it stacks the document,
tiled once per reference, on top of the references, runs the head on those ``2N`` rows with a backward
hook on every leaf module, and multiplies the gradient it gets at the *reference* rows by ``x − r``,
averaged over the references. Its hooks give, per module type (``op_handler``):

- ``Conv1d``, ``Linear`` (and ``Flatten``, ``Dropout``, …): nothing; plain gradients (they are linear).
- ``ReLU``, ``Sigmoid``, ``Tanh``, …: the rescale rule, multiplier ``Δy/Δx`` per element, the same in both
  halves; where ``|Δx| < 1e-6`` the plain gradient instead, taken at each half's own point (so the
  document and reference halves can then carry different gradients).
- ``MaxPool1d``: with ``m = max(y_x, y_r)`` per output, ``(g_x·(m − y_r)`` sent to the document's argmax
  ``+ g_r·(y_x − m)`` sent to the reference's argmax``) / Δx`` per input, 0 where ``|Δx| < 1e-7``; the same in
  both halves (this mixes the halves' gradients when they differ).
- anything else, ``nn.LSTM`` and ``nn.GRU`` included, and every functional op (``transpose``, ``flatten``,
  the recurrent head's ``max`` over time, slicing): plain gradients, so inside the recurrent cell the
  values are gradients taken *at the reference* (and need not add up to the output).

This module computes exactly those values, batched:

- ``TextCNN`` (``CNNHead``): the rules above written out layer by layer for every (document, reference)
  pair of a batch at once, from one forward pass of the documents and one of the references (kept for the
  whole run); the backward pass is done by hand, so no autograd graph is built. Only the reference half's
  input gradient is needed, and the document half's backward only where it differs (after a fallback to
  plain gradients). The first convolution, the one costly layer, runs over each batch's own longest text
  (padding embeds to zero, and a window of zeros gives exactly the bias); so does its transpose, for
  ``Σ_d g·x``, while ``Σ_d g·r`` comes from ``V = W₁·r`` per tap, made once per reference. The rest runs
  over all ``max_len`` positions: the reference (the mean of the training texts) is not zero past a
  document's end, and the last pool spans the whole input.
- the recurrent heads (``RNNHead``): the gradient at each reference, ``∇_r logit(r)``, is the same for every
  document, so it is computed once; a batch needs one forward pass for ``f(x)`` and the sigmoid's
  multiplier per (document, reference) pair.

With N references (``background="full"`` or an integer N) every step runs over (document, reference) pairs, in chunks of
references: N times the work of one reference, for the whole batch at once.

Padding: the CNN pads at the end, the recurrent nets at the front, to ``max_len``, as the models always
have, and outputs and values are those of the padded input: shorter inputs would change the models (the
CNN's last pool sees the padding's bias activations and its size comes from ``max_len``; a recurrent
state moves through the padding steps; the mean reference is not zero there). What shrinks is the work on
padding: the CNN takes documents sorted by length (within windows of ``SORT_WINDOW`` batches), so that a
batch's longest text is close to its others, and the first convolution's cost follows the texts' lengths.

Values are float32, like shap's, and agree with shap's to float32 rounding: measured 3e-7 per token on
the demo and painters CNNs with the mean reference, 6e-6 on the demo CNN with the zero reference where
tokens reach |φ| = 1.3. The bound the tests hold is ``1e-6 + max|φ|·(1e-5 + 2⁻²³/|f(x) − f(r)|)`` per
document: the sigmoid's multiplier ``Δσ/Δz`` is rounded to ~2⁻²⁴/|Δσ| relative on each side, and the
rescale rules' small ``Δx`` to ~1e-7 of the activations. shap's own values differ from a float64 run of
shap by as much (4.9e-6 on that zero-reference demo CNN; ours 3.8e-6). Run in float64 (``model.double()``)
the two agree per token to ~1e-16 on the CNN, the BiLSTM and the GRU with the mean, zero and full references,
and on the painters-sized CNN: the rules are shap's, and the float32 gap is rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..models.cnn import CNNHead
from ..models.rnn import RNNHead
from ..models.training import TrainedModel
from ..models.vocabulary import PAD
from .base import Attribution, OnBatch, OnRows, OrderedRows, length_sorted_batches

__all__ = ["RESCALE_EPSILON", "POOL_EPSILON", "BatchedDeep", "supports", "explain_batched"]

#: shap's threshold below which ``nonlinear_1d`` takes the plain gradient instead of ``Δy/Δx``.
RESCALE_EPSILON = 1e-6
#: shap's threshold below which ``maxpool`` gives a zero multiplier.
POOL_EPSILON = 1e-7
#: Largest (documents × references × filters × positions) tensor of one CNN step; more references are
#: taken in chunks.
PAIR_ELEMENTS = 1 << 22
#: Largest V (references × positions × filters × window) kept for the whole run.
V_ELEMENTS = 1 << 24
#: Documents are sorted by length within windows of this many batches (the CNN only).
SORT_WINDOW = 16


def supports(trained: TrainedModel) -> bool:
    """Whether ``BatchedDeep`` computes shap's values for this model (kgexplain's CNN and recurrent heads
    with the layers they are built with); other models go to shap's own explainer."""
    head = getattr(trained.model, "head", None)
    if type(head) is RNNHead:
        return True
    if type(head) is not CNNHead:
        return False
    plain = all(
        c.stride == (1,) and c.padding == (0,) and c.dilation == (1,) and c.groups == 1
        for c in (head.conv1, head.conv2)
    )
    one_pooled = head.dense.in_features == head.conv2.out_channels and head.dense.out_features == 1
    return plain and one_pooled and getattr(trained.model, "padding", "post") == "post"


# The type: ignores in this module: torch types a module's submodules as Tensor | Module, and a head here is
# a CNNHead or an RNNHead, told apart at run time (``BatchedDeep.cnn``).
class BatchedDeep:
    """shap DeepExplainer values of ``head`` against ``reference`` (N, length, dim), a batch at a time."""

    def __init__(self, head: torch.nn.Module, reference: torch.Tensor) -> None:
        self.head = head
        self.reference = reference.detach()
        self.cnn = type(head) is CNNHead
        if self.cnn:
            with torch.no_grad():
                self._ref = _by_reference_chunks(lambda r: _cnn_forward(head, r.transpose(1, 2)), self.reference)  # type: ignore[arg-type]
            # the transposed convolutions as plain ones (flipped kernels; faster on the CPU)
            self._flipped = [
                c.weight.detach().flip(-1).transpose(0, 1).contiguous()  # type: ignore[operator, union-attr]
                for c in (head.conv1, head.conv2)
            ]
            self._zero = not bool(self.reference.abs().max() > 0)
            # V[q, n, f, k] = Σ_d W₁[f, d, k] r[n, d, q + k]: the reference's share of the input gradient, per
            # tap; kept for the run when small (one reference), else made per chunk of references
            small = _v_size(head, reference) <= V_ELEMENTS  # type: ignore[arg-type]
            self._v = self._taps(0, len(reference)) if small and not self._zero else None
            self.expected_value = float(self._ref["s"].mean())
        else:

            def gradient(r: torch.Tensor) -> dict[str, torch.Tensor]:
                r = r.clone().requires_grad_(True)
                with torch.enable_grad():
                    z = head.logit(r)  # type: ignore[operator]
                    (grad,) = torch.autograd.grad(z.sum(), r)
                return {"z": z.detach().reshape(-1), "grad": grad}

            ref = _by_reference_chunks(gradient, self.reference)
            self._z_r, self._grad = ref["z"], ref["grad"]  # (N,), (N, length, dim)
            self._s_r = torch.sigmoid(self._z_r)
            self._grad_ref = (self._grad * self.reference).sum(-1)  # (N, length)
            self.expected_value = float(self._s_r.mean())

    def attribute(self, emb: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-position scores (batch, max_len) (shap's values summed over the embedding) and P(positive)
        (batch,) for ``emb`` (batch, max_len, dim); ``length``: the longest text in the batch (CNN only:
        positions from there on must embed to zero)."""
        with torch.no_grad():
            return self._cnn(emb, length) if self.cnn else self._rnn(emb)

    # recurrent heads --------------------------------------------------------------------------------------

    def _rnn(self, emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z_x = self.head.logit(emb).reshape(-1)  # type: ignore[operator]
        s_x = torch.sigmoid(z_x)
        m = _sigmoid_rule(z_x[:, None], self._z_r[None, :], s_x[:, None], self._s_r[None, :])[1]  # (B, N)
        n, length, dim = self._grad.shape
        weighted = (m @ self._grad.reshape(n, length * dim)).reshape(-1, length, dim)
        scores = ((weighted * emb).sum(-1) - m @ self._grad_ref) / n
        return scores, s_x

    # the CNN ----------------------------------------------------------------------------------------------

    def _taps(self, start: int, stop: int) -> torch.Tensor:
        """V for references ``start:stop``, laid out (positions, references × filters, window)."""
        conv = self.head.conv1
        windows = self.reference[start:stop].transpose(1, 2).unfold(2, conv.kernel_size[0], 1)  # type: ignore[arg-type, index, union-attr]   # (n, dim, q, k)
        v = torch.einsum("fdk,ndqk->qnfk", conv.weight.detach(), windows)  # type: ignore[operator, union-attr]
        return v.reshape(v.shape[0], -1, v.shape[3])

    def _cnn(self, emb: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        head, ref = self.head, self._ref
        x = emb.transpose(1, 2)  # (B, dim, max_len)
        doc = _cnn_forward(head, x, length)  # type: ignore[arg-type]
        b, n_ref = x.shape[0], self.reference.shape[0]
        per_ref = max(1, PAIR_ELEMENTS // max(1, b * doc["c1"].shape[1] * doc["c1"].shape[2]))
        scores = torch.zeros(b, x.shape[2], dtype=emb.dtype, device=emb.device)
        for start in range(0, n_ref, per_ref):
            stop = min(n_ref, start + per_ref)
            chunk = {k: v[start:stop] for k, v in ref.items()}
            if self._zero:
                v = None
            elif self._v is not None:
                v = self._v if per_ref >= n_ref else self._v.unflatten(1, (n_ref, -1))[:, start:stop].flatten(1, 2)
            else:
                v = self._taps(start, stop)
            scores += self._cnn_pairs(doc, chunk, x, v, length)
        return scores / n_ref, doc["s"].reshape(-1)

    def _cnn_pairs(
        self,
        doc: dict[str, torch.Tensor],
        ref: dict[str, torch.Tensor],
        x: torch.Tensor,
        v: torch.Tensor | None,
        length: int,
    ) -> torch.Tensor:
        """Σ over this chunk's references of the per-position scores, (B, max_len)."""
        head = self.head
        d = {k: t[:, None] for k, t in doc.items()}  # document half: (B, 1, …)
        r = {k: t[None] for k, t in ref.items()}  # reference half: (1, n, …)
        # sigmoid (the output starts the backward pass with 1 in every row), then the dense layer
        g_x, g_r = _sigmoid_rule(d["z"], r["z"], d["s"], r["s"])  # (B, n, 1)
        w = head.dense.weight.detach().reshape(-1)  # type: ignore[operator, union-attr]                       # (filters,)
        g_x, g_r = (g_x * w)[..., None], (g_r * w)[..., None]  # (B, n, filters, 1)
        g = _maxpool_rule(head.pool2, d["h2"], r["h2"], d["p2"], r["p2"], d["i2"], r["i2"], g_x, g_r)  # type: ignore[arg-type]
        g_x, g_r = _relu_rule(d["c2"], r["c2"], d["h2"], r["h2"], g)
        g_r = _conv_input(g_r, self._flipped[1])
        # the halves differ only where a rescale rule fell back to gradients; otherwise one transpose does
        g_x = g_r if torch.equal(g_x, g_r) else _conv_input(g_x, self._flipped[1])
        g = _maxpool_rule(head.pool1, d["h1"], r["h1"], d["p1"], r["p1"], d["i1"], r["i1"], g_x, g_r)  # type: ignore[arg-type]
        g_r = _relu_rule(d["c1"], r["c1"], d["h1"], r["h1"], g)[1]  # (B, n, filters, positions)
        # input gradient at the reference rows, times (x − r), summed over the embedding:
        # Σ_d g_in·x needs the transposed convolution only where x is not zero; Σ_d g_in·r comes from V
        b, n, filters, positions = g_r.shape
        width = min(positions, max(1, length))
        g_in = _conv_input(g_r.sum(1, keepdim=True)[..., :width], self._flipped[0])[:, 0]  # (B, dim, width + k − 1)
        scores = torch.zeros(b, x.shape[2], dtype=x.dtype, device=x.device)
        upto = min(x.shape[2], g_in.shape[2])
        scores[:, :upto] = (g_in[..., :upto] * x[..., :upto]).sum(1)
        if v is not None:  # Σ_k of the taps' shares, per_tap[q, b, k] at position q + k
            per_tap = torch.bmm(g_r.permute(3, 0, 1, 2).reshape(positions, b, n * filters), v)  # (q, B, k)
            scores -= F.fold(per_tap.permute(1, 2, 0), (1, x.shape[2]), (1, v.shape[2])).reshape(b, -1)
        return scores


def _by_reference_chunks(
    fn: Callable[[torch.Tensor], dict[str, torch.Tensor]], reference: torch.Tensor, chunk: int = 64
) -> dict[str, torch.Tensor]:
    """``fn`` over the references as shap runs them: as the second half of twice their number of rows
    (``chunk`` references at a time), keeping that half. float32 results can depend on the row count, and
    with them the argmax of a pool or of the recurrent head's max over time among near-equal values (a
    recurrent state converging over zero padding); this keeps them shap's."""
    parts = []
    for start in range(0, len(reference), chunk):
        part = reference[start : start + chunk]
        parts.append({k: v[len(part) :] for k, v in fn(torch.cat([part, part])).items()})
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def _cnn_forward(head: CNNHead, x: torch.Tensor, length: int | None = None) -> dict[str, torch.Tensor]:
    """The head's activations for ``x`` (rows, dim, max_len), with the pools' argmax indices. With
    ``length``, the first convolution runs over the first ``length`` positions' windows only and gives its
    bias beyond them (exact when ``x`` is zero from ``length`` on)."""
    conv = head.conv1
    window, positions = conv.kernel_size[0], x.shape[2] - conv.kernel_size[0] + 1
    if length is None or length >= positions:
        c1 = conv(x)
    else:
        part = conv(x[..., : max(1, length) + window - 1])
        rest = conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels, device=x.device)
        c1 = torch.cat([part, rest[None, :, None].to(x.dtype).expand(x.shape[0], -1, positions - part.shape[2])], dim=2)
    h1 = head.relu1(c1)
    p1, i1 = _pool(head.pool1, h1)
    c2 = head.conv2(p1)
    h2 = head.relu2(c2)
    p2, i2 = _pool(head.pool2, h2)
    z = head.dense(p2.flatten(1))
    return {
        "c1": c1,
        "h1": h1,
        "p1": p1,
        "i1": i1,
        "c2": c2,
        "h2": h2,
        "p2": p2,
        "i2": i2,
        "z": z,
        "s": head.sigmoid(z),
    }


def _pool(pool: torch.nn.MaxPool1d, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return F.max_pool1d(x, pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode, True)


def _sigmoid_rule(
    z_x: torch.Tensor, z_r: torch.Tensor, s_x: torch.Tensor, s_r: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """shap's ``nonlinear_1d`` at the output sigmoid, whose output gradient is 1: (document, reference)
    halves' input gradients."""
    delta_in = z_x - z_r
    rescaled = (s_x - s_r) / delta_in
    small = delta_in.abs() < RESCALE_EPSILON
    return torch.where(small, (1 - s_x) * s_x, rescaled), torch.where(small, (1 - s_r) * s_r, rescaled)


def _relu_rule(
    x_in: torch.Tensor, r_in: torch.Tensor, x_out: torch.Tensor, r_out: torch.Tensor, grad: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """shap's ``nonlinear_1d`` at a ReLU whose output gradient ``grad`` is the same in both halves."""
    delta_in = x_in - r_in
    rescaled = grad * ((x_out - r_out) / delta_in)
    small = delta_in.abs() < RESCALE_EPSILON
    return (torch.where(small, grad * (x_out > 0), rescaled), torch.where(small, grad * (r_out > 0), rescaled))


def _maxpool_rule(
    pool: torch.nn.MaxPool1d,
    x_in: torch.Tensor,
    r_in: torch.Tensor,
    x_out: torch.Tensor,
    r_out: torch.Tensor,
    x_idx: torch.Tensor,
    r_idx: torch.Tensor,
    g_x: torch.Tensor,
    g_r: torch.Tensor,
) -> torch.Tensor:
    """shap's ``maxpool``: the input gradient, the same in both halves, (B, n, filters, positions)."""
    delta_in = x_in - r_in
    cross = torch.maximum(x_out, r_out)
    size = x_in.shape[-1]
    moved = _unpool(pool, g_x * (cross - r_out), x_idx, size) + _unpool(pool, g_r * (x_out - cross), r_idx, size)
    return torch.where(delta_in.abs() < POOL_EPSILON, torch.zeros_like(delta_in), moved / delta_in)


def _unpool(pool: torch.nn.MaxPool1d, values: torch.Tensor, indices: torch.Tensor, size: int) -> torch.Tensor:
    b, n, filters, out = values.shape
    idx = indices.expand(b, n, filters, out).reshape(b * n, filters, out)
    flat = F.max_unpool1d(
        values.reshape(b * n, filters, out),
        idx,
        pool.kernel_size,  # type: ignore[arg-type]
        pool.stride,  # type: ignore[arg-type]
        pool.padding,  # type: ignore[arg-type]
        output_size=[size],
    )
    return flat.reshape(b, n, filters, size)


def _conv_input(grad: torch.Tensor, flipped: torch.Tensor) -> torch.Tensor:
    """The gradient at a (stride 1, unpadded) convolution's input for ``grad`` (B, n, filters, positions) at
    its output: the transposed convolution, as a convolution with the ``flipped`` kernel."""
    b, n = grad.shape[:2]
    window = flipped.shape[2]
    out = F.conv1d(F.pad(grad.reshape(b * n, *grad.shape[2:]), (window - 1, window - 1)), flipped)
    return out.reshape(b, n, *out.shape[1:])


def _v_size(head: CNNHead, reference: torch.Tensor) -> int:
    conv = head.conv1
    return reference.shape[0] * (reference.shape[1] - conv.kernel_size[0] + 1) * conv.out_channels * conv.kernel_size[0]


def explain_batched(
    trained: TrainedModel,
    texts: list[str],
    reference: torch.Tensor,
    *,
    method: str,
    described: str,
    batch_size: int,
    device: str,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    """shap DeepExplainer values of ``texts`` against ``reference`` (N, max_len, dim) with ``BatchedDeep``,
    as token scores; the CNN takes its batches sorted by length, and callbacks still see document order."""
    model = trained.model.to(device).eval()
    explainer = BatchedDeep(model.head, reference.to(device))  # type: ignore[arg-type]
    ids = trained.encode(texts)
    lengths = _lengths(ids, model)
    rows = OrderedRows(ids, on_rows)
    worst = 0.0
    for index in length_sorted_batches(lengths, batch_size, SORT_WINDOW if explainer.cnn else 1):
        with torch.no_grad():
            emb = model.embedding(ids[index].to(device))  # type: ignore[operator]
        scores, outputs = explainer.attribute(emb, int(lengths[index].max()))
        per_position, prob = scores.double().cpu().numpy(), outputs.cpu().numpy()
        error = np.abs(per_position.sum(axis=1) - (prob.astype(np.float64) - explainer.expected_value))
        worst = max(worst, float(error.max()))
        rows.add(index, per_position, prob)
        if on_batch:
            on_batch(len(index))
    return Attribution(method, rows.relevance, rows.predictions, explainer.expected_value, worst, described)


def _lengths(ids: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """Per row, one past the last position whose embedding may be non-zero (CNN: post padding); the
    whole row when the padding embedding is not zero."""
    if bool(model.embedding.weight.detach()[PAD].abs().max() > 0):  # type: ignore[operator, union-attr]
        return torch.full((len(ids),), ids.shape[1], dtype=torch.long)
    real = ids != PAD
    positions = torch.arange(1, ids.shape[1] + 1)
    return (real * positions).max(dim=1).values if ids.numel() else torch.zeros(len(ids), dtype=torch.long)
