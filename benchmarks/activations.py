"""Activations in the store: kgexplain's compact vectors vs one triple per value, same activations, one run.

Activations of 1k documents × 3 layers × 100 neurons (ReLU-like, seeded; the peer makes 10k too slow for
`make bench`: 2k took it 44 s to load and 0.9 GB on disk). ``ours`` writes them with
``publish.rdf.activation_triples`` — one node per document × layer holding the raw values, the active
flags and the bins as three literals — and the peer writes the plain RDF reading: one node per document ×
neuron with its value, active flag and bin as typed literals. Both are bulk-loaded into a fresh on-disk
store. Reported: triples written, load time, bytes on disk, and the time to read every value back.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, time_ratio  # noqa: E402

from kgexplain.models.activations import binarize, uniform_bins  # noqa: E402
from kgexplain.publish.rdf import activation_triples  # noqa: E402
from kgexplain.queries import load_query  # noqa: E402
from kgexplain.store import EmbeddedStore  # noqa: E402
from kgexplain.vocab import KGX, Minter, nt_bool, nt_float, nt_int, nt_iri  # noqa: E402

RUN = "bench-act"


def activations(docs: int, layers: int, neurons: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"layer{k}": np.maximum(rng.normal(0, 1, (docs, neurons)), 0).astype(np.float32) for k in range(layers)}


def per_value_triples(minter: Minter, documents: list[str], layers: dict[str, np.ndarray], bins: int):
    """The peer: a node per (document, neuron) with the neuron, document, value, active flag and bin."""
    for name, values in layers.items():
        codes, _, _ = uniform_bins(values, bins)
        active = binarize(values)
        neurons = [nt_iri(minter.neuron(RUN, name, j)) for j in range(values.shape[1])]
        for i, doc in enumerate(documents):
            d = nt_iri(doc)
            for j, neuron in enumerate(neurons):
                node = nt_iri(minter.activation(RUN, i, name) + f"/{j}")
                yield node, nt_iri(KGX + "neuron"), neuron
                yield node, nt_iri(KGX + "document"), d
                yield node, nt_iri(KGX + "value"), nt_float(float(values[i, j]))
                yield node, nt_iri(KGX + "active"), nt_bool(bool(active[i, j]))
                yield node, nt_iri(KGX + "bin"), nt_int(int(codes[i, j]))


PEER_READ = """PREFIX kgx: <https://w3id.org/kgexplain/ns#>
SELECT ?doc ?neuron ?value WHERE { GRAPH ?g { ?n kgx:document ?doc ; kgx:neuron ?neuron ; kgx:value ?value } }"""


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(path: Path, graph: ox.NamedNode, triples) -> tuple[int, float, int, EmbeddedStore]:
    db = EmbeddedStore(path)
    start = time.perf_counter()
    n = db.load(triples, graph)
    db.flush()
    seconds = time.perf_counter() - start
    return n, seconds, size(path), db


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    rec = Recorder(args.output)
    docs, layers_n, neurons = (300, 3, 100) if args.quick else (1_000, 3, 100)
    case = f"{docs // 1000}k docs x {layers_n} layers x {neurons} neurons"
    minter = Minter()
    documents = [minter.document("bench", str(i)) for i in range(docs)]
    layers = activations(docs, layers_n, neurons)
    graph = ox.NamedNode(minter.run_graph(RUN).value)
    with tempfile.TemporaryDirectory() as tmp:
        n_ours, t_ours, b_ours, ours = measure(
            Path(tmp) / "ours", graph, activation_triples(RUN, minter, documents, layers, 4, 0.0)
        )
        start = time.perf_counter()
        frame = ours.select(load_query("neurons/activation_vectors"), run_graph=graph)
        from kgexplain.models.activations import decode_values

        _ = [decode_values(v) for v in frame["values"].to_list()]
        read_ours = time.perf_counter() - start
        ours.close()
        n_peer, t_peer, b_peer, peer = measure(
            Path(tmp) / "peer", graph, per_value_triples(minter, documents, layers, 4)
        )
        start = time.perf_counter()
        rows = peer.select(PEER_READ)
        read_peer = time.perf_counter() - start
        assert rows.height == docs * layers_n * neurons, rows.height
        peer.close()
    name = "one node per value"
    rec.emit("activations", f"{case}: triples", "triples", n_ours, name, n_peer, n_peer / n_ours)
    rec.emit("activations", f"{case}: bulk load", "s", t_ours, name, t_peer, time_ratio(t_ours, t_peer))
    rec.emit("activations", f"{case}: store on disk", "MB", b_ours / 1e6, name, b_peer / 1e6, b_peer / b_ours)
    rec.emit(
        "activations",
        f"{case}: read all values back",
        "s",
        read_ours,
        name,
        read_peer,
        time_ratio(read_ours, read_peer),
    )


if __name__ == "__main__":
    main()
