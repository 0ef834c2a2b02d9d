"""The SimpleQuestions loader: labels by property family, inverse properties, malformed lines, splits;
and the corpus-case check that decides whether grounding needs capitals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgexplain.errors import InputError
from kgexplain.loaders.datasets import dataset_triples, read_dataset
from kgexplain.loaders.questions import BIOGRAPHICAL, FILES, read_questions
from kgexplain.text import capitalized_share, is_cased_corpus
from kgexplain.vocab import KGX, Minter

TRAIN = [
    "Q1297\tR276\tQ2888523\tWhats the name of a battle that happened in chicago",  # location: other
    "Q12439\tR19\tQ6106580\twho is a musician born in detroit",  # inverse birth place: bio
    "Q7370831\tP162\tQ361208\twho produced the film rough house rosie",  # producer: other
    "Q42\tP106\tQ36180\twhat is douglas adams's job",  # occupation: bio
    "not a line",  # malformed
    "Q5\tX31\tQ1\twhat is it",  # malformed property
]
TEST = ["Q90\tP17\tQ142\twhich country is paris in", "Q1001\tP27\tQ668\twhat is gandhi's nationality"]
VALID = ["Q64\tP131\tQ183\twhere is berlin"]


def _write(directory: Path, valid: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / FILES["train"]).write_text("\n".join(TRAIN), encoding="utf-8")  # no final newline, as shipped
    (directory / FILES["test"]).write_text("\n".join(TEST) + "\n", encoding="utf-8")
    if valid:
        (directory / FILES["valid"]).write_text("\n".join(VALID), encoding="utf-8")
    return directory


def test_labels_follow_the_property_family_in_either_direction(tmp_path: Path) -> None:
    dataset = read_dataset(_write(tmp_path / "q"))  # read_dataset recognises the directory
    assert dataset.name == "questions" and dataset.classes == ("other", "biographical")
    labels = {d.text: d.label for d in dataset.docs}
    assert labels["who is a musician born in detroit"] == 1 and "P19" in BIOGRAPHICAL
    assert labels["what is douglas adams's job"] == 1
    assert labels["Whats the name of a battle that happened in chicago"] == 0
    assert labels["who produced the film rough house rosie"] == 0
    assert labels["what is gandhi's nationality"] == 1
    assert [d.split for d in dataset.docs].count("test") == 2
    assert len(dataset.split("train")) == 4 + 1  # the valid file joins training
    assert dataset.notes == [f"{FILES['train']}: 2 malformed line(s) skipped"]
    subjects = {d.text: d.subject for d in dataset.docs}
    assert subjects["who is a musician born in detroit"] == "http://www.wikidata.org/entity/Q12439"


def test_subjects_become_rdf_and_limit_keeps_the_first_lines(tmp_path: Path) -> None:
    dataset = read_questions(_write(tmp_path / "q"), limit=2)
    assert [d.text for d in dataset.split("test")] == [t.split("\t")[3] for t in TEST]
    assert len(dataset.split("train")) == 2 + 1
    triples = list(dataset_triples(dataset, Minter()))
    subject_triples = [t for t in triples if t[1] == f"<{KGX}subjectEntity>"]
    assert len(subject_triples) == len(dataset.docs)
    assert "<http://www.wikidata.org/entity/Q1297>" in {t[2] for t in subject_triples}


def test_a_split_with_one_class_is_refused(tmp_path: Path) -> None:
    directory = _write(tmp_path / "q", valid=False)
    (directory / FILES["test"]).write_text(TEST[0], encoding="utf-8")
    with pytest.raises(InputError, match="test split needs questions of both classes"):
        read_questions(directory)


def test_corpus_case() -> None:
    lower = ["who is a musician born in detroit", "Whats the name of a battle in chicago"]
    cased = ["Pablo Picasso was a Spanish painter who lived in France .", "Claude Monet painted in Giverny"]
    assert capitalized_share(lower) == 0.0
    assert capitalized_share(cased) == pytest.approx(5 / 13)  # Picasso Spanish France; Monet Giverny
    assert not is_cased_corpus(lower) and is_cased_corpus(cased)
