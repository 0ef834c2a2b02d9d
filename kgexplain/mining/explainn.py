"""ExplaiNN: MDL rule sets between two layers of binarized neuron activations.

After Fischer & Vreeken, *What's in the Box? Exploring the Inner Life of Neural Networks with Robust
Rules* (ICLR 2021 submission; the spec is ``design/algorithms.md`` section 2). The input is two boolean
matrices over the same samples: the *head* layer ``I_i`` (``n × |I_i|``) and the *tail* layer ``I_j``
(``n × |I_j|``), a neuron firing when its binarized activation is on. The output is a set of rules
``X →_l Y`` (``X`` head neurons, ``Y`` tail neurons) whose total code length ``L(D, M) = L(M) + L(D|M)``
is (greedily) minimal:

- a rule *applies* in ``T_X^l``, the rows where at least ``l`` of ``X`` fire (``l = 1`` a disjunction,
  ``l = |X|`` a conjunction), and *holds* in ``T_{Y|X}``, the rows of ``T_X^l`` where at least ``k`` of
  ``Y`` fire;
- data cost of a rule: ``log C(|T_X|, |T_{Y|X}|)`` plus, with error matrices, ``log C(|T_X \\ T_{Y|X}|·|Y|,
  |X+|) + log C(|T_{Y|X}|·|Y|, |X−|)``; then every tail neuron's leftover rows ``T'_I`` cost
  ``log C(n, |T'_I|)`` and every head neuron ``log C(n, |T_I|)``;
- model cost: ``|I|·L_pc(n) + L_N(|M|) + Σ_r [L_N(|X|) + L_N(|Y|) + L(X) + L(Y) + L_pc(|T_X|)]``, plus
  ``L_N(l)`` per rule for relaxed heads and ``L_pc(|T_{Y|X}|·|Y|) + L_pc(|T_X \\ T_{Y|X}|·|Y|)`` per rule
  for the error matrices; ``L(X) = −Σ_x log(|T_x| / Σ_I |T_I|)`` over the original supports of all items.

All logs are base 2. The search (spec 2.3) first finds, per tail neuron ``A``, the best head among the
prefixes of the head neurons sorted by ``σ_{x,A} = |T_x ∩ T_A| / |T_x|`` (those with ``σ > θ``) and
every ``l``; then it repeatedly merges pairs of rules (heads ``X1 ∩ X2`` and ``X1 ∪ X2``, tails
``Y1 ∪ Y2``, best ``l`` and ``k``) while that shortens the code, merging disjoint pairs in one round.

Because the layers are disjoint, every tail neuron is in at most one rule and head neurons are always
sent as singletons, a rule's cost depends on its own neurons only: ``L(D, M)`` is the baseline minus the
rules' gains plus ``L_N(|M|)``. The search exploits that (gains are cached per candidate), and it is
vectorised: for a new rule, one cumulative count of firing prefix items per row and one histogram give
``|T_X^l|`` and ``|T_{Y|X}|`` for every prefix and every ``l`` at once; for merges, a batch of
candidates' per-row head and tail counts comes from one matrix product, and one joint histogram of
(head count, tail count) per candidate gives every ``(l, k)`` at once. No Python loop runs over rows.

Readings where the paper and spec leave room (documented choices):

- ``L_N(|M|)`` is charged for a non-empty model only; the baseline ``M_ind`` carries no count term,
  exactly as the paper's baseline formula (so ``encoded_length(head, tail, [])`` equals the baseline).
- ``gain_bits`` of a final rule is the bits it saves in the final model: ``L(D, M \\ {r}) − L(D, M)``
  *without* the ``L_N(|M|)`` term (which all rules share). Rules have disjoint tails and so are
  independent: ``baseline_bits − total_bits = Σ gain_bits − L_N(|M|)``.
- With error matrices, a tail neuron's leftover rows exclude all of its rule's ``T_X`` (the ``X+`` ones
  are not sent twice); ``literal_holds=True`` excludes only ``T_{Y|X}``, the literal formula. Without
  error matrices only ``k = |Y|`` is lossless, so it is the only ``k`` tried.
- Both error-matrix parametric complexities are charged for every rule, also when a matrix is empty by
  construction (a one-neuron tail has ``X+ = X− = ∅``): ``k`` is not sent, so the receiver cannot know.
- ``robust=False`` is the paper's non-relaxed baseline: conjunctive heads (``l = |X|``, no ``L_N(l)``),
  exact tails (``k = |Y|``) and no error matrices, i.e. the simple encoding of App. A.1.
- ``head_is_label=True`` (the head is a one-hot output layer): only ``l = 1`` (disjunctions) is tried,
  for new rules and merges alike; ``L_N(l)`` is still charged when ``robust``.
- Ties between equally short candidates go to the shorter head prefix, then the smaller ``l``, then the
  larger ``k``; new rules are tried in tail-column order; merges in order of gain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from numbers import Integral, Real

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln, logsumexp, xlogy

from ..errors import InputError

__all__ = [
    "CodeLength",
    "EncodedData",
    "ExplainnResult",
    "NeuronRule",
    "RuleCode",
    "decode",
    "encode",
    "encoded_length",
    "explainn",
    "log2_binomial",
    "model_count_bits",
    "parametric_complexity",
    "universal_integer_bits",
]

#: Rissanen's normalising constant for the universal code of integers.
C0 = 2.865064
_LN2 = math.log(2.0)
# Parametric complexities up to this argument are the exact sum; above it the asymptotic expansion,
# which agrees with the exact sum to 1.3e-9 bits at 2048 and better beyond (the error falls as n^-2).
_LPC_EXACT_MAX = 2048
# A step is taken only when it saves more than this many bits (keeps the history strictly decreasing
# despite float rounding).
_EPS = 1e-9
# Candidate merges evaluated per matrix product.
_BATCH = 256
# Cells (rows × prefix items) held at once while counting prefix items per row.
_CELLS = 1 << 22


# --------------------------------------------------------------------------------------------------
# code-length primitives


def _lpc_exact(n: int) -> float:
    """``log2 Σ_h C(n,h) (h/n)^h ((n−h)/n)^(n−h)`` summed in log space (``0^0 = 1``)."""
    if n <= 0:
        return 0.0
    h = np.arange(n + 1, dtype=np.float64)
    terms = gammaln(n + 1.0) - gammaln(h + 1.0) - gammaln(n - h + 1.0) + xlogy(h, h / n) + xlogy(n - h, (n - h) / n)
    return float(logsumexp(terms)) / _LN2


@cache
def _lpc_table() -> np.ndarray:
    table = np.array([_lpc_exact(i) for i in range(_LPC_EXACT_MAX + 1)], dtype=np.float64)
    table.flags.writeable = False
    return table


def _lpc_asymptotic(n: np.ndarray) -> np.ndarray:
    """Szpankowski's expansion of the binary parametric complexity, in bits (n ≥ 1)."""
    n = n.astype(np.float64)
    root = np.sqrt(n)
    value = np.sqrt(np.pi * n / 2.0) + 2.0 / 3.0 + np.sqrt(2.0 * np.pi) / (24.0 * root) - 4.0 / (135.0 * n)
    return np.log2(value)


