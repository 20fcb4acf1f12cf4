"""The ops console: what `make run` shows, for a person watching the feed.

    tradewatch console

Follows the case and dead-letter topics from now on and the worker's metrics, and shows, in
lines that fit the terminal (80 columns and up):
- first, what the times mean and where the numbers come from;
- each case as one entry: the highest severity, the risk score, the event time (the
  declarations' own, in UTC) and every category; then what the goods are and why it matters,
  led by the same finding however its findings arrived (a mismatch before controlled goods
  before a listed party, ...), on up to two lines; the most severe finding of another
  category; and the case id to give `tradewatch feedback`, with the declaration or series;
- a case that grows (a burst over more windows) again, marked with its version, once its
  versions stop coming for a moment;
- each rejected declaration as it happens, with when it arrived, the reason and where it came
  from;
- two status lines that stay put: the worker's rate, what it screened and rejected since it
  started, and its lag; and the cases shown here, by severity.
"""

import io
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live
from rich.text import Text

from alerts.display import printable
from schemas.alert import AlertCategory, Severity
from schemas.case import Case, CaseFinding
from streams.decoding import DLQ_HEADER_PREFIX, ORIGINAL_HEADER_PREFIX
from streams.kafka_security import announce, broker_error, kafka_python_options
from streams.settings import Settings

STYLES = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "yellow",
    Severity.MEDIUM: "cyan",
    Severity.LOW: "dim",
}
RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}
GATHER_S = 1.0
"""How long a case waits for its next versions before it is shown (they come in bursts)."""
LEAD_INDENT = "  "
SHORT = {
    AlertCategory.CATEGORY_MISMATCH: "mismatch",
    AlertCategory.CONTROLLED_GOODS: "controlled",
    AlertCategory.RESTRICTED_PARTY: "listed party",
    AlertCategory.TRANSSHIPMENT: "diversion",
    AlertCategory.VOLUME_ANOMALY: "volume",
    AlertCategory.VALUE_ANOMALY: "value",
    AlertCategory.SPLIT_SHIPMENTS: "split",
}
"""Categories as the entries name them: short, so that the summary keeps the room."""
BACKFILL = timedelta(days=1)
"""Cases on declarations older than this (a backfill, a feed catching up) are counted in one
line instead of shown one by one."""
KEPT = 10_000
"""Cases remembered, to show their updates as updates: the oldest shown ones go first."""
BACKFILL_EVERY_S = 5.0


@dataclass
class Entry:
    """The latest version of one case, waiting for its next versions to stop coming."""

    case: Case
    last_added: float = 0.0
    shown_version: int = 0
    """The version last printed (0: none yet)."""


LEAD_ORDER = [
    AlertCategory.CATEGORY_MISMATCH,
    AlertCategory.CONTROLLED_GOODS,
    AlertCategory.RESTRICTED_PARTY,
    AlertCategory.TRANSSHIPMENT,
    AlertCategory.SPLIT_SHIPMENTS,
    AlertCategory.VALUE_ANOMALY,
    AlertCategory.VOLUME_ANOMALY,
]
"""Which finding leads an entry: what the goods are first (a mismatch says what they are and
what they were declared as), then why that matters (controlled goods to where they went, a
listed party, the route), then the numbers. The same case always leads with the same finding,
whatever order its findings came in."""
LEAD_LINES = 2
"""Lines the lead finding's summary may take before it is cut."""


def order(finding: CaseFinding) -> tuple[int, int, str, str]:
    """Findings in the order an entry names them (LEAD_ORDER, then the most severe)."""
    return (
        LEAD_ORDER.index(finding.category),
        -finding.severity.rank,
        finding.rule_id,
        finding.alert_id,
    )


