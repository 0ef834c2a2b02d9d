"""The Wikidata-linked SimpleQuestions set as a binary text task: is a question about a person's life?

Each line of ``annotated_wd_data_{train,valid,test}.txt`` is ``subject \\t property \\t object \\t question``:
the gold subject (a QID the question names), the property asked about (``P…``, or ``R…`` for its inverse)
and the answer. The label is the *family* of the property: **biographical** (place of birth or death,
citizenship, occupation, gender, cause of death, family, education, …: the facts of a person's life,
``BIOGRAPHICAL``) or **other** (works, genres, places, organisations, …), whichever way it is asked
(``R19`` "who was born in Detroit" is biographical like ``P19``). About 39 % of questions are biographical.

The validation file joins the training split (the trainer carves its own validation set out of it). Each
question keeps its gold subject as ``Document.subject``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..vocab import WD
from .datasets import Dataset, Document

__all__ = ["BIOGRAPHICAL", "FILES", "is_questions_dir", "read_questions"]

#: Properties of a person's life: birth, death, burial, gender, ethnicity, religion, citizenship,
#: languages, family, education, work, membership, awards, residence, health, teachers and influences.
BIOGRAPHICAL = frozenset(
    {
        "P19",
        "P20",
        "P119",
        "P509",
        "P1050",
        "P21",
        "P91",
        "P172",
        "P140",
        "P27",
        "P103",
        "P1412",
        "P22",
        "P25",
        "P26",
        "P40",
        "P3373",
        "P1038",
        "P53",
        "P734",
        "P735",
        "P69",
        "P1066",
        "P802",
        "P184",
        "P185",
        "P737",
        "P106",
        "P101",
        "P108",
        "P39",
        "P102",
        "P463",
        "P54",
        "P413",
        "P1303",
        "P166",
        "P551",
        "P552",
        "P1340",
    }
)

#: split name -> file name; ``valid`` is read into the training split.
FILES = {
    "train": "annotated_wd_data_train.txt",
    "valid": "annotated_wd_data_valid.txt",
    "test": "annotated_wd_data_test.txt",
}
CLASSES = ("other", "biographical")


def is_questions_dir(path: Path) -> bool:
    return path.is_dir() and (path / FILES["train"]).is_file() and (path / FILES["test"]).is_file()


def _read(path: Path, split: str, prefix: str, limit: int | None) -> tuple[list[Document], int]:
    docs: list[Document] = []
    bad = 0
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if limit is not None and len(docs) >= limit:
                break
            parts = line.rstrip("\r\n").split("\t")
            if (
                len(parts) != 4
                or not parts[0].startswith("Q")
                or parts[1][:1] not in ("P", "R")
                or not parts[3].strip()
            ):
                bad += 1
                continue
            subject, prop, _answer, question = parts
            label = int(f"P{prop[1:]}" in BIOGRAPHICAL)
            docs.append(Document(f"{prefix}-{number}", question.strip(), label, split, subject=WD + subject))
    return docs, bad


def read_questions(directory: Path, *, name: str | None = None, limit: int | None = None) -> Dataset:
    """The questions of ``directory`` (train + valid → train, test → test); ``limit`` keeps the first
    ``limit`` questions of each file. Malformed lines are counted in ``Dataset.notes``, not fatal."""
    if not is_questions_dir(directory):
        raise InputError(f"{directory} has no {FILES['train']} and {FILES['test']}")
    docs: list[Document] = []
    notes: list[str] = []
    for prefix, file in FILES.items():
        path = directory / file
        if not path.is_file():
            continue
        split = "test" if prefix == "test" else "train"
        part, bad = _read(path, split, prefix, limit)
        docs += part
        if bad:
            notes.append(f"{file}: {bad:,} malformed line(s) skipped")
    dataset = Dataset(name or "questions", docs, CLASSES, notes)
    for split in ("train", "test"):
        if not dataset.split(split) or len({d.label for d in dataset.split(split)}) < 2:
            raise InputError(f"{directory}: the {split} split needs questions of both classes")
    return dataset