def _lpc(n: npt.ArrayLike) -> np.ndarray:
    """Vectorised ``L_pc`` of non-negative integer arrays (no checks)."""
    n = np.asarray(n, dtype=np.int64)
    table = _lpc_table()
    small = n <= _LPC_EXACT_MAX
    if small.all():
        return table[n]
    out = _lpc_asymptotic(np.maximum(n, 1))
    return np.where(small, table[np.minimum(n, _LPC_EXACT_MAX)], out)


def _is_int_array(x: object) -> bool:
    return isinstance(x, np.ndarray) and (x.dtype.kind in "iub")


def parametric_complexity(n: int | np.ndarray) -> float | np.ndarray:
    """``L_pc(n)``: the parametric complexity of the binomial code for ``n`` trials, in bits.

    ``log2 Σ_{h=0..n} C(n,h) (h/n)^h ((n−h)/n)^(n−h)`` with ``0^0 = 1`` (so ``L_pc(0) = 0``,
    ``L_pc(1) = 1``). Exact (summed in log space with ``lgamma`` and log-sum-exp, tabulated once) up to
    n = 2048; above, Szpankowski's expansion ``√(πn/2) + 2/3 + √(2π)/(24√n) − 4/(135n)``, within
    1.3e-9 bits of the exact sum there. Takes an int or an integer array (vectorised)."""
    if isinstance(n, (Integral, np.integer)):
        if n < 0:
            raise InputError(f"parametric complexity needs n >= 0, got {n}")
        return float(_lpc(np.array([int(n)]))[0])
    arr = np.asarray(n)
    if not _is_int_array(arr):
        raise InputError(f"parametric complexity needs integer n, got {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise InputError(f"parametric complexity needs n >= 0, got {int(arr.min())}")
    return _lpc(arr)


@cache
def _ln_scalar(z: int) -> float:
    total = math.log2(C0)
    x = float(z)
    while True:
        x = math.log2(x)
        if x <= 0.0:
            return total
        total += x


def universal_integer_bits(z: int | np.ndarray) -> float | np.ndarray:
    """``L_N(z) = log* z + log2 c0`` for integers ``z ≥ 1`` (Rissanen's universal code), in bits.

    ``log* z = log2 z + log2 log2 z + …`` summing only the positive terms; ``c0 = 2.865064``. So
    ``L_N(1) = 1.5186`` and ``L_N(2) = 2.5186``. Takes an int or an integer array."""
    if isinstance(z, (Integral, np.integer)):
        if z < 1:
            raise InputError(f"the universal integer code needs z >= 1, got {z}")
        return _ln_scalar(int(z))
    arr = np.asarray(z)
    if not _is_int_array(arr):
        raise InputError(f"the universal integer code needs integer z, got {arr.dtype}")
    if arr.size and arr.min() < 1:
        raise InputError(f"the universal integer code needs z >= 1, got {int(arr.min())}")
    return _ln(arr)


def _ln(z: npt.ArrayLike) -> np.ndarray:
    z = np.asarray(z, dtype=np.int64)
    if z.size == 0:
        return np.zeros(z.shape)
    table = np.array([_ln_scalar(i) if i else 0.0 for i in range(int(z.max()) + 1)])
    return table[z]


def model_count_bits(n_rules: int) -> float:
    """The ``L_N(|M|)`` term: ``L_N(n_rules)`` for a non-empty model, 0 for the baseline (no rules)."""
    return _ln_scalar(n_rules) if n_rules > 0 else 0.0


def log2_binomial(n: int | np.ndarray, k: int | np.ndarray) -> float | np.ndarray:
    """``log2 C(n, k)`` via ``lgamma`` (vectorised over arrays); ``0 ≤ k ≤ n`` is required."""
    n_arr, k_arr = np.asarray(n), np.asarray(k)
    if not (_is_int_array(n_arr) and _is_int_array(k_arr)):
        raise InputError(f"log2_binomial needs integers, got {n_arr.dtype} and {k_arr.dtype}")
    if n_arr.size and k_arr.size and (np.any(k_arr < 0) or np.any(k_arr > n_arr)):
        raise InputError(f"log2_binomial needs 0 <= k <= n, got n={n!r}, k={k!r}")
    out = _lb(n_arr, k_arr)
    if np.ndim(out) == 0:
        return float(out)
    return out


def _lb(n: npt.ArrayLike, k: npt.ArrayLike) -> np.ndarray:
    """Vectorised ``log2 C(n, k)`` (no checks)."""
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return (gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)) / _LN2


