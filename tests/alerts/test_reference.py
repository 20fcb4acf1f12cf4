import json
from pathlib import Path

import pytest

from alerts.errors import ReferenceDataError
from alerts.reference import DEFAULT_REFERENCE_DIR, ReferenceData, load_file

HEADER = {"kind": "lexicon", "name": "test_lexicon", "version": "1", "source": "tests"}
RECORD = {"group": "g", "language": "en", "term": "ak-47"}


def write(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_shipped_reference_data_loads() -> None:
    reference = ReferenceData.load(DEFAULT_REFERENCE_DIR)
    assert {"military_firearms", "hs_groups", "destinations"} <= set(reference.files)
    assert reference.countries("destinations", "restricted_destinations") >= {"RU", "BY"}
    assert "9303" in reference.hs_group("hs_groups", "sporting_firearms").prefixes


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        ([HEADER, "{not json"], 2, "not valid JSON"),  # syntax error on a record
        ([{**HEADER, "kind": "poem"}, RECORD], 1, "invalid header"),  # unknown kind
        ([HEADER, {**RECORD, "language": "fr"}], 2, "language"),  # unsupported language
        ([HEADER, {**RECORD, "extra": 1}], 2, "extra"),  # typo'd field is not ignored
        ([HEADER, RECORD, RECORD], 3, "duplicate of line 2"),  # repeated record
        ([HEADER, RECORD, {"group": "Bad Group", "language": "en", "term": "x"}], 3, "group"),
    ],
)
def test_broken_file_names_file_line_and_reason(
    tmp_path: Path, lines: list[object], line: int, reason: str
) -> None:
    path = write(tmp_path / "broken.jsonl", *lines)
    with pytest.raises(ReferenceDataError) as caught:
        load_file(path)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_header_only_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="no records"):
        load_file(write(tmp_path / "empty.jsonl", HEADER))


def test_a_broken_file_stops_the_whole_load(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", HEADER, RECORD)
    write(tmp_path / "b.jsonl", {**HEADER, "name": "other"}, "[]")
    with pytest.raises(ReferenceDataError, match=r"b\.jsonl:2"):
        ReferenceData.load(tmp_path)


def test_version_labels_are_cited_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", {**HEADER, "name": "zeta", "version": "3"}, RECORD)
    write(tmp_path / "b.jsonl", {**HEADER, "name": "alpha", "version": "7"}, RECORD)
    assert ReferenceData.load(tmp_path).version_of("zeta", "alpha") == "alpha@7,zeta@3"
