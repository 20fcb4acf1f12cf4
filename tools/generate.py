"""A realistic synthetic declaration feed with labelled evasion scenarios, deterministic by seed.

    tradewatch generate --out feed.jsonl --count 100000 --seed 7

Background trade comes from recurring parties with habits of their own (what they import, from
whom, how often), with a daily and weekly rhythm in declared time. Evasion scenarios for every
rule family, the 2022 case shapes among them, are injected at a configurable rate; the labels
file beside the feed says which declarations belong to which scenario and which alert categories
should fire. Output is written day by day in event-time order, so memory stays flat however many
declarations are asked for.
"""

import argparse
import math
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import orjson

# (hs_code, description, unit, usual unit value USD, origin countries)
GOODS: list[tuple[str, str, str, float, tuple[str, ...]]] = [
    ("8471300000", "Notebook computers 14 inch, 16GB RAM", "PCE", 600, ("CN", "TW")),
    ("0901110000", "Green coffee beans, arabica, not roasted", "KG", 4.5, ("BR", "CO", "VN")),
    ("6203420000", "Men's trousers of cotton, denim", "PCE", 12, ("BD", "TR", "CN")),
    ("6110200000", "Свитеры трикотажные хлопковые", "PCE", 9, ("TR", "CN")),
    ("8703230000", "Passenger cars, petrol, 1.6 l", "PCE", 19000, ("DE", "JP", "KR")),
    ("4011100000", "New pneumatic radial tyres 205/55 R16", "PCE", 55, ("TH", "CN")),
    ("3004900000", "Medicaments in measured doses, tablets", "KG", 80, ("IN", "DE", "CH")),
    ("9403600000", "Wooden office furniture, desks", "PCE", 140, ("PL", "VN", "CN")),
    ("8516600000", "Электрические плиты бытовые", "PCE", 160, ("TR", "CN")),
    ("8418100000", "冰箱 双门 家用", "PCE", 320, ("CN",)),
    ("8517130000", "Smartphones 128GB", "PCE", 280, ("CN", "VN")),
    ("9503000000", "Toy building blocks, plastic, for children", "PCE", 7, ("CN",)),
    ("8482100000", "Ball bearings 6204-2RS", "PCE", 2.5, ("DE", "JP", "CN")),
    ("8542310000", "Microcontrollers, 32-bit", "PCE", 3.0, ("MY", "TW", "CN")),
    ("9303300000", "Hunting rifles, bolt action .308 Win", "PCE", 1100, ("IT", "BE", "CZ")),
    ("8806220000", "Consumer camera drone, 249 g, with remote", "PCE", 650, ("CN",)),
    ("6203330000", "Men's motorcycle jackets, textile, CE protectors", "PCE", 140, ("IT", "PK")),
]
WARM_DAYS = 18
"""Days of declared time before the window rules can call a key or pair new (14 windows of
history and a 3-day window, plus a day)."""
DESTINATIONS = ["DE", "FR", "IT", "NL", "PL", "ES", "NO", "KZ", "RS", "AE", "TR", "GE", "JP"]
CURRENCY_OF = {"DE": "EUR", "FR": "EUR", "IT": "EUR", "NL": "EUR", "ES": "EUR", "PL": "PLN"}
USD_PER = {"USD": 1.0, "EUR": 1.08, "PLN": 0.25}
# Working hours and weekdays carry most declarations.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 10, 12, 13, 12, 10, 7, 4, 3, 2, 2, 1, 1]
WEEKDAY_WEIGHTS = [1.0, 1.05, 1.05, 1.0, 0.9, 0.35, 0.2]


@dataclass
class Importer:
    name: str
    country: str
    tax_id: str
    goods: list[int]
    suppliers: list[tuple[str, str]]
    daily_rate: float