# --------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class NeuronRule:
    """A rule ``X →_l Y`` over head and tail neurons, with the statistics it had in the model.

    ``head``/``tail`` are sorted column indices into the head/tail matrices. The rule *applies* in the
    ``applies`` rows where at least ``l`` of ``head`` fire and *holds* in the ``holds`` of them where at
    least ``k`` of ``tail`` fire. ``x_plus``/``x_minus`` count the ones of the error matrices (tail
    neurons firing where it applies but does not hold / missing where it holds). ``gain_bits`` is what
    the rule saves in the final model, ``L(D, M \\ {r}) − L(D, M)`` without the shared ``L_N(|M|)``
    term; ``bits`` is its own share of the code (its model and data cost, leftover rows of its tail
    neurons included). ``encoded_length`` and ``encode`` read only ``head``, ``tail``, ``l`` and ``k``."""

    head: tuple[int, ...]
    tail: tuple[int, ...]
    l: int
    k: int
    applies: int = 0
    holds: int = 0
    gain_bits: float = 0.0
    x_plus: int = 0
    x_minus: int = 0
    bits: float = 0.0

    @property
    def confidence(self) -> float:
        """``holds / applies`` (0 when the rule applies nowhere)."""
        return self.holds / self.applies if self.applies else 0.0

    @property
    def kind(self) -> str:
        """``conjunction`` (l = |X|), ``disjunction`` (l = 1 < |X|) or ``at least l``."""
        if self.l == len(self.head):
            return "conjunction"
        if self.l == 1:
            return "disjunction"
        return f"at least {self.l}"


@dataclass
class ExplainnResult:
    """What ``explainn`` found: the rules (largest gain first) and the code lengths, in bits.

    ``baseline_bits`` is ``L(D, M_ind)``; ``total_bits = model_bits + data_bits`` is ``L(D, M)`` of the
    final model (``L_N(|M|)`` included in ``model_bits``); ``history`` holds ``L(D, M)`` at the start
    (the baseline) and after every accepted step, so it decreases strictly."""

    rules: list[NeuronRule]
    baseline_bits: float
    total_bits: float
    model_bits: float
    data_bits: float
    history: list[float]
    n_samples: int
    n_head: int
    n_tail: int
    head_names: list[str] | None = None
    tail_names: list[str] | None = None
    settings: dict[str, object] = field(default_factory=dict)

    @property
    def compression(self) -> float:
        """``total_bits / baseline_bits`` (below 1 when the rules compress)."""
        return self.total_bits / self.baseline_bits if self.baseline_bits else 1.0

    def names(self, rule: NeuronRule) -> tuple[list[str], list[str]]:
        """The rule's head and tail neuron names (their indices as strings when no names were given)."""
        heads = [self.head_names[i] if self.head_names else str(i) for i in rule.head]
        tails = [self.tail_names[i] if self.tail_names else str(i) for i in rule.tail]
        return heads, tails


@dataclass(frozen=True)
class CodeLength:
    """``L(M)`` and ``L(D|M)`` of one model, in bits."""

    model_bits: float
    data_bits: float

    @property
    def total(self) -> float:
        return self.model_bits + self.data_bits


@dataclass(frozen=True, eq=False)
class RuleCode:
    """What is sent for one rule: ``X``, ``Y``, ``l`` (``k`` for information only: it is implied by
    ``holds``), which rows of ``T_X`` (in row order) are in ``T_{Y|X}``, and the error matrices —
    ``x_minus`` (``|T_{Y|X}| × |Y|``, XOR with ones gives ``D[T_{Y|X}, Y]``) and ``x_plus``
    (``|T_X \\ T_{Y|X}| × |Y|``, equal to ``D[T_X \\ T_{Y|X}, Y]``); ``None`` without error matrices."""

    head: tuple[int, ...]
    tail: tuple[int, ...]
    l: int
    k: int
    holds: np.ndarray
    x_minus: np.ndarray | None
    x_plus: np.ndarray | None


@dataclass(frozen=True, eq=False)
class EncodedData:
    """The whole message: every head neuron's rows, the rules, and each tail neuron's leftover rows
    ``T'_I``. ``decode`` rebuilds both matrices from it alone."""

    n_samples: int
    head_rows: list[np.ndarray]
    rules: list[RuleCode]
    tail_rows: list[np.ndarray]
    error_matrices: bool
    literal_holds: bool


