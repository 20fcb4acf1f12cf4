"""Every key of the window table, in one place.

A window key is its dimension's label, a bar and the key (`importer_heading|RU|…`); the party
index is the dimension `party` (`party|…`). Keys of the table's own bookkeeping start with a
zero byte, which no label does, so no declaration can ever write one of them.
"""

PARTY_PREFIX = "party|"
"""The party index's keys: the label of its dimension (`PARTY_INDEX`, alerts/retro.py), a bar,
the party key."""

RESERVED = b"\x00"
STREAM_START_PREFIX = RESERVED + b"stream-start/"
LOOK_BACK_PREFIX = RESERVED + b"retro/"
FRAME_CURSOR_PREFIX = RESERVED + b"next-frame/"


def window_key(label: str, key: str) -> str:
    """The table key of an aggregation key of the dimension with this label."""
    return f"{label}|{key}"


def stream_start_key(partition: int) -> bytes:
    """Where the partition's stream started (one per partition of the observations topic)."""
    return STREAM_START_PREFIX + b"%d" % partition


def frame_cursor_key(partition: int) -> bytes:
    """The offset after the last frame the partition's window stage applied."""
    return FRAME_CURSOR_PREFIX + b"%d" % partition


def look_back_prefix(partition: int) -> bytes:
    """The look backs' progress markers of one partition."""
    return LOOK_BACK_PREFIX + b"%d/" % partition


def look_back_key(partition: int, label: str) -> bytes:
    """A look back's progress over one list version (its label) on one partition."""
    return look_back_prefix(partition) + label.encode()
