"""The tables' keys and value formats (alerts/state/): each value is read by its own schema,
what earlier versions wrote is still read, and anything else is refused by name."""

import msgspec
import orjson
import pytest

from alerts.errors import StateDecodeError
from alerts.feedback import Review
from alerts.retro import PARTY_INDEX, PartyRecord, Seen
from alerts.rules.volume_anomaly import IMPORTER_HEADING
from alerts.state.formats import (
    FRAME_CURSOR,
    LOOK_BACK,
    PARTY,
    REVIEW,
    SCHEMAS,
    STREAM_START,
    WINDOW_STATE,
    Format,
    LookBackMarker,
    Schema,
)
from alerts.state.keys import (
    PARTY_PREFIX,
    RESERVED,
    frame_cursor_key,
    look_back_key,
    look_back_prefix,
    stream_start_key,
    window_key,
)
from alerts.windows.registry import DIMENSIONS
from alerts.windows.state import BUCKET_FIELDS, KeyState

STATE = KeyState(
    watermark_ms=1_700_000_000_000,
    first_day=19_600,
    sources={0: 41, 3: 7},
    recent=[("D-1", 1_700_000_000_000)],
    buckets={19_600: [2.0, 10.0, 5000.0, 1.0, 2500.0, 0.0]},
    histograms={19_600: {3: 2}},
    case=b'{"case_id": "c"}',
)
PARTY_RECORD = PartyRecord("OOO Vega", "RU", "7701", [Seen("D-1", 1_700_000_000_000, "importer")])
MARKER = LookBackMarker(
    label="sanctions@2026.12.1", entries=["E-1", "E-2"], effective_ms=5, next="7061", done=False
)
REVIEW_VALUE = Review(touched_ms=1_700_000_000_000)
EXAMPLES: list[tuple[Schema, object]] = [
    (WINDOW_STATE, STATE),
    (STREAM_START, 1_700_000_000_000),
    (PARTY, PARTY_RECORD),
    (LOOK_BACK, MARKER),
    (REVIEW, REVIEW_VALUE),
    (FRAME_CURSOR, 41),
]


def test_every_schema_is_one_of_the_list_with_a_byte_of_its_own() -> None:
    assert {schema.name for schema, _ in EXAMPLES} == {schema.name for schema in SCHEMAS}
    assert sorted(schema.format for schema in SCHEMAS) == sorted(Format)
    assert len({schema.format for schema in SCHEMAS}) == len(SCHEMAS)


@pytest.mark.parametrize(("schema", "value"), EXAMPLES, ids=lambda x: getattr(x, "name", ""))
def test_a_value_starts_with_its_format_byte_and_reads_back(schema: Schema, value: object) -> None:
    raw = schema.encode(value)
    assert raw[0] == schema.format
    assert schema.decode(raw) == value


@pytest.mark.parametrize(("schema", "value"), EXAMPLES, ids=lambda x: getattr(x, "name", ""))
def test_a_value_of_another_schema_is_refused_by_name(schema: Schema, value: object) -> None:
    for other, other_value in EXAMPLES:
        if other is schema:
            continue
        with pytest.raises(StateDecodeError, match=schema.name):
            schema.decode(other.encode(other_value))


def test_what_earlier_versions_wrote_is_still_read() -> None:
    legacy_state = orjson.dumps({
        "w": STATE.watermark_ms,
        "f": STATE.first_day,
        "s": {"0": 41, "3": 7},
        "r": [["D-1", 1_700_000_000_000]],
        "l": [],
        "b": {"19600": [2.0, 10.0, 5000.0, 1.0, 2500.0, 0.0]},
        "h": {"19600": {"3": 2}},
    })  # fmt: skip
    read = WINDOW_STATE.decode(legacy_state)
    assert (read.sources, read.buckets, read.histograms) == (
        STATE.sources,
        STATE.buckets,
        STATE.histograms,
    )
    # Stream starts: the window state's byte they once shared, and the decimal text before it.
    assert STREAM_START.decode(b"\x02" + msgspec.msgpack.encode(12345)) == 12345
    assert STREAM_START.decode(b"12345") == 12345
    # Party records and reviews: the same bodies, with no byte.
    assert PARTY.decode(msgspec.msgpack.encode(PARTY_RECORD)) == PARTY_RECORD
    assert REVIEW.decode(REVIEW_VALUE.encode()) == REVIEW_VALUE
    # Look-back markers: the JSON object the look back wrote.
    old_marker = orjson.dumps({
        "label": MARKER.label, "entries": MARKER.entries, "effective_ms": 5, "next": "7061",
        "done": False,
    })  # fmt: skip
    assert LOOK_BACK.decode(old_marker) == MARKER


def test_bytes_of_no_schema_are_refused_with_what_they_were_meant_to_be() -> None:
    for schema in SCHEMAS:
        with pytest.raises(StateDecodeError, match=f"unknown {schema.name} format b'\\\\x08'"):
            schema.decode(b"\x08rest")
    with pytest.raises(StateDecodeError, match="unreadable window state"):
        WINDOW_STATE.decode(bytes([Format.WINDOW_STATE]) + b"\xc1")
    with pytest.raises(StateDecodeError, match="unreadable look-back marker"):
        LOOK_BACK.decode(b'{"label": "x"}')
    with pytest.raises(StateDecodeError, match="unreadable case review"):
        REVIEW.decode(bytes([Format.REVIEW]) + b"[]")


def test_no_declaration_can_write_a_key_of_the_tables_own() -> None:
    labels = [dimension.label for dimension in DIMENSIONS]
    assert len(set(labels)) == len(labels)
    assert window_key(PARTY_INDEX.label, "") == PARTY_PREFIX
    for label in labels:
        assert not window_key(label, "anything").encode().startswith(RESERVED)
    reserved = [
        stream_start_key(3),
        look_back_key(3, "list@1"),
        look_back_prefix(3),
        frame_cursor_key(3),
    ]
    assert all(key.startswith(RESERVED) for key in reserved)
    assert look_back_key(3, "list@1").startswith(look_back_prefix(3))
    assert not look_back_key(13, "list@1").startswith(look_back_prefix(1))


def test_a_bucket_names_each_of_its_numbers() -> None:
    from alerts.windows.observations import Observation
    from alerts.windows.state import contribution

    seen = Observation(
        IMPORTER_HEADING.number, "k", "k", "D-1", 0, 0, 0, 4.0, 1000.0, True, "KGM", "930320"
    )
    added = contribution(seen, split_threshold_usd=500.0)
    assert dict(zip(BUCKET_FIELDS, added, strict=True)) == {
        "declarations": 1.0,
        "quantity": 4.0,
        "value_usd": 1000.0,
        "watched": 1.0,
        "watched_value_usd": 1000.0,
        "at_split_threshold": 1.0,
    }