@dataclass
class Generator:
    """Background trade and scenarios for one seed. `run` yields (declaration, label) per day."""

    seed: int
    count: int
    start: datetime
    days: int
    scenario_rate: float = 2.0
    """Scenario instances per 10,000 background declarations."""
    id_prefix: str | None = None
    """Declaration ids start with this (default TW<seed>-)."""
    rng: random.Random = field(init=False)
    importers: list[Importer] = field(init=False)
    number: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        exporters = [
            (
                f"{self.rng.choice(['Global', 'United', 'Eastern', 'Pacific', 'Nordic'])} "
                f"{self.rng.choice(['Trade', 'Supply', 'Export', 'Industries'])} {n} Ltd",
                self.rng.choice(["CN", "DE", "IT", "TR", "IN", "JP", "BR", "TW", "VN"]),
            )
            for n in range(max(50, self.count // 400))
        ]
        total_rate = self.count / self.days
        weights = [self.rng.paretovariate(1.3) for _ in range(max(100, self.count // 150))]
        scale = total_rate / sum(weights)
        self.importers = []
        for n, weight in enumerate(weights):
            country = self.rng.choice(DESTINATIONS)
            self.importers.append(
                Importer(
                    name=f"{self.rng.choice(['Nord', 'Alfa', 'Terra', 'Euro', 'Vega', 'Orion'])} "
                    f"Import {n} {self.rng.choice(['GmbH', 'SARL', 'LLC', 'BV', 'Sp. z o.o.'])}",
                    country=country,
                    tax_id=f"{country}{self.rng.randint(10**8, 10**9 - 1)}",
                    goods=self.rng.sample(range(len(GOODS)), self.rng.randint(1, 3)),
                    suppliers=self.rng.sample(exporters, self.rng.randint(1, 4)),
                    daily_rate=weight * scale,
                )
            )

    def _id(self) -> str:
        self.number += 1
        prefix = f"TW{self.seed:03d}-" if self.id_prefix is None else self.id_prefix
        return f"{prefix}{self.number:09d}"

    def pick_importer(self) -> Importer:
        """An importer, the busier ones more often (as they declare)."""
        return self.rng.choices(self.importers, [i.daily_rate for i in self.importers])[0]

    def _when(self, day: int) -> datetime:
        hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
        return self.start + timedelta(days=day, hours=hour, seconds=self.rng.randint(0, 3599))

    def declaration(self, when: datetime, **fields: Any) -> dict[str, Any]:
        destination = fields.get("destination_country", "DE")
        currency = fields.pop("currency", CURRENCY_OF.get(destination, "USD"))
        usd = fields.pop("value_usd")
        base: dict[str, Any] = {
            "declaration_id": self._id(),
            "declared_at": when.isoformat(),
            "direction": "import",
            "reporting_country": destination,
            "quantity_unit": "PCE",
            "currency": currency,
            "invoice_value": round(usd / USD_PER.get(currency, 1.0), 2),
            "source": "tradewatch generate",
        }
        base.update(fields)
        base.setdefault("dispatch_country", base["origin_country"])
        return base

    def background(self, importer: Importer, when: datetime) -> dict[str, Any]:
        hs, text, unit, unit_value, origins = GOODS[self.rng.choice(importer.goods)]
        exporter, exporter_country = self.rng.choice(importer.suppliers)
        quantity = max(1, round(self.rng.lognormvariate(math.log(5000 / unit_value + 5), 0.8)))
        origin = self.rng.choice(origins)
        return self.declaration(
            when,
            exporter={"name": exporter, "country": exporter_country},
            importer={
                "name": importer.name,
                "country": importer.country,
                "tax_id": importer.tax_id,
            },
            origin_country=origin,
            dispatch_country=origin if self.rng.random() < 0.85 else exporter_country,
            destination_country=importer.country,
            hs_code=hs,
            goods_description=text,
            quantity=quantity,
            quantity_unit=unit,
            value_usd=quantity * unit_value * self.rng.lognormvariate(0, 0.3),
        )

    def schedule(self) -> dict[int, list["Scenario"]]:
        """Scenario instances spread evenly over the days, every kind in turn, at least one each.

        Volume spikes need a baseline, so they land after day 35; split shipments between a new
        pair need a stream old enough to call a pair new (the window rules' warm-up: 14
        windows of history and the 3-day window), so they land after day WARM_DAYS; either is
        left out of a feed too short for it."""
        instances = max(len(SCENARIOS), round(self.count * self.scenario_rate / 10_000))
        planned: dict[int, list[Scenario]] = {}
        for k in range(instances):
            kind = SCENARIOS[k % len(SCENARIOS)]
            day = int((k + 0.5) * self.days / instances)
            if kind is scenario_volume_spike:
                if self.days <= 36:
                    continue
                day = max(day, 36)
            if kind is scenario_split_shipments:  # a new pair is told only in a warm stream
                if self.days <= WARM_DAYS:
                    continue
                day = max(day, WARM_DAYS)
            planned.setdefault(day, []).append(kind)
        return planned

    def run(
        self, with_scenarios: bool = True
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Per day: the declarations (sorted by declared_at) and the scenario labels; without
        scenarios, ordinary trade only."""
        produced = 0
        scenario_number = 0
        schedule = self.schedule() if with_scenarios else {}
        carried: list[dict[str, Any]] = []
        for day in range(self.days):
            weekday = (self.start + timedelta(days=day)).weekday()
            todays: list[dict[str, Any]] = []
            remaining_days = self.days - day
            budget = (self.count - produced) / remaining_days * WEEKDAY_WEIGHTS[weekday] / 0.79
            for importer in self.importers:
                expected = importer.daily_rate * budget / (self.count / self.days)
                for _ in range(_poisson(self.rng, expected)):
                    if produced >= self.count:
                        break
                    todays.append(self.background(importer, self._when(day)))
                    produced += 1
            labels = []
            for kind in schedule.get(day, []):
                scenario_number += 1
                declarations, categories = kind(self, day, scenario_number)
                if declarations:
                    todays.extend(declarations)
                    labels.append(
                        {
                            "scenario": kind.__name__.removeprefix("scenario_"),
                            "instance": scenario_number,
                            "declaration_ids": [d["declaration_id"] for d in declarations],
                            "expected_categories": categories,
                        }
                    )
            # Scenario lots spread over hours can fall into a later day: hold them back so the
            # feed stays in event-time order.
            todays.extend(carried)
            todays.sort(key=lambda d: d["declared_at"])
            tomorrow = (self.start + timedelta(days=day + 1)).isoformat()
            last_day = day == self.days - 1
            carried = [] if last_day else [d for d in todays if d["declared_at"] >= tomorrow]
            yield (
                (todays if last_day else [d for d in todays if d["declared_at"] < tomorrow]),
                labels,
            )


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # normal approximation: fast and good enough for counts
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


Scenario = Callable[[Generator, int, int], tuple[list[dict[str, Any]], list[str]]]


def scenario_military_rifles_as_hunting(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """2022 shape: a state arms maker's CQ-A rifles to a Russian importer, as hunting rifles."""
    quantity = g.rng.choice([200, 500, 1000])
    return [
        g.declaration(
            g._when(day),
            exporter={"name": "China North Industries Corporation", "country": "CN"},
            importer={"name": f"OOO Okhotnik-{n}", "country": "RU"},
            origin_country="CN",
            destination_country="RU",
            hs_code="9303201000",
            goods_description="Карабины охотничьи CQ-A калибр 5,56x45 мм, гражданские",
            brand="Norinco",
            quantity=quantity,
            value_usd=quantity * 420,
            currency="USD",
        )
    ], ["category_mismatch", "controlled_goods", "restricted_party"]


def scenario_drone_parts_repeated(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """2022 shape: repeated shipments of drone parts, declared as data-processing parts."""
    parts = [
        "Полетный контроллер F405 для FPV",
        "FPV-камера 1200TVL",
        "飞控 F722 无人机用",
        "Видеопередатчик 5.8 ГГц 2.5 Вт",
    ]
    importer = {"name": f"OOO Aerotekh-{n}", "country": "RU"}
    out = []
    for k in range(g.rng.randint(3, 6)):
        quantity = g.rng.randint(100, 800)
        out.append(
            g.declaration(
                g._when(day) + timedelta(hours=5 * k),
                exporter={"name": "Shenzhen FPV Parts Co., Ltd.", "country": "CN"},
                importer=importer,
                origin_country="CN",
                dispatch_country="KZ",
                destination_country="RU",
                hs_code=g.rng.choice(["8473302000", "8525890000"]),
                goods_description=g.rng.choice(parts),
                quantity=quantity,
                value_usd=quantity * g.rng.uniform(15, 40),
                currency="USD",
            )
        )
    return out, ["category_mismatch", "controlled_goods", "transshipment"]


def scenario_body_armour_via_turkey(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """2022 shape: body armour made in China, dispatched from Turkey to Russia, as textiles."""
    quantity = g.rng.randint(200, 2000)
    return [
        g.declaration(
            g._when(day),
            exporter={"name": f"Anadolu Tekstil {n} Ltd. Şti.", "country": "TR"},
            importer={"name": f"OOO Zashchita-{n}", "country": "RU"},
            origin_country="CN",
            dispatch_country="TR",
            destination_country="RU",
            hs_code="6307909800",
            goods_description="Бронежилеты класс защиты Бр4, с бронеплитами",
            quantity=quantity,
            value_usd=quantity * 180,
            currency="USD",
        )
    ], ["category_mismatch", "controlled_goods", "transshipment"]


def scenario_chips_via_hub(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """CHPL tier 1 chips made in Malaysia, dispatched from Hong Kong or the UAE to Russia."""
    hub = g.rng.choice(["HK", "AE"])
    quantity = g.rng.randint(1000, 20000)
    return [
        g.declaration(
            g._when(day),
            exporter={"name": f"Sino Components {n} Limited", "country": hub},
            importer={"name": f"OOO Elektron-{n}", "country": "RU"},
            origin_country="MY",
            dispatch_country=hub,
            destination_country="RU",
            hs_code="8542319000",
            goods_description="Microcontrollers STM32F4, 32-bit",
            quantity=quantity,
            value_usd=quantity * 3.2,
            currency="USD",
        )
    ], ["controlled_goods", "transshipment"]


def scenario_listed_party(g: Generator, day: int, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A listed Russian procurement firm imports ordinary-looking electronics via Kazakhstan."""
    quantity = g.rng.randint(50, 400)
    return [
        g.declaration(
            g._when(day),
            exporter={"name": f"Steppe Trading {n} LLP", "country": "KZ"},
            importer={"name": "ООО «Радиоавтоматика»", "country": "RU"},
            origin_country="CN",
            dispatch_country="KZ",
            destination_country="RU",
            hs_code="8517130000",
            goods_description="Smartphones 128GB",
            quantity=quantity,
            value_usd=quantity * 280,
            currency="USD",
        )
    ], ["restricted_party"]


def scenario_civilian_claim(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Optics with a hunting claim 'for the needs of the special military operation'."""
    quantity = g.rng.randint(20, 200)
    return [
        g.declaration(
            g._when(day),
            exporter={"name": f"Optika Trade {n} Co., Ltd.", "country": "CN"},
            importer={"name": f"OOO Dalnozor-{n}", "country": "RU"},
            origin_country="CN",
            destination_country="RU",
            hs_code="9005100000",
            goods_description="Бинокль охотничий 10x42, для нужд СВО",
            quantity=quantity,
            value_usd=quantity * 90,
            currency="USD",
        )
    ], ["category_mismatch"]


def scenario_split_shipments(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Controlled bearings in small lots between one pair, each under $10,000, over two days."""
    out = []
    exporter = {"name": f"Precision Bearings {n} GmbH", "country": "DE"}
    importer = {"name": f"OOO Podshipnik-{n}", "country": "AM"}
    for k in range(g.rng.randint(5, 7)):
        quantity = g.rng.randint(2500, 3500)
        out.append(
            g.declaration(
                g._when(day) + timedelta(hours=7 * k),
                exporter=exporter,
                importer=importer,
                origin_country="DE",
                destination_country="AM",
                hs_code="8482100000",
                goods_description="Ball bearings 6204-2RS",
                quantity=quantity,
                value_usd=quantity * 2.5,
                currency="USD",
            )
        )
    return out, ["split_shipments"]


def scenario_undervalued_rifles(
    g: Generator, day: int, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Hunting rifles invoiced at a tenth of any normal price."""
    quantity = g.rng.randint(100, 400)
    return [
        g.declaration(
            g._when(day),
            exporter={"name": f"Armi Export {n} S.r.l.", "country": "IT"},
            importer={"name": f"TOO Okhota-{n}", "country": "KZ"},
            origin_country="IT",
            destination_country="KZ",
            hs_code="9303300000",
            goods_description="Hunting rifles, bolt action .308 Win",
            quantity=quantity,
            value_usd=quantity * 45,
            currency="USD",
        )
    ], ["value_anomaly"]


def scenario_volume_spike(g: Generator, day: int, n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """A steady importer suddenly declares ten times its usual volume of its usual goods."""
    if day < 35:
        return [], []  # it needs a baseline first
    regular = [i for i in g.importers if 0.5 <= i.daily_rate <= 5]
    if not regular:
        return [], []
    importer = g.rng.choice(regular)
    usual = max(1, round(importer.daily_rate))
    # All of one of its goods, so that one heading key carries the spike (each declaration made
    # as that good, so quantities and values stay ordinary for it).
    one_good = replace(importer, goods=[g.rng.choice(importer.goods)])
    out = [g.background(one_good, g._when(day)) for _ in range(max(15, 10 * usual))]
    return out, ["volume_anomaly"]


SCENARIOS: list[Scenario] = [
    scenario_military_rifles_as_hunting,
    scenario_drone_parts_repeated,
    scenario_body_armour_via_turkey,
    scenario_chips_via_hub,
    scenario_listed_party,
    scenario_civilian_claim,
    scenario_split_shipments,
    scenario_undervalued_rifles,
    scenario_volume_spike,
]


def generate(
    out: TextIO,
    labels: TextIO,
    *,
    count: int,
    seed: int,
    days: int,
    start: datetime,
    scenario_rate: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Write the feed and its labels; return (declarations, scenario instances)."""
    written = scenarios = 0
    generator = Generator(seed, count, start, days, scenario_rate)
    for declarations, day_labels in generator.run():
        for declaration in declarations:
            out.write(orjson.dumps(declaration).decode() + "\n")
        for label in day_labels:
            labels.write(orjson.dumps(label).decode() + "\n")
        written += len(declarations)
        scenarios += len(day_labels)
        if progress:
            progress(len(declarations))
    return written, scenarios


def labels_path_for(feed: Path) -> Path:
    return feed.with_name(feed.name.removesuffix(".jsonl") + ".labels.jsonl")


DEFAULT_START = datetime(2025, 1, 6, tzinfo=UTC)


def run_command(args: argparse.Namespace) -> int:
    """`tradewatch generate`: a feed and its labels written."""
    from streams.errors import InputFileError
    from streams.terminal import progress

    labels = args.labels or labels_path_for(args.out)
    try:
        with (
            args.out.open("w", encoding="utf-8") as out,
            labels.open("w", encoding="utf-8") as label_file,
            progress("generate", total=args.count) as bar,
        ):
            written, scenarios = generate(
                out,
                label_file,
                count=args.count,
                seed=args.seed,
                days=args.days,
                start=args.start,
                scenario_rate=args.rate,
                progress=bar.update,
            )
    except OSError as exc:
        raise InputFileError(
            Path(exc.filename or args.out), None, exc.strerror or "cannot write"
        ) from exc
    print(
        f"wrote {written} declarations ({scenarios} scenario instances) to {args.out}; "
        f"labels in {labels}",
        file=sys.stderr,
    )
    return 0
