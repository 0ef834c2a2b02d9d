"""The Wikidata dump reader and neighbourhood cutter, on the hand-written fixtures of tests/data (a small dump in
Wikidata's truthy N-Triples, two Wikibase JSON entities: tests/data/README.md). The same reader on the real
subset and API samples: tests/e2e/test_real_data_wikidata.py."""

from __future__ import annotations

import bz2
import gzip
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from wikidata_oracle import (
    ALT_LABEL,
    CUT_CANDIDATES,
    CUT_WORDS,
    DESCRIPTION,
    LABEL,
    P31,
    P279,
    expected_cut,
    normalize,
    ox_triples,
    wd,
    wdt,
)

from kgexplain.errors import InputError
from kgexplain.loaders.wikidata import (
    CutResult,
    LoadReport,
    copy_all,
    cut_neighbourhood,
    detect_format,
    iter_triples,
    literal_value,
    open_dump,
)
from kgexplain.vocab import RDFS, SCHEMA, WD, WDT

DATA = Path(__file__).resolve().parents[2] / "data"
DUMP = DATA / "wikidata-mini.nt"
DUMP_TRIPLES = 111


@pytest.fixture(scope="module")
def dump_lines() -> list[str]:
    """The fixture dump's lines, read without the module under test."""
    return DUMP.read_text(encoding="utf-8").splitlines()


def read_triples(path: Path) -> list[tuple[str, str, str]]:
    report = LoadReport.for_path(path)
    return list(iter_triples(path, report))


