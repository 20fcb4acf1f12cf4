"""What the worker's tables hold, in one place: every key (`keys.py`) and every value's format
(`formats.py`).

The window table (changelog `<app_id>-window-state-changelog`), by key:

| key | value (schema, format byte) |
| --- | --- |
| `<dimension>|<key>`, e.g. `importer_heading|…` | a window key's state: `WINDOW_STATE` (2) |
| `party|<party key>` | a party of the index the look back reads: `PARTY` (4) |
| `\\x00stream-start/<partition>` | where the partition's stream started: `STREAM_START` (3) |
| `\\x00retro/<partition>/<list version>` | a look back's progress: `LOOK_BACK` (5) |

The review table (changelog `<app_id>-case-reviews-changelog`) holds one `REVIEW` (6) per
case id.

Every value starts with its format byte, so that a value written by another version is read
by its own schema, or refused by name, never misread. Values written before format bytes
(JSON, or MessagePack with none) are still read: each schema says how.
"""
