"""kgexplain: what a neural text classifier keys on, as association rules over Wikidata, published as RDF."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kgexplain")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