# --- the fixture dump ------------------------------------------------------------------------------
def test_copy_all_loads_in_oxigraph(dump_lines: list[str], tmp_path: Path) -> None:
    src = tmp_path / "mini.nt.gz"
    src.write_bytes(gzip.compress(DUMP.read_bytes()))
    out = tmp_path / "copy.nt"
    calls: list[tuple[int, int]] = []
    report = copy_all(src, out, on_progress=lambda done, total: calls.append((done, total)))

    assert report.format == "nt"
    assert report.triples == DUMP_TRIPLES
    assert report.kept == DUMP_TRIPLES
    assert report.lines == DUMP_TRIPLES
    assert report.malformed == 0 and report.malformed_examples == []
    assert report.summary() == "mini.nt.gz: 111 triples read, 111 kept, 0 malformed lines"
    assert not out.with_name(out.name + ".part").exists()

    size = src.stat().st_size
    assert calls == [(size, size)]  # under a MiB: one call, at the end

    # Terms are kept as written, \u and \U escapes included: the copy is the input, line for line.
    copied = out.read_text(encoding="utf-8").splitlines()
    assert copied == dump_lines
    assert f'{wd("Q2")} {ALT_LABEL} "\\U0001F30D"@en .' in copied

    store = ox.Store()
    store.bulk_load(path=str(out), format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == DUMP_TRIPLES


def test_literal_value_agrees_with_oxigraph(dump_lines: list[str]) -> None:
    literal_lines = [line for line in dump_lines if ' "' in line]
    assert len(literal_lines) > 50
    parsed = ox.parse("\n".join(literal_lines), format=ox.RdfFormat.N_TRIPLES)
    escaped = 0
    for line, quad in zip(literal_lines, parsed, strict=True):
        term = line[line.index(' "') + 1 : -2]
        escaped += "\\" in term
        assert literal_value(term) == (quad.object.value, quad.object.language), line
    assert escaped >= 5  # \U, \u and \" escapes


def test_literal_value_forms() -> None:
    assert literal_value('"Douglas Adams"@en') == ("Douglas Adams", "en")
    assert literal_value('"1952"^^<http://www.w3.org/2001/XMLSchema#integer>') == ("1952", None)
    assert literal_value('"plain"') == ("plain", None)
    escaped = '"a\\"b\\\\c\\nd\\te\\u00E9\\U0001F5FA"@en-GB'
    assert literal_value(escaped) == ('a"b\\c\nd\te\u00e9\U0001f5fa', "en-GB")
    assert literal_value('"\\uD83D\\uDE00"') == ("\U0001f600", None)  # a surrogate pair
    assert literal_value(wd("Q42")) is None
    assert literal_value("_:b1") is None
    assert literal_value('"unterminated@en') is None
    assert literal_value('"bad escape \\q"') is None


# --- malformed lines -------------------------------------------------------------------------------
Q31 = "<http://www.wikidata.org/entity/Q31>"
Q6256 = "<http://www.wikidata.org/entity/Q6256>"
GARBAGE = [
    f"{Q31} {P31}",  # truncated
    f"{Q31} {P31} {Q6256}",  # no dot
    f"<http://www.wikidata.org/entity/Q 31> {P31} {Q6256} .",  # space in IRI
    "ø∂ƒ©˙∆˚¬…æ ≈ç√∫˜µ ≤≥÷ «» 漢字 🎨 .",  # UTF-8 noise
    "painter",  # a bare word
    f'{Q31} {LABEL} "Belgium@en .',  # open quote
    "<Q31> <P31> <Q6256> .",  # relative IRIs
    f"{Q31} {P31} " + "x" * 300,  # long
]
# Latin-1, not UTF-8: would match the grammar once decoded with replacement characters
NOT_UTF8 = f'{Q31} {LABEL} "Belgi'.encode() + b'\xeb"@en .'


@pytest.mark.parametrize("suffix", [".nt.gz", ".nt.bz2", ".nt"])
def test_malformed_lines_are_counted_not_fatal(dump_lines: list[str], tmp_path: Path, suffix: str) -> None:
    good = dump_lines
    body: list[bytes] = []
    expected_examples: list[tuple[int, str]] = []
    # garbage lines go after good lines 10, 20, ...; one comment and one blank line too
    garbage = [g.encode() for g in GARBAGE] + [NOT_UTF8]
    assert len(good) > 10 * len(garbage)
    for i, line in enumerate(good):
        body.append(line.encode())
        if i % 10 == 9 and (i // 10) < len(garbage):
            bad = garbage[i // 10]
            body.append(bad)
            expected_examples.append((len(body), bad.decode("utf-8", errors="replace")[:200]))
        if i == 100:
            body.extend([b"# a comment line", b"", b"   "])
    data = b"\n".join(body) + b"\n"
    path = tmp_path / f"broken{suffix}"
    opener = {".nt.gz": gzip.compress, ".nt.bz2": bz2.compress, ".nt": bytes}[suffix]
    path.write_bytes(opener(data))

    out = tmp_path / "out.nt"
    report = copy_all(path, out)

    assert report.malformed == len(garbage) == 9
    assert report.triples == report.kept == DUMP_TRIPLES
    assert report.lines == len(body)
    # at most 10 examples, each (physical line number, first 200 characters)
    assert report.malformed_examples == expected_examples
    assert len(report.malformed_examples[7][1]) == 200
    assert out.read_text(encoding="utf-8").splitlines() == good
    assert report.summary() == f"broken{suffix}: 111 triples read, 111 kept, 9 malformed lines"


def test_examples_stop_at_ten(tmp_path: Path) -> None:
    path = tmp_path / "junk.nt"
    path.write_text("".join(f"junk {i}\n" for i in range(25)))
    report = LoadReport.for_path(path)
    assert list(iter_triples(path, report)) == []
    assert report.malformed == 25
    assert report.malformed_examples == [(i + 1, f"junk {i}") for i in range(10)]


def test_blank_nodes_and_comments_are_read(tmp_path: Path) -> None:
    path = tmp_path / "bnodes.nt"
    path.write_text(
        "# comment\n"
        "_:b1 <http://schema.org/about> <http://www.wikidata.org/entity/Q42> .\n"
        "<http://www.wikidata.org/entity/Q42>\t<http://schema.org/name>\t"
        '"x"^^<http://www.w3.org/2001/XMLSchema#string>.\r\n'
        "<http://www.wikidata.org/entity/Q42> <http://schema.org/knows> _:b1 . # trailing comment\n"
    )
    triples = read_triples(path)
    assert triples == [
        ("_:b1", "<http://schema.org/about>", wd("Q42")),
        (wd("Q42"), "<http://schema.org/name>", '"x"^^<http://www.w3.org/2001/XMLSchema#string>'),
        (wd("Q42"), "<http://schema.org/knows>", "_:b1"),
    ]


def test_plain_nt_round_trips(tmp_path: Path) -> None:
    text = DUMP.read_text(encoding="utf-8")
    out = tmp_path / "out.nt.gz"
    report = copy_all(DUMP, out)
    assert (report.triples, report.kept, report.malformed) == (DUMP_TRIPLES, DUMP_TRIPLES, 0)
    with gzip.open(out, "rt", encoding="utf-8") as f:
        assert ox_triples(f.read()) == ox_triples(text)


# --- Turtle ----------------------------------------------------------------------------------------
def test_turtle_blocks(dump_lines: list[str], tmp_path: Path) -> None:
    nt = "\n".join(dump_lines) + "\n"  # includes \u and \U escapes (accents, an emoji) and a typed literal
    expected = ox_triples(nt)
    turtle = ox.serialize(
        [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(nt, format=ox.RdfFormat.TURTLE)],
        format=ox.RdfFormat.TURTLE,
        prefixes={"wd": WD, "wdt": WDT, "rdfs": RDFS},
    ).decode("utf-8")
    lines = turtle.splitlines()
    statements = sum(1 for line in lines if line.endswith(" .") and not line.startswith("@prefix"))
    # After the 3rd statement: a broken block, then a blank-line separated block with a long
    # string whose first line ends with a dot, then a comment.
    cut = [i for i, line in enumerate(lines) if line.endswith(" .") and not line.startswith("@")][2] + 1
    broken = 'wd:Q1 rdfs:label "never closed .'
    extra = [
        broken,
        "",
        'wd:Q1 <http://schema.org/description> """first line.',
        'second line.""" ;',
        "\twdt:P31 wd:Q36906466 .",
        "",
        "# the end.",
    ]
    lines[cut:cut] = extra
    latin1 = 'wd:Q2 rdfs:label "caf\u00e9"@en .'  # a last block that is not UTF-8
    path = tmp_path / "slice.ttl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8") + latin1.encode("latin-1")))

    report = LoadReport.for_path(path)
    got = list(iter_triples(path, report))

    assert report.format == "ttl"
    assert report.malformed == 2
    assert report.malformed_examples == [
        (cut + 1, broken),
        (len(lines) + 1, latin1.replace("\u00e9", "\ufffd")),
    ]
    assert report.lines == statements + 3  # blocks: the statements, the broken ones, the long string
    assert set(got) == expected | {
        (wd("Q1"), DESCRIPTION, '"first line.\\nsecond line."'),
        (wd("Q1"), P31, wd("Q36906466")),
    }
    assert report.triples == len(got) == len(expected) + 2
    assert report.summary().endswith("2 malformed blocks")