def lead_findings(case: Case) -> tuple[CaseFinding, CaseFinding | None]:
    """The finding an entry leads with, and the most severe one of another category (why it
    matters, when the lead alone does not say), each chosen the same way every time."""

    lead = min(case.findings, key=order)
    others = [f for f in case.findings if f.category is not lead.category]
    second = min(others, key=lambda f: (-f.severity.rank, *order(f))) if others else None
    return lead, second


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def _cut(text: Text, width: int, lines: int = 1) -> list[Text]:
    """text wrapped to width, at most `lines` lines, the last cut with an ellipsis."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    wrapped = list(text.wrap(console, width))
    kept = wrapped[:lines]
    for line in kept:
        line.rstrip()
    if len(wrapped) > lines:
        kept[-1].append(" " + wrapped[lines].plain.lstrip())
    kept[-1].truncate(width, overflow="ellipsis")
    return kept


def render_case(case: Case, width: int, update: bool = False) -> Text:
    """An entry of a few lines, none wider than `width`:
    severity, risk score, event time (the declarations' own time, not when it was shown) and
    categories; the lead finding's summary (what the goods are), on up to two lines; the most
    severe finding of another category; then the case id to give `tradewatch feedback`, and the
    declaration or series."""
    lead, second = lead_findings(case)
    severity = case.severity
    head = Text()
    head.append(f"{severity.value.upper():<8} ", style=STYLES[severity])
    head.append(f"risk {case.risk_score:.2f}  event {_clock(case.last_event_time)}  ")
    if update:
        head.append(f"(updated, v{case.version})  ", style="bold")
    head.append(" · ".join(SHORT[c] for c in case.categories), style="bold")
    head.truncate(width, overflow="ellipsis")
    inner = max(20, width - len(LEAD_INDENT))
    lines = [head]
    lines += [
        Text(LEAD_INDENT) + line
        for line in _cut(Text(printable(lead.summary, 1000)), inner, LEAD_LINES)
    ]
    if second is not None:
        also = Text(f"{LEAD_INDENT}also: ", style="dim")
        also.append(printable(second.summary, 400))
        also.truncate(width, overflow="ellipsis")
        lines.append(also)
    if case.subject.kind == "declaration":
        what = f"declaration {printable(case.subject.key, 60)}"
    else:
        ids = len(case.declaration_ids)
        what = f"{ids} declaration{'s' if ids != 1 else ''}"
        windows = {f.window.start for f in case.findings if f.window is not None}
        if len(windows) > 1:
            what += f" · {len(windows)} overlapping windows"
        what += f" · {printable(case.subject.label, 80)}"
    rules = ", ".join(dict.fromkeys(f.rule_id for f in sorted(case.findings, key=order)))
    details = Text(f"{LEAD_INDENT}case {case.case_id} · {what} · rules {rules}", style="dim")
    details.truncate(width, overflow="ellipsis")
    lines.append(details)
    return Text("\n").join(lines)


def render_reject(headers: dict[str, str], width: int, now: datetime) -> Text:
    """A line for a rejected declaration: when it arrived (not an event time: the declaration
    could not be read), the reason, the source partition and offset, and what was wrong."""
    line = Text()
    line.append(f"{'REJECTED':<8} ", style="magenta")
    line.append(f"arrived {_clock(now)}  ")
    line.append(headers.get("reason", "rejected"), style="bold")
    where = (
        f"{headers.get('source.topic', '?')}[{headers.get('source.partition', '?')}]"
        f"@{headers.get('source.offset', '?')}"
    )
    line.append(f"  {where}")
    lines = [line] + [
        Text(LEAD_INDENT) + part
        for part in _cut(Text(printable(headers.get("error", ""), 400)), width - len(LEAD_INDENT))
    ]
    for part in lines:
        part.truncate(width, overflow="ellipsis")
    return Text("\n").join(lines)


@dataclass
class WorkerStatus:
    """What the worker's metrics say, and the rate derived from two readings."""

    reachable: bool = False
    screened: float = 0.0
    rejected: float = 0.0
    lag: float = 0.0
    per_second: float = 0.0
    read_at: float = 0.0

    @classmethod
    def parse(cls, text: str, previous: "WorkerStatus", now: float) -> "WorkerStatus":
        found = cls(reachable=True, read_at=now)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "tradewatch_declarations_total":
                    if sample.labels.get("outcome") == "ok":
                        found.screened += sample.value
                    elif sample.labels.get("outcome") == "rejected":
                        found.rejected += sample.value
                elif sample.name == "tradewatch_partition_lag":
                    found.lag += sample.value
        if previous.reachable and now > previous.read_at:
            done = found.screened + found.rejected - previous.screened - previous.rejected
            found.per_second = max(0.0, done / (now - previous.read_at))
        return found


def render_status(status: WorkerStatus, cases: Counter[Severity], width: int) -> Text:
    """The two lines that stay at the bottom, each cut to width: the worker's rate, what it
    screened and rejected since it started and its lag; then the cases shown so far, by
    severity."""
    worker = Text(style="reverse")
    if status.reachable:
        worker.append(
            f" worker: {status.per_second:,.1f} declarations/s · screened "
            f"{status.screened:,.0f} · rejected {status.rejected:,.0f} · lag {status.lag:,.0f} "
        )
    else:
        worker.append(" worker: its metrics are not answering yet ")
    shown = [s for s in sorted(Severity, key=RANK.__getitem__) if cases[s]]
    counted = " · ".join(f"{s.value} {cases[s]:,}" for s in shown) or "none yet"
    tally = Text(f" cases shown here: {counted} ", style="reverse")
    for line in (worker, tally):
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join([worker, tally])


def render_banner(metrics_url: str, width: int) -> Text:
    """The console's first lines: what the times mean, where the numbers come from, and how
    to act on a case from another terminal."""
    lines = [
        "tradewatch console: one entry per case, what the goods are first. Ctrl-C leaves.",
        "`event` times are the declarations' own (UTC); `arrived`, when a reject came in.",
        f"The worker's figures are since it started: {metrics_url}",
        "To decide a case: tradewatch feedback CASE_ID --benign --reason '...'",
    ]
    shown = [Text(line, style="dim") for line in lines]
    for line in shown:
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join(shown)


class OpsConsole:
    """Keeps the cases as they arrive and says which to show; printing is the caller's."""

    def __init__(
        self,
        width: int,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.width = width
        self.clock = clock
        self.wall_clock = wall_clock
        self.entries: dict[str, Entry] = {}
        self.cases: Counter[Severity] = Counter()
        self.status = WorkerStatus()
        self.backfill = 0
        self._backfill_shown = 0
        self._backfill_at = 0.0

    def add_case(self, case: Case) -> None:
        entry = self.entries.get(case.case_id)
        if entry is None:
            if case.last_event_time < self.wall_clock() - BACKFILL:
                self.backfill += 1
                return
            self.cases[case.severity] += 1
            entry = self.entries[case.case_id] = Entry(case)
            if len(self.entries) > KEPT:
                oldest = next(k for k, e in self.entries.items() if e.shown_version)
                del self.entries[oldest]
        elif case.version <= entry.case.version:
            return  # a repeat
        else:
            if case.severity is not entry.case.severity:
                self.cases[entry.case.severity] -= 1
                self.cases[case.severity] += 1
            entry.case = case
        entry.last_added = self.clock()

    def ready(self, everything: bool = False) -> list[Text]:
        """The cases with a version not shown yet and none newer for GATHER_S, oldest first,
        and a line on the cases about older declarations since the last one."""
        now = self.clock()
        shown = []
        for entry in self.entries.values():
            if entry.case.version == entry.shown_version:
                continue
            if everything or now - entry.last_added >= GATHER_S:
                shown.append(render_case(entry.case, self.width, update=entry.shown_version > 0))
                entry.shown_version = entry.case.version
        if self.backfill > self._backfill_shown and (
            everything or now - self._backfill_at >= BACKFILL_EVERY_S
        ):
            self._backfill_at = now
            earlier = Text(
                f"{'EARLIER':<8} {self.backfill} case{'s' if self.backfill != 1 else ''} "
                "so far on declarations older than a day (history, or a feed catching up): "
                "the case topic holds each",
                style="dim",
            )
            shown.extend(_cut(earlier, self.width, 2))
            self._backfill_shown = self.backfill
        return shown


def _headers(record: Any) -> dict[str, str]:
    return {
        name.removeprefix(DLQ_HEADER_PREFIX): value.decode("utf-8", "replace")
        for name, value in record.headers or ()
        if name.startswith(DLQ_HEADER_PREFIX) and not name.startswith(ORIGINAL_HEADER_PREFIX)
    }


def _read_metrics(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return str(response.read().decode("utf-8"))
    except OSError:
        return None


def run_console(settings: Settings, stop: threading.Event, console: Console | None = None) -> None:
    """Show the console until `stop` is set."""
    console = console or Console()
    announce(settings)
    try:
        consumer = KafkaConsumer(
            settings.topic_cases,
            settings.topic_dead_letter,
            **kafka_python_options(settings),
            client_id=f"{settings.app_id}-console",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
    except KafkaError as exc:
        raise broker_error(settings, exc) from exc
    ops = OpsConsole(width=min(console.width, 160))
    scraped = 0.0
    console.print(render_banner(settings.metrics_url, ops.width))

    def status() -> Text:
        return render_status(ops.status, ops.cases, ops.width)

    try:
        with Live(status(), console=console, refresh_per_second=4, transient=False) as live:
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=250).values():
                    for record in records:
                        if record.topic == settings.topic_dead_letter:
                            live.console.print(
                                render_reject(_headers(record), ops.width, datetime.now(UTC))
                            )
                        elif record.value is not None:
                            try:
                                ops.add_case(Case.model_validate_json(record.value))
                            except ValidationError:
                                live.console.print(Text("(an unreadable case)", style="dim"))
                for text in ops.ready():
                    live.console.print(text)
                now = time.monotonic()
                if now - scraped >= 1.0:
                    scraped = now
                    page = _read_metrics(settings.metrics_url)
                    ops.status = (
                        WorkerStatus.parse(page, ops.status, now)
                        if page is not None
                        else WorkerStatus()
                    )
                live.update(status())
            for text in ops.ready(everything=True):
                live.console.print(text)
    finally:
        consumer.close()