# --------------------------------------------------------------------------------------------------
# validation


def _as_bool_matrix(name: str, x: object) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as error:  # noqa: BLE001 - anything numpy cannot take is bad input
        raise InputError(f"{name} must be a 2-D boolean array: {error}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D (samples × neurons) array, got {arr.ndim}-D shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name} is empty: shape {arr.shape} (need at least one sample and one neuron)")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} must be boolean (binarized activations), got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise InputError(
            f"{name} must be binarized (0/1 or bool); {int(bad.sum())} values are not, "
            f"e.g. {arr[row, col]!r} at row {row}, column {col}"
        )
    return arr != 0


def _check_pair(head: object, tail: object) -> tuple[np.ndarray, np.ndarray]:
    h = _as_bool_matrix("head", head)
    t = _as_bool_matrix("tail", tail)
    if h.shape[0] != t.shape[0]:
        raise InputError(
            f"head has {h.shape[0]} samples (rows) but tail has {t.shape[0]}; both layers need one row per sample"
        )
    return h, t


def _check_rules(
    rules: Sequence[NeuronRule], n_head: int, n_tail: int, *, robust: bool, error_matrices: bool
) -> list[tuple[tuple[int, ...], tuple[int, ...], int, int]]:
    out = []
    seen: dict[int, int] = {}
    for index, rule in enumerate(rules):
        head = tuple(sorted({int(i) for i in rule.head}))
        tail = tuple(sorted({int(i) for i in rule.tail}))
        if len(head) != len(rule.head) or len(tail) != len(rule.tail):
            raise InputError(f"rule {index} repeats a neuron: head {rule.head}, tail {rule.tail}")
        if not head or not tail:
            raise InputError(f"rule {index} needs a non-empty head and tail, got {rule.head} -> {rule.tail}")
        if head[0] < 0 or head[-1] >= n_head:
            raise InputError(f"rule {index} head {rule.head} is outside the {n_head} head neurons")
        if tail[0] < 0 or tail[-1] >= n_tail:
            raise InputError(f"rule {index} tail {rule.tail} is outside the {n_tail} tail neurons")
        for i in tail:
            if i in seen:
                raise InputError(f"tail neuron {i} is in rules {seen[i]} and {index}; tails must be disjoint")
            seen[i] = index
        l, k = int(rule.l), int(rule.k)
        if not 1 <= l <= len(head):
            raise InputError(f"rule {index}: l = {l} must be in 1..{len(head)} (|X|)")
        if not 1 <= k <= len(tail):
            raise InputError(f"rule {index}: k = {k} must be in 1..{len(tail)} (|Y|)")
        if not robust and l != len(head):
            raise InputError(
                f"rule {index}: without relaxation the head is a conjunction, l = |X| = {len(head)}, got {l}"
            )
        if not (robust and error_matrices) and k != len(tail):
            raise InputError(f"rule {index}: without error matrices only k = |Y| = {len(tail)} is lossless, got {k}")
        out.append((head, tail, l, k))
    return out


# --------------------------------------------------------------------------------------------------
# direct (non-incremental) code lengths, encoding and decoding