# --- Wikibase JSON ---------------------------------------------------------------------------------
def load_entity(entity_id: str) -> dict:
    """A hand-written Wikibase JSON entity of tests/data (pretty-printed there: the reader wants one a line)."""
    return json.loads((DATA / f"wikibase-{entity_id}.json").read_text(encoding="utf-8"))


def wbgetentities(path: Path, *entities: dict) -> Path:
    """``path`` holding one ``wbgetentities`` response (one line, as the API sends it) with ``entities``."""
    path.write_text(json.dumps({"entities": {e["id"]: e for e in entities}, "success": 1}) + "\n", encoding="utf-8")
    return path


def test_json_dump_array(tmp_path: Path) -> None:
    q42 = load_entity("Q42")
    p31 = load_entity("P31")
    cut_short = json.dumps(q42)
    dump = "[\n" + json.dumps(q42) + ",\n" + json.dumps(p31) + ",\n" + cut_short[: len(cut_short) // 2] + ",\n]\n"
    path = tmp_path / "dump.json.bz2"
    path.write_bytes(bz2.compress(dump.encode()))

    out = tmp_path / "dump.nt"
    report = copy_all(path, out)
    triples = set(read_triples(path))

    assert report.format == "json"
    assert report.malformed == 1 and report.malformed_examples[0][0] == 4
    assert report.lines == 5
    assert report.kept == report.triples == len(triples)

    q = wd("Q42")
    assert (q, P31, wd("Q5")) in triples
    assert (q, LABEL, '"Douglas Adams"@en') in triples
    assert {o for s, p, o in triples if s == q and p == ALT_LABEL} == {
        '"Douglas No\u00ebl Adams"@en',
        '"Douglas Noel Adams"@en',
    }
    assert (q, DESCRIPTION, '"English author and humorist"@en') in triples
    # P735 (given name) has one preferred and one normal statement: only the preferred is truthy
    assert {o for s, p, o in triples if s == q and p == wdt("P735")} == {wd("Q463035")}
    date = '"1952-03-11T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>'
    assert (q, wdt("P569"), date) in triples
    assert (q, wdt("P1477"), '"Douglas No\u00ebl Adams"@en') in triples
    assert ("<https://en.wikipedia.org/wiki/Douglas_Adams>", f"<{SCHEMA}about>", q) in triples
    # only English text
    tagged = [t for t in triples if t[2].startswith('"') and '"@' in t[2]]
    assert len(tagged) > 4 and all(t[2].endswith('"@en') for t in tagged)
    # the property entity: label and its url claim as an IRI
    assert (wd("P31"), LABEL, '"instance of"@en') in triples
    assert (wd("P31"), wdt("P1628"), "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>") in triples

    store = ox.Store()
    store.bulk_load(path=str(out), format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == report.kept


@pytest.mark.parametrize(
    ("ids", "entities", "count"),
    [
        (("Q42",), {"Q42"}, 14),
        (("Q6", "Q42", "P31"), {"Q42", "P31"}, 19),
        (("Q6",), set(), 0),
    ],
)
def test_wbgetentities_responses(tmp_path: Path, ids: tuple[str, ...], entities: set[str], count: int) -> None:
    known = {"Q42": load_entity("Q42"), "P31": load_entity("P31"), "Q6": {"id": "Q6", "missing": ""}}
    path = wbgetentities(tmp_path / "response.json", *(known[i] for i in ids))
    report = LoadReport.for_path(path)
    triples = list(iter_triples(path, report))
    assert report.malformed == 0
    assert report.triples == len(triples) == count
    assert {s for s, _, _ in triples if s.startswith(f"<{WD}")} == {wd(e) for e in entities}
    if "Q42" in entities:
        assert (wd("Q42"), P31, wd("Q5")) in triples
        # of Q42's two P106 statements, the deprecated one makes no triple; nor does its P1412 novalue
        assert {o for s, p, o in triples if p == wdt("P106")} == {wd("Q36180")}
        assert not [t for t in triples if t[1] == wdt("P1412")]


def test_json_lines_escape_literals(tmp_path: Path) -> None:
    q42 = load_entity("Q42")
    q42["labels"]["en"]["value"] = 'Douglas "DNA"\nAdams \\ \x07'
    q42["sitelinks"]["enwiki"]["title"] = "Douglas Adams (écrivain)"
    # P569 (birth date) at year precision, an invented quantity, and an unknown value
    birth = q42["claims"]["P569"][0]["mainsnak"]["datavalue"]["value"]
    birth.update(time="+1952-00-00T00:00:00Z", precision=9)
    q42["claims"]["P2048"] = [
        {
            "mainsnak": {
                "snaktype": "value",
                "property": "P2048",
                "datatype": "quantity",
                "datavalue": {"value": {"amount": "+1.96", "unit": "1"}, "type": "quantity"},
            },
            "rank": "normal",
        }
    ]
    q42["claims"]["P570"][0]["mainsnak"] = {"snaktype": "somevalue", "property": "P570"}
    path = tmp_path / "entities.jsonl"
    path.write_text(json.dumps(q42) + "\n" + json.dumps({"id": "Q6", "missing": ""}) + "\n[1, 2]\n")
    report = LoadReport.for_path(path)
    triples = list(iter_triples(path, report))
    assert report.malformed == 1 and report.malformed_examples == [(3, "[1, 2]")]
    label = next(o for s, p, o in triples if p == LABEL)
    assert label == '"Douglas \\"DNA\\"\\nAdams \\\\ \\u0007"@en'
    assert literal_value(label) == ('Douglas "DNA"\nAdams \\ \x07', "en")
    article = "<https://en.wikipedia.org/wiki/Douglas_Adams_(%C3%A9crivain)>"
    assert (article, f"<{SCHEMA}about>", wd("Q42")) in triples
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert (wd("Q42"), wdt("P569"), f'"1952-01-01T00:00:00Z"^^<{xsd}dateTime>') in triples
    assert (wd("Q42"), wdt("P2048"), f'"1.96"^^<{xsd}decimal>') in triples
    assert not [t for t in triples if t[1] == wdt("P570")]
    parsed = ox.parse("\n".join(" ".join(t) + " ." for t in triples), format=ox.RdfFormat.N_TRIPLES)
    values = {q.object.value for q in parsed if str(q.predicate) == LABEL}
    assert values == {'Douglas "DNA"\nAdams \\ \x07'}


# --- unreadable inputs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("latest-truthy.nt.bz2", "nt"),
        ("x.NT.GZ", "nt"),
        ("dump.ttl", "ttl"),
        ("latest-all.json.gz", "json"),
        ("a.b.jsonl", "json"),
        ("e.ndjson.bz2", "json"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(Path(name)) == fmt


@pytest.mark.parametrize("name", ["dump.csv", "dump.gz", "dump", "dump.nt.xz", "dump.json.zip"])
def test_unknown_suffix(name: str) -> None:
    with pytest.raises(InputError, match=re.escape(name)) as err:
        detect_format(Path(name))
    assert ".nt" in str(err.value) and ".bz2" in str(err.value)


def test_unreadable_inputs(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.nt.gz"
    with pytest.raises(InputError, match="nowhere.nt.gz"):
        open_dump(missing)
    with pytest.raises(InputError, match="nowhere.nt.gz"):
        iter_triples(missing, LoadReport.for_path(missing))  # raised at the call, not at next()
    with pytest.raises(InputError, match="nowhere.nt.gz"):
        copy_all(missing, tmp_path / "out.nt")
    assert not (tmp_path / "out.nt").exists()

    fake_gz = tmp_path / "fake.nt.gz"
    fake_gz.write_text("<http://a> <http://b> <http://c> .\n")
    with pytest.raises(InputError, match=r"fake\.nt\.gz.*not gzip"):
        open_dump(fake_gz)

    fake_bz2 = tmp_path / "fake.json.bz2"
    fake_bz2.write_bytes(gzip.compress(b"[]"))
    with pytest.raises(InputError, match=r"fake\.json\.bz2.*not bzip2"):
        open_dump(fake_bz2)

    hidden_gz = tmp_path / "hidden.nt"
    hidden_gz.write_bytes(gzip.compress(DUMP.read_bytes())[:1000])
    with pytest.raises(InputError, match=r"hidden\.nt.*gzip"):
        copy_all(hidden_gz, tmp_path / "out.nt")

    with pytest.raises(InputError, match="unknown dump format"):
        copy_all(tmp_path / "x.csv", tmp_path / "out.nt")

    with pytest.raises(InputError, match="not a regular file"):
        open_dump(tmp_path)


def test_truncated_gzip_fails_clearly(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.nt.gz"
    compressed = gzip.compress(DUMP.read_bytes())
    truncated.write_bytes(compressed[: len(compressed) // 2])
    out = tmp_path / "out.nt"
    with pytest.raises(InputError, match=r"truncated\.nt\.gz.*(corrupt|truncated)"):
        copy_all(truncated, out)
    assert not out.exists() and not out.with_name("out.nt.part").exists()


def test_output_must_not_overwrite_input(tmp_path: Path, dump_lines: list[str]) -> None:
    path = tmp_path / "a.nt"
    path.write_text(dump_lines[0] + "\n")
    with pytest.raises(InputError, match="overwrite"):
        copy_all(path, path)
    assert path.read_text() == dump_lines[0] + "\n"


# --- neighbourhood cut -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> tuple[CutResult, list[str], list]:
    out = tmp_path_factory.mktemp("cut") / "cut.nt"
    calls: list[tuple[int, int]] = []
    result = cut_neighbourhood(
        DUMP,
        out,
        {normalize(w) for w in CUT_WORDS},
        normalize,
        on_progress=lambda done, total: calls.append((done, total)),
    )
    return result, out.read_text(encoding="utf-8").splitlines(), calls


def test_cut_neighbourhood(cut: tuple[CutResult, list[str], list], dump_lines: list[str]) -> None:
    result, out_lines, calls = cut
    oracle = expected_cut(dump_lines, out_lines, CUT_CANDIDATES)
    by_subject, kept_by_subject = oracle.by_subject, oracle.kept_by_subject
    incoming, neighbours = oracle.incoming, oracle.neighbours

    assert result.candidates == len(CUT_CANDIDATES)
    assert kept_by_subject.keys() >= CUT_CANDIDATES
    # every candidate's triples are kept, all of them
    for candidate in CUT_CANDIDATES:
        assert kept_by_subject[candidate] == by_subject[candidate]

    # incoming facts: every wdt: triple whose object is a candidate, whoever holds it
    assert result.incoming == sum(map(len, incoming.values())) == 7
    # Longarone (not named) is in Italy and borders Belluno; van Gogh (not named) was a painter
    longarone = wd("Q40161")
    assert incoming[longarone] == [
        f"{longarone} {wdt('P17')} {wd('Q38')} .",
        f"{longarone} {wdt('P47')} {wd('Q6558')} .",
    ]
    assert f"{wd('Q5582')} {wdt('P106')} {wd('Q1028181')} ." in incoming[wd("Q5582")]

    # neighbours: IRI objects of the candidates' triples, subjects of incoming facts, and wd:Pn of
    # the wdt:Pn predicates of both
    assert result.neighbours == len(neighbours)
    assert wd("Q6256") in neighbours and wd("P17") in neighbours  # country; the property "country"
    assert longarone in neighbours and wd("P47") in neighbours  # "shares border with"
    described = 0
    for neighbour in neighbours:
        # its incoming facts (pass 2), then its text, P31 and P279 not already kept as incoming facts
        expected = oracle.expected(neighbour)
        assert kept_by_subject.get(neighbour, []) == expected, neighbour
        described += bool(expected)
    assert described == 18
    assert kept_by_subject[longarone] == [
        *incoming[longarone],
        f"{longarone} {P31} {wd('Q747074')} .",
        f'{longarone} {LABEL} "Longarone"@en .',
        f'{longarone} {DESCRIPTION} "comune in the province of Belluno, Italy"@en .',
    ]  # not its continent (P30): it is not about a candidate
    assert f'{wd("P17")} {LABEL} "country"@en .' in out_lines
    assert f'{wd("Q6256")} {LABEL} "country"@en .' in out_lines
    assert not [line for line in out_lines if f" {wdt('P190')} " in line]  # Rome's twin, Paris: not kept

    # nothing else: Douglas Adams is in the dump but unrelated to Italy, Belluno or painters
    assert wd("Q42") in by_subject and wd("Q42") not in neighbours
    assert set(kept_by_subject) <= CUT_CANDIDATES | neighbours
    assert len(out_lines) == result.kept == result.report.kept

    assert result.report.triples == DUMP_TRIPLES and result.report.malformed == 0
    assert result.report.lines == DUMP_TRIPLES
    assert len(result.passes_s) == 3 and all(s > 0 for s in result.passes_s)
    size = DUMP.stat().st_size
    assert calls[-1] == (3 * size, 3 * size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_cut_output_is_valid_ntriples(cut: tuple[CutResult, list[str], list]) -> None:
    result, out_lines, _ = cut
    assert len(ox_triples("\n".join(out_lines))) == result.kept


def test_cut_english_only_and_demonyms(dump_lines: list[str], tmp_path: Path) -> None:
    # The fixture's lines of Belluno, Italy, painter and Poland, with some language tags changed.
    subjects = (wd("Q6558"), wd("Q38"), wd("Q1028181"), wd("Q36"))
    lines = [line for line in dump_lines if line.startswith(tuple(s + " " for s in subjects))]
    edits = {
        f'{wd("Q6558")} {LABEL} "Belluno"@en .': f'{wd("Q6558")} {LABEL} "Belluno"@fr .',
        f'{wd("Q1028181")} {LABEL} "painter"@en .': f'{wd("Q1028181")} {LABEL} "painter"@en-GB .',
        f'{wd("Q36")} {LABEL} "Poland"@en .': f'{wd("Q36")} {LABEL} "Polska"@pl .',
    }
    assert set(edits) <= set(lines)
    assert f'{wd("Q38")} {wdt("P1549")} "Italian"@en .' in lines  # Italy's demonym
    assert f"{wd('Q38')} {wdt('P530')} {wd('Q36')} ." in lines  # Italy -> Poland
    italy_to_belluno = [line for line in lines if line.startswith(wd("Q38")) and line.endswith(f"{wd('Q6558')} .")]
    assert not italy_to_belluno
    lines = [edits.get(line, line) for line in lines]
    path = tmp_path / "few.nt"
    path.write_text("\n".join(lines) + "\nnot a triple\n")
    out = tmp_path / "few-cut.nt"

    result = cut_neighbourhood(path, out, {"belluno", "painter", "italian"}, normalize)
    kept = out.read_text().splitlines()

    # Q38 by its demonym, Q1028181 by an en-GB label; not Q6558, whose only label is now French
    assert result.candidates == 2
    assert result.report.malformed == 1
    assert result.report.malformed_examples == [(len(lines) + 1, "not a triple")]
    # Belluno, no longer named, stays as the holder of a fact about Italy: that fact, and its class and
    # English text, as a neighbour's; not its other facts (a border), its French label or Italian description
    belluno = [line for line in kept if line.startswith(wd("Q6558") + " ")]
    assert belluno == [
        f"{wd('Q6558')} {wdt('P17')} {wd('Q38')} .",
        f"{wd('Q6558')} {P31} {wd('Q747074')} .",
        f'{wd("Q6558")} {DESCRIPTION} "comune in Veneto, Italy"@en .',
    ]
    assert result.incoming == len([line for line in kept if line.endswith(f" {wd('Q38')} .")]) > 1
    # Poland is a neighbour: its P31 and English aliases are kept, its Polish label is not
    poland = [line for line in kept if line.startswith(wd("Q36") + " ")]
    assert f"{wd('Q36')} {P31} {wd('Q6256')} ." in poland
    assert f'{wd("Q36")} {ALT_LABEL} "Republic of Poland"@en .' in poland
    assert f'{wd("Q36")} {LABEL} "Polska"@pl .' not in poland
    assert not [line for line in poland if f" {wdt('P47')} " in line or f" {wdt('P1549')} " in line]


def test_cut_json_dump(tmp_path: Path) -> None:
    # JSON input goes through the generic path; wd:P31 becomes a neighbour through wdt:P31.
    path = wbgetentities(
        tmp_path / "response.json", {"id": "Q6", "missing": ""}, load_entity("Q42"), load_entity("P31")
    )
    triples = read_triples(path)
    out = tmp_path / "q42.nt"
    result = cut_neighbourhood(path, out, {"douglas noel adams"}, normalize)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert result.candidates == 1
    q42 = [" ".join(t) + " ." for t in triples if t[0] == wd("Q42")]
    p31 = [
        " ".join(t) + " ." for t in triples if t[0] == wd("P31") and t[1] in (LABEL, ALT_LABEL, DESCRIPTION, P31, P279)
    ]
    assert f"{wd('Q42')} {P31} {wd('Q5')} ." in q42
    assert f'{wd("P31")} {LABEL} "instance of"@en .' in p31
    assert lines == q42 + p31  # P31's url claim (wdt:P1628) is not kept
    assert result.kept == len(lines)
