"""Labelled streams for the window tests: steady trade, a volume spike, split shipments and an
odd unit value, over weeks of event time, with ordinary background trade."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.conftest import declaration_dict

BASE = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)  # last year's data, replayed


def _declaration(number: int, when: datetime, **fields: Any) -> dict[str, Any]:
    return declaration_dict(
        declaration_id=f"W-{number:06d}", declared_at=when.isoformat(), **fields
    )


def window_scenario(
    seed: int = 11, background_per_day: int = 6, days: int = 24
) -> list[dict[str, Any]]:
    """Declarations in event-time order."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    number = 0

    def add(when: datetime, **fields: Any) -> None:
        nonlocal number
        number += 1
        out.append(_declaration(number, when, **fields))

    volna = {
        "importer": {"name": "OOO Volna", "country": "KZ"},
        "destination_country": "KZ",
        "hs_code": "8471.30",
        "goods_description": "Notebook computers",
    }
    for day in range(days):
        start = BASE + timedelta(days=day)
        # Two laptop declarations a day for one importer, then a spike of 16 on the last day.
        for k in range(16 if day == days - 1 else 2):
            add(start + timedelta(minutes=20 * k), invoice_value=5000, **volna)
        for _ in range(background_per_day):
            add(
                start + timedelta(minutes=rng.randint(0, 600)),
                importer={"name": f"Importer {rng.randint(1, 40)} LLC", "country": "DE"},
                destination_country="DE",
                hs_code=rng.choice(["0901.11", "6203.42", "9403.60"]),
                goods_description="Ordinary goods",
                invoice_value=rng.randint(1000, 20000),
            )
    # Split shipments: six $3,000 chip declarations between a new pair over a day and a half,
    # after the warm-up (a pair can only be called new once the stream has watched 17 days).
    for k in range(6):
        add(
            BASE + timedelta(days=20, hours=6 * k),
            hs_code="8542.31",
            goods_description="Microcontrollers",
            invoice_value=3000,
            exporter={"name": "Shenzhen Parts Ltd", "country": "CN"},
            importer={"name": "OOO Mikron", "country": "AM"},
            destination_country="AM",
            origin_country="CN",
            dispatch_country="CN",
        )
    # Rifles at $35 a piece: far below the seed band for 9303.20.
    add(
        BASE + timedelta(days=12, hours=3),
        hs_code="9303.20",
        goods_description="Hunting rifles",
        quantity=400,
        invoice_value=14_000,
        destination_country="KZ",
        importer={"name": "TOO Okhotnik", "country": "KZ"},
    )
    return sorted(out, key=lambda d: d["declared_at"])


def shuffle_within(
    declarations: list[dict[str, Any]], span: timedelta, seed: int = 3
) -> list[bytes]:
    """Encode, shuffling inside consecutive blocks that span at most `span` of event time."""
    rng = random.Random(seed)
    blocks: list[list[dict[str, Any]]] = []
    for d in declarations:
        when = datetime.fromisoformat(d["declared_at"])
        if not blocks or when - datetime.fromisoformat(blocks[-1][0]["declared_at"]) > span:
            blocks.append([])
        blocks[-1].append(d)
    for block in blocks:
        rng.shuffle(block)
    return [orjson.dumps(d) for block in blocks for d in block]