def _rule_rows(
    h: np.ndarray, t: np.ndarray, head: tuple[int, ...], tail: tuple[int, ...], l: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    applies = h[:, list(head)].sum(axis=1) >= l
    holds = applies & (t[:, list(tail)].sum(axis=1) >= k)
    return applies, holds


def encoded_length(
    head: np.ndarray,
    tail: np.ndarray,
    rules: Sequence[NeuronRule],
    *,
    robust: bool = True,
    error_matrices: bool = True,
    literal_holds: bool = False,
    include_model_count: bool = True,
) -> CodeLength:
    """``L(M)`` and ``L(D|M)`` of the given rules on this data, computed directly from the definitions.

    Only each rule's ``head``, ``tail``, ``l`` and ``k`` are read. ``robust`` charges ``L_N(l)`` per rule
    (without it every head must be a conjunction); ``error_matrices`` sends ``X±`` (``robust=False``
    implies none; without them every ``k`` must be ``|Y|``); ``literal_holds`` keeps the ``X+`` ones in
    the leftover rows too; ``include_model_count=False`` leaves out ``L_N(|M|)`` as the paper's worked
    example does. With no rules this is the baseline ``L(D, M_ind)``."""
    h, t = _check_pair(head, tail)
    error_matrices = error_matrices and robust
    checked = _check_rules(rules, h.shape[1], t.shape[1], robust=robust, error_matrices=error_matrices)
    n = h.shape[0]
    sup_h = h.sum(axis=0).astype(np.int64)
    sup_t = t.sum(axis=0).astype(np.int64)
    total = int(sup_h.sum() + sup_t.sum())
    model = (h.shape[1] + t.shape[1]) * parametric_complexity(n)
    if include_model_count:
        model += model_count_bits(len(checked))
    data = float(np.sum(_lb(n, sup_h)))
    left = sup_t.copy()
    for head_items, tail_items, l, k in checked:
        supports = [int(sup_h[i]) for i in head_items] + [int(sup_t[i]) for i in tail_items]
        if min(supports) == 0:
            raise InputError(
                f"rule {head_items} -> {tail_items} names a neuron that never fires; its code length is infinite"
            )
        applies, holds = _rule_rows(h, t, head_items, tail_items, l, k)
        a, hh, ny = int(applies.sum()), int(holds.sum()), len(tail_items)
        model += (
            _ln_scalar(len(head_items))
            + _ln_scalar(ny)
            + sum(-math.log2(s / total) for s in supports)
            + parametric_complexity(a)
        )
        if robust:
            model += _ln_scalar(l)
        data += float(_lb(a, hh))
        if error_matrices:
            miss = applies & ~holds
            x_minus = int((~t[holds][:, list(tail_items)]).sum())
            x_plus = int(t[miss][:, list(tail_items)].sum())
            model += parametric_complexity(hh * ny) + parametric_complexity((a - hh) * ny)
            data += float(_lb((a - hh) * ny, x_plus) + _lb(hh * ny, x_minus))
            covered = holds if literal_holds else applies
        else:
            covered = holds
        for i in tail_items:
            left[i] = int((t[:, i] & ~covered).sum())
    data += float(np.sum(_lb(n, left)))
    return CodeLength(float(model), float(data))


def encode(
    head: np.ndarray,
    tail: np.ndarray,
    rules: Sequence[NeuronRule],
    *,
    robust: bool = True,
    error_matrices: bool = True,
    literal_holds: bool = False,
) -> EncodedData:
    """The message ``encoded_length`` prices: head rows, per rule ``T_{Y|X}`` within ``T_X`` and the
    error matrices, and the tail neurons' leftover rows. ``decode`` inverts it."""
    h, t = _check_pair(head, tail)
    error_matrices = error_matrices and robust
    checked = _check_rules(rules, h.shape[1], t.shape[1], robust=robust, error_matrices=error_matrices)
    codes = []
    covered_by = {}
    for head_items, tail_items, l, k in checked:
        applies, holds = _rule_rows(h, t, head_items, tail_items, l, k)
        rows = np.flatnonzero(applies)
        in_holds = holds[rows]
        x_minus = x_plus = None
        if error_matrices:
            block = t[rows][:, list(tail_items)]
            x_minus = ~block[in_holds]
            x_plus = block[~in_holds].copy()
            covered = holds if literal_holds else applies
        else:
            covered = holds
        for i in tail_items:
            covered_by[i] = covered
        codes.append(RuleCode(head_items, tail_items, l, k, in_holds, x_minus, x_plus))
    tail_rows = []
    for i in range(t.shape[1]):
        column = t[:, i] & ~covered_by[i] if i in covered_by else t[:, i]
        tail_rows.append(np.flatnonzero(column))
    head_rows = [np.flatnonzero(h[:, i]) for i in range(h.shape[1])]
    return EncodedData(h.shape[0], head_rows, codes, tail_rows, error_matrices, literal_holds)


def decode(message: EncodedData) -> tuple[np.ndarray, np.ndarray]:
    """Rebuilds the (head, tail) boolean matrices from ``encode``'s message alone."""
    n = message.n_samples
    head = np.zeros((n, len(message.head_rows)), dtype=bool)
    for i, rows in enumerate(message.head_rows):
        head[rows, i] = True
    tail = np.zeros((n, len(message.tail_rows)), dtype=bool)
    for rule in message.rules:
        cols = list(rule.tail)
        rows = np.flatnonzero(head[:, list(rule.head)].sum(axis=1) >= rule.l)
        if rows.size != rule.holds.size:
            raise InputError(
                f"message is inconsistent: rule {rule.head} -> {rule.tail} applies in "
                f"{rows.size} rows but sends {rule.holds.size} flags"
            )
        held, missed = rows[rule.holds], rows[~rule.holds]
        if message.error_matrices:
            if rule.x_minus is None or rule.x_plus is None:
                raise InputError(f"message is inconsistent: rule {rule.head} -> {rule.tail} sends no error matrices")
            tail[np.ix_(held, cols)] = ~rule.x_minus
            tail[np.ix_(missed, cols)] = rule.x_plus
        else:
            tail[np.ix_(held, cols)] = True
    for i, rows in enumerate(message.tail_rows):
        tail[rows, i] = True
    return head, tail


# --------------------------------------------------------------------------------------------------
# search


@dataclass(frozen=True, eq=False)
class _Eval:
    """The best (l, k) of one candidate rule and its cost."""

    head: tuple[int, ...]
    tail: tuple[int, ...]
    l: int
    k: int
    applies: int
    holds: int
    x_plus: int
    x_minus: int
    model_bits: float
    data_bits: float
    gain: float  # singleton cost of the tail neurons minus the rule's cost


def _suffix(a: np.ndarray, axis: int) -> np.ndarray:
    """``out[..., i, ...] = Σ_{j ≥ i} a[..., j, ...]`` (axis 0, 1 or 2)."""
    reverse = (slice(None),) * axis + (slice(None, None, -1),)
    return a[reverse].cumsum(axis=axis)[reverse]


class _Search:
    def __init__(
        self,
        h: np.ndarray,
        t: np.ndarray,
        *,
        theta: float,
        mu: int | None,
        robust: bool,
        error_matrices: bool,
        max_head: int | None,
        head_is_label: bool,
        literal_holds: bool,
    ) -> None:
        self.n = n = h.shape[0]
        self.n_head, self.n_tail = h.shape[1], t.shape[1]
        self.theta, self.mu, self.max_head = theta, mu, max_head
        self.robust, self.label = robust, head_is_label
        self.error_matrices = error_matrices and robust
        self.literal_holds = literal_holds
        self.h8 = np.ascontiguousarray(h, dtype=np.uint8)
        self.t_bool = t
        self.sup_h = h.sum(axis=0).astype(np.int64)
        self.sup_t = t.sum(axis=0).astype(np.int64)
        total = float(self.sup_h.sum() + self.sup_t.sum())
        with np.errstate(divide="ignore"):
            self.bits_h = -np.log2(self.sup_h / total) if total else np.full(self.n_head, np.inf)
            self.bits_t = -np.log2(self.sup_t / total) if total else np.full(self.n_tail, np.inf)
        self.single_t = _lb(n, self.sup_t)
        self.tail_rows = [np.flatnonzero(t[:, j]) for j in range(self.n_tail)]
        # 0/1 copies for the matrix products; float32 sums of ones are exact below 2^24 rows
        real = np.float32 if n < 2**24 else np.float64
        self.head_f: np.ndarray = np.ascontiguousarray(h.T, dtype=real)
        self.tail_f: np.ndarray = np.ascontiguousarray(t.T, dtype=real)
        # candidates per product, so the (batch × n) count matrices stay near 32 MiB
        self.batch = max(8, min(_BATCH, (1 << 23) // n))
        # σ_{x,A} = |T_x ∩ T_A| / |T_x|
        co = self.head_f @ self.tail_f.T
        with np.errstate(divide="ignore", invalid="ignore"):
            self.sigma = np.where(self.sup_h[:, None] > 0, co / np.maximum(self.sup_h, 1)[:, None], 0.0)
        self.baseline = sum(self.state_bits([]))

    # -- totals ---------------------------------------------------------------------------------------

    def state_bits(self, rules: Sequence[_Eval]) -> tuple[float, float]:
        """(model, data) bits of the model with these rules."""
        n = self.n
        model = (self.n_head + self.n_tail) * float(_lpc(np.array([n]))[0]) + model_count_bits(len(rules))
        in_rule = np.zeros(self.n_tail, dtype=bool)
        model += math.fsum(r.model_bits for r in rules)
        rule_data = math.fsum(r.data_bits for r in rules)
        for r in rules:
            in_rule[list(r.tail)] = True
        data = float(np.sum(_lb(n, self.sup_h))) + float(np.sum(self.single_t[~in_rule])) + rule_data
        return model, data

    # -- cost grids -----------------------------------------------------------------------------------

    def _bits(
        self,
        nx: int | np.ndarray,
        ny: int | np.ndarray,
        lx: float | np.ndarray,
        ly: float | np.ndarray,
        l: np.ndarray,
        a: np.ndarray,
        h: np.ndarray,
        pos: int | np.ndarray,
        neg: int | np.ndarray,
        resid_bits: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        model = _ln(nx) + _ln(ny) + lx + ly + _lpc(a)
        if self.robust:
            model = model + _ln(l)
        data = _lb(a, h) + resid_bits
        if self.error_matrices:
            hit, miss = h * ny, (a - h) * ny
            model = model + _lpc(hit) + _lpc(miss)
            data = data + _lb(miss, pos) + _lb(hit, neg)
        return model, data

    # -- new rules (GenCandidateNew) --------------------------------------------------------------------

    def best_new(self, target: int) -> _Eval | None:
        sig = self.sigma[:, target]
        candidates = np.flatnonzero((sig > self.theta) & (self.sup_h > 0))
        if candidates.size == 0 or self.sup_t[target] == 0:
            return None
        order = candidates[np.argsort(-sig[candidates], kind="stable")]
        if self.max_head is not None:
            order = order[: self.max_head]
        m = order.size
        width = m + 1
        dtype = np.uint8 if m < 2**8 else np.uint16 if m < 2**16 else np.uint32
        offsets = (np.arange(m, dtype=np.int64) * width)[None, :]
        hist_all = np.zeros(m * width, dtype=np.int64)
        hist_hit = np.zeros(m * width, dtype=np.int64)
        fires = self.t_bool[:, target]
        block = max(1, _CELLS // m)
        for start in range(0, self.n, block):
            stop = min(self.n, start + block)
            cum = np.cumsum(self.h8[start:stop, order], axis=1, dtype=dtype)
            codes = cum.astype(np.int64)
            codes += offsets
            hist_all += np.bincount(codes.ravel(), minlength=m * width)
            hist_hit += np.bincount(codes[fires[start:stop]].ravel(), minlength=m * width)
        # a[t, l-1] = rows where at least l of the first t+1 prefix items fire
        a = _suffix(hist_all.reshape(m, width), axis=1)[:, 1:]
        h = _suffix(hist_hit.reshape(m, width), axis=1)[:, 1:]
        size = np.arange(1, m + 1)[:, None]
        l = np.arange(1, m + 1)[None, :]
        valid = l <= size
        if not self.robust:
            valid = l == size
        if self.label:
            valid = valid & (l == 1)
        lx = np.cumsum(self.bits_h[order])[:, None]
        resid = self.sup_t[target] - h
        model, data = self._bits(size, 1, lx, self.bits_t[target], l, a, h, 0, 0, _lb(self.n, resid))
        cost = np.where(valid, model + data, np.inf)
        best = int(np.argmin(cost))
        ti, li = divmod(best, m)
        if not np.isfinite(cost.flat[best]):
            return None
        head = tuple(sorted(int(x) for x in order[: ti + 1]))
        return _Eval(
            head,
            (int(target),),
            li + 1,
            1,
            int(a[ti, li]),
            int(h[ti, li]),
            0,
            0,
            float(model[ti, li]),
            float(data[ti, li]),
            float(self.single_t[target] - cost[ti, li]),
        )

    # -- merges ---------------------------------------------------------------------------------------

    def evaluate(self, keys: Sequence[tuple[tuple[int, ...], tuple[int, ...]]]) -> list[_Eval]:
        out: list[_Eval] = []
        for start in range(0, len(keys), self.batch):
            batch = keys[start : start + self.batch]
            pick_h = np.zeros((len(batch), self.n_head), dtype=self.head_f.dtype)
            pick_t = np.zeros((len(batch), self.n_tail), dtype=self.tail_f.dtype)
            for j, (x, y) in enumerate(batch):
                pick_h[j, list(x)] = 1.0
                pick_t[j, list(y)] = 1.0
            count_h = (pick_h @ self.head_f).astype(np.int64)  # exact sums of ones
            count_t = (pick_t @ self.tail_f).astype(np.int64)
            for j, (x, y) in enumerate(batch):
                out.append(self._evaluate_one(x, y, count_h[j], count_t[j]))
        return out

    def _evaluate_one(self, x: tuple[int, ...], y: tuple[int, ...], cx: np.ndarray, cy: np.ndarray) -> _Eval:
        nx, ny = len(x), len(y)
        width = ny + 1
        size = (nx + 1) * width
        code = cx * width + cy
        joint = np.bincount(code, minlength=size).reshape(nx + 1, width)
        rows_at_least = _suffix(joint, axis=0)[1:]  # [l-1, c_y]: c_x >= l
        a = rows_at_least.sum(axis=1)  # (nx,)
        h = _suffix(rows_at_least, axis=1)[:, 1:]  # [l-1, k-1]
        ones = rows_at_least * np.arange(width)[None, :]
        ones_held = _suffix(ones, axis=1)[:, 1:]
        pos = ones.sum(axis=1)[:, None] - ones_held
        neg = h * ny - ones_held
        rows = [self.tail_rows[i] for i in y]
        owner = np.repeat(np.arange(ny, dtype=np.int64), [r.size for r in rows])
        cat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        sup = self.sup_t[list(y)]
        if self.error_matrices and not self.literal_holds:
            per: np.ndarray = np.bincount(owner * (nx + 1) + cx[cat], minlength=ny * (nx + 1)).reshape(ny, nx + 1)
            inside = _suffix(per, axis=1)[:, 1:]  # [i, l-1]
            resid_bits = _lb(self.n, sup[:, None] - inside).sum(axis=0)[:, None]
        else:
            per = np.bincount(owner * size + code[cat], minlength=ny * size).reshape(ny, nx + 1, width)
            inside = _suffix(_suffix(per, axis=1), axis=2)[:, 1:, 1:]  # [i, l-1, k-1]
            resid_bits = _lb(self.n, sup[:, None, None] - inside).sum(axis=0)
        l = np.arange(1, nx + 1)[:, None]
        k = np.arange(1, ny + 1)[None, :]
        lx = float(self.bits_h[list(x)].sum())
        ly = float(self.bits_t[list(y)].sum())
        model, data = self._bits(nx, ny, lx, ly, l, a[:, None], h, pos, neg, resid_bits)
        model, data = np.broadcast_arrays(model, data)
        valid = np.ones((nx, ny), dtype=bool)
        if not self.robust:
            valid &= l == nx
        if self.label:
            valid &= l == 1
        if not self.error_matrices:
            valid &= k == ny
        cost = np.where(valid, model + data, np.inf)
        # ties: smaller l, then larger k (flip k so argmin's first hit is the larger one)
        flipped = cost[:, ::-1]
        best = int(np.argmin(flipped))
        li, kr = divmod(best, ny)
        ki = ny - 1 - kr
        single = float(self.single_t[list(y)].sum())
        return _Eval(
            tuple(x),
            tuple(y),
            li + 1,
            ki + 1,
            int(a[li]),
            int(h[li, ki]),
            int(pos[li, ki]),
            int(neg[li, ki]),
            float(model[li, ki]),
            float(data[li, ki]),
            single - float(cost[li, ki]),
        )


def explainn(
    head: np.ndarray,
    tail: np.ndarray,
    *,
    theta: float = 0.0,
    mu: int | None = None,
    robust: bool = True,
    error_matrices: bool = True,
    max_head: int | None = None,
    head_is_label: bool = False,
    literal_holds: bool = False,
    head_names: Sequence[str] | None = None,
    tail_names: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExplainnResult:
    """Mines an MDL rule set ``X →_l Y`` from the head layer to the tail layer (spec section 2).

    ``head``/``tail``: boolean (or 0/1) ``(n_samples, n_head)`` and ``(n_samples, n_tail)`` matrices.
    ``theta``: a head neuron ``x`` is a candidate for tail neuron ``A`` only if ``σ_{x,A} > theta``
    (0 = every co-firing neuron, the paper's best-MDL setting). ``mu``: two rules merge only if their
    heads differ in at most ``mu`` neurons (None = no limit, ``|X1| + |X2|``). ``robust=False`` is the
    non-relaxed baseline (conjunctive heads, exact tails, no error matrices); ``error_matrices=False``
    keeps relaxed heads but exact tails. ``max_head`` caps a new rule's head at the ``max_head`` best
    neurons by σ. ``head_is_label``: the head is a one-hot label layer, so only disjunctions
    (``l = 1``). ``literal_holds``: see the module notes. ``progress(done, total)`` is called after
    each tail neuron's new-rule search (``total = n_tail``) and once more, ``(n_tail, n_tail)``, when
    the merges are done."""
    h, t = _check_pair(head, tail)
    if not (isinstance(theta, Real) and 0.0 <= float(theta) < 1.0):
        raise InputError(f"theta must be in [0, 1), got {theta!r}")
    if mu is not None and (not isinstance(mu, (Integral, np.integer)) or mu < 0):
        raise InputError(f"mu must be a non-negative integer or None (no limit), got {mu!r}")
    if max_head is not None and (not isinstance(max_head, (Integral, np.integer)) or max_head < 1):
        raise InputError(f"max_head must be a positive integer or None (no limit), got {max_head!r}")
    for name, names, width in (("head_names", head_names, h.shape[1]), ("tail_names", tail_names, t.shape[1])):
        if names is not None and len(names) != width:
            raise InputError(f"{name} has {len(names)} names for {width} neurons")
    search = _Search(
        h,
        t,
        theta=float(theta),
        mu=None if mu is None else int(mu),
        robust=robust,
        error_matrices=error_matrices,
        max_head=max_head,
        head_is_label=head_is_label,
        literal_holds=literal_holds,
    )
    model: dict[int, _Eval] = {}
    next_id = 0
    history = [search.baseline]

    def record() -> None:
        bits = search.state_bits(list(model.values()))
        history.append(bits[0] + bits[1])

    # new rules, one tail neuron at a time
    for target in range(search.n_tail):
        found = search.best_new(target)
        if found is not None:
            delta = -found.gain + model_count_bits(len(model) + 1) - model_count_bits(len(model))
            if delta < -_EPS:
                model[next_id] = found
                next_id += 1
                record()
        if progress is not None:
            progress(target + 1, search.n_tail)

    # merges, disjoint pairs per round, until nothing gains
    cache: dict[tuple[tuple[int, ...], tuple[int, ...]], _Eval] = {}
    while len(model) > 1:
        ids = sorted(model, key=lambda i: model[i].tail)
        pairs = []
        for a_pos, id1 in enumerate(ids):
            r1 = model[id1]
            set1 = set(r1.head)
            for id2 in ids[a_pos + 1 :]:
                r2 = model[id2]
                set2 = set(r2.head)
                if search.mu is not None and len(set1 ^ set2) > search.mu:
                    continue
                y = tuple(sorted(r1.tail + r2.tail))
                for x in {tuple(sorted(set1 & set2)), tuple(sorted(set1 | set2))}:
                    if x:
                        pairs.append(((x, y), id1, id2))
        missing = list(dict.fromkeys(key for key, _, _ in pairs if key not in cache))
        for key, ev in zip(missing, search.evaluate(missing), strict=False):
            cache[key] = ev
        shrink = model_count_bits(len(model) - 1) - model_count_bits(len(model))
        ranked = []
        for key, id1, id2 in pairs:
            saving = cache[key].gain - model[id1].gain - model[id2].gain
            if -saving + shrink < -_EPS:
                ranked.append((-saving, key, id1, id2))
        ranked.sort(key=lambda c: (c[0], c[1][1], c[1][0]))
        used: set[int] = set()
        changed = False
        for neg_saving, key, id1, id2 in ranked:
            if id1 not in model or id2 not in model or used.intersection(key[1]):
                continue
            delta = neg_saving + model_count_bits(len(model) - 1) - model_count_bits(len(model))
            if delta < -_EPS:
                del model[id1], model[id2]
                model[next_id] = cache[key]
                next_id += 1
                used.update(key[1])
                changed = True
                record()
        if not changed:
            break
    if progress is not None:
        progress(search.n_tail, search.n_tail)

    final = list(model.values())
    model_bits, data_bits = search.state_bits(final)
    rules = [
        NeuronRule(
            ev.head,
            ev.tail,
            ev.l,
            ev.k,
            ev.applies,
            ev.holds,
            ev.gain,
            ev.x_plus,
            ev.x_minus,
            ev.model_bits + ev.data_bits,
        )
        for ev in final
    ]
    rules.sort(key=lambda r: (-r.gain_bits, r.tail))
    return ExplainnResult(
        rules=rules,
        baseline_bits=search.baseline,
        total_bits=model_bits + data_bits,
        model_bits=model_bits,
        data_bits=data_bits,
        history=history,
        n_samples=search.n,
        n_head=search.n_head,
        n_tail=search.n_tail,
        head_names=list(head_names) if head_names is not None else None,
        tail_names=list(tail_names) if tail_names is not None else None,
        settings={
            "theta": float(theta),
            "mu": mu,
            "robust": robust,
            "error_matrices": search.error_matrices,
            "max_head": max_head,
            "head_is_label": head_is_label,
            "literal_holds": literal_holds,
        },
    )
