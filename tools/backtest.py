"""Running the worker's exact core over a file, offline: alerts out, quality numbers on stderr.

    tradewatch backtest feed.jsonl --out alerts.jsonl --labels feed.labels.jsonl
    tradewatch backtest export.csv --mapping tools/examples/csv-mapping.json

The file is read in order, as a topic would be: give it in event-time order (declarations later
than the grace period behind their key's newest one are counted as late, as live). Bad rows are
counted and reported with their line numbers; only --strict makes one fatal.

With `jobs` N above 1, batches are screened (decoded, validated, the declaration rules, the
observations) in N other processes, and the window stage runs in N more, each over the keys
whose partition falls to it, as N partitions of the observations topic would split them. This
one reads the file and puts what they give back in one process's order: the same alerts, in the
same order, and the same cases as one process.
"""

import argparse
import contextlib
import csv
import io
import logging
import multiprocessing
import queue
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson
from pydantic import ValidationError

from alerts.feedback import DecisionRefused, Reviews, Suppressions
from alerts.pipeline import OfflinePipeline, Screening, frames
from alerts.reference import ReferenceFile, load_file
from alerts.windows.observations import Frame
from schemas.alert import Alert, AlertCategory, Severity
from schemas.case import Case
from schemas.errors import first_problem
from schemas.feedback import Feedback
from schemas.wire import Rejection
from streams import heap
from streams.errors import InputFileError
from streams.offline import offline_pipeline
from streams.partitioning import partition_of
from streams.produce import read_lines
from streams.settings import Settings

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvMapping:
    """How a vendor's CSV columns map onto the declaration wire contract.

    `columns` maps a contract field (dotted for parties: "exporter.name") to a CSV column;
    `constants` gives fields the export lacks (e.g. "direction": "import").
    """

    columns: dict[str, str]
    constants: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> "CsvMapping":
        try:
            document = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise InputFileError(path, None, exc.strerror or "cannot read") from exc
        except orjson.JSONDecodeError as exc:
            raise InputFileError(path, exc.lineno, f"not valid JSON: {exc.msg}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("columns"), dict):
            raise InputFileError(path, None, 'a mapping needs a "columns" object')
        return cls(dict(document["columns"]), dict(document.get("constants", {})))

    def declaration(self, row: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for target, value in [
            *self.constants.items(),
            *((t, row.get(c)) for t, c in self.columns.items()),
        ]:
            if value is None or value == "":
                continue
            head, _, tail = target.partition(".")
            if tail:
                out.setdefault(head, {})[tail] = value
            else:
                out[head] = value
        for number in ("quantity", "invoice_value", "net_mass_kg", "gross_mass_kg"):
            if isinstance(out.get(number), str):
                # Left as text when it is not a number: validation then names the field.
                with contextlib.suppress(ValueError):
                    out[number] = float(out[number].replace(",", "."))
        return out


def read_csv(path: Path, mapping: CsvMapping) -> Iterator[tuple[int, bytes]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(path, None, exc.strerror or "cannot read") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(path, None, f"not UTF-8: {exc.reason}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = sorted(set(mapping.columns.values()) - set(reader.fieldnames or ()))
    if missing:
        raise InputFileError(path, 1, f"columns named in the mapping are missing: {missing}")
    for row in reader:
        yield reader.line_num, orjson.dumps(mapping.declaration(row))


@dataclass
class Scores:
    """Precision and recall per alert category against a labels file."""

    expected: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    instance_of: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    expects: dict[int, set[str]] = field(default_factory=dict)
    alerts: Counter[str] = field(default_factory=Counter)
    true_alerts: Counter[str] = field(default_factory=Counter)
    found: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(cls, path: Path) -> "Scores":
        scores = cls()
        for number, line in read_lines(path):
            try:
                label = orjson.loads(line)
                instance = int(label["instance"])
                categories = set(label["expected_categories"])
                ids = list(label["declaration_ids"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputFileError(path, number, f"not a label: {exc}") from exc
            scores.expects[instance] = categories
            for category in categories:
                scores.expected[category].add(instance)
            for declaration_id in ids:
                scores.instance_of[declaration_id].append(instance)
        return scores

    def add(self, alert: Alert) -> None:
        category = alert.category.value
        self.alerts[category] += 1
        hits = {
            instance
            for declaration_id in alert.declaration_ids
            for instance in self.instance_of.get(declaration_id, ())
            if category in self.expects[instance]
        }
        if hits:
            self.true_alerts[category] += 1
            self.found[category] |= hits

    def table(self) -> list[tuple[str, int, int, float | None, float | None]]:
        rows = []
        for category in AlertCategory:
            name = category.value
            alerts, expected = self.alerts[name], len(self.expected[name])
            precision = self.true_alerts[name] / alerts if alerts else None
            recall = len(self.found[name]) / expected if expected else None
            rows.append((name, alerts, expected, precision, recall))
        return rows


@dataclass
class BacktestResult:
    read: int = 0
    alerts: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    by_category: Counter[tuple[str, str]] = field(default_factory=Counter)
    suppressed: int = 0
    seconds: float = 0.0
    cases: list[Case] = field(default_factory=list)
    """The latest version of every case the replay made, in the order they were opened (kept
    only when asked for)."""


def backtest(
    rows: Iterator[tuple[int, bytes]],
    settings: Settings,
    out: TextIO,
    *,
    strict: bool = False,
    source_name: str = "backtest",
    scores: Scores | None = None,
    progress: Any = None,
    batch_size: int = 1000,
    cases: bool = False,
    feedback: list[Feedback] | None = None,
    list_changes: list[tuple[datetime, ReferenceFile[Any]]] | None = None,
    jobs: int = 1,
) -> BacktestResult:
    """Feed every row through the offline pipeline; write alerts as JSON lines to `out`.

    Recorded decisions are ruled on as live, by the same gate (alerts/feedback.py), against the
    cases a first pass over the same rows makes: a decision on a case the replay never makes,
    or a suppression out of its case, silences nothing. The suppressions in force then hold
    over the whole replay, each finding taken as made when it was declared. Each list change
    takes effect before the first row declared at or after its time (or after the last row),
    and looks back over the party index as a live update does."""
    suppressions = None
    if feedback:
        rows = iter(kept := list(rows))
        first = backtest(iter(kept), settings, io.StringIO(), cases=True,
                         list_changes=list_changes, batch_size=batch_size, jobs=jobs)  # fmt: skip
        suppressions = Suppressions(judged_on="event")
        reviews = Reviews(suppressions)
        for decision in feedback:
            with contextlib.suppress(DecisionRefused):
                reviews.feedback(decision)
        for case in first.cases:
            reviews.case(case)
    pipeline = offline_pipeline(settings, suppressions, cases=cases)
    pending = sorted(list_changes or [], key=lambda change: change[0])
    heap.settle()
    result = BacktestResult()
    started = time.perf_counter()
    batch: list[tuple[bytes | None, int]] = []

    def publish(alerts: list[Alert]) -> None:
        for alert in alerts:
            out.write(alert.model_dump_json() + "\n")
            result.alerts += 1
            result.by_category[(alert.category.value, alert.severity.value)] += 1
            if alert.suppressed_by is not None:
                result.suppressed += 1
            if scores is not None:
                scores.add(alert)

    def change(at: datetime, loaded: ReferenceFile[Any]) -> None:
        publish(pipeline.list_change(pipeline.core.reference.replaced(loaded), at))

    def rejected(number: int, reason: str, detail: str) -> None:
        if strict:
            raise InputFileError(Path(source_name), number, detail)
        result.rejected[reason] += 1
        if len(result.bad_lines) < 20:
            result.bad_lines.append((number, detail))

    def run(batch: list[tuple[bytes | None, int]]) -> None:
        outcomes, alerts = pipeline.feed_batch(batch)
        for (_, number), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Rejection):
                rejected(number, outcome.reason.value, outcome.detail)
        publish(alerts)
        if progress is not None:
            progress.update(len(batch))

    if jobs > 1 and not pending and not feedback:
        # Reference changes swap the core mid-file and replays with decisions mark alerts as
        # they go: those run in one process.
        def finished(done: Replayed) -> None:
            for number, reason, detail in done.rejections:
                pipeline.rejected[reason] += 1
                rejected(number, reason, detail)
            pipeline.keep(done.cases)
            publish(done.alerts)
            if progress is not None:
                progress.update(done.size)

        try:
            parallel = _Parallel(pipeline, workers=jobs, parts=jobs)
        except OSError as error:  # no shared memory for the pool's locks (some containers)
            LOG.warning("backtest: one process, as processes cannot share locks here (%s)", error)
        else:
            try:
                for batch in _batches(rows, batch_size, result):
                    parallel.submit(batch, finished)
                parallel.drain(finished)
            finally:
                parallel.close()
            result.seconds = time.perf_counter() - started
            result.cases = pipeline.cases
            return result

    for number, raw in rows:
        if pending and _declared_at(raw) >= pending[0][0]:
            if batch:
                run(batch)
                batch = []
            change(*pending.pop(0))
        result.read += 1
        batch.append((raw, number))
        if len(batch) >= batch_size:
            run(batch)
            batch = []
    if batch:
        run(batch)
    for at, loaded in pending:
        change(at, loaded)
    result.seconds = time.perf_counter() - started
    result.cases = pipeline.cases
    return result


@dataclass
class ScreenedBatch:
    """A batch screened in another process: its size, its rejections (line, reason, detail),
    the declarations' alerts and cases, and where its window stage starts (the event time of
    its first observation, as one process's frame would say; None without observations).

    Its observations come as one frame per part (the parts its keys' partitions fall in), each
    with the place, in the batch's key order, of each of its keys: one process's window stage
    takes the keys in that order, so its alerts are put back in it."""

    size: int
    rejections: list[tuple[int, str, str]]
    alerts: list[Alert]
    cases: list[Case]
    start_ms: int | None = None
    parts: dict[int, tuple[bytes, list[int]]] = field(default_factory=dict)


_SCREENING: OfflinePipeline | None = None
"""The pipeline the screening processes and the window parts use: the parent's, inherited when
they fork."""


def _screen(batch: list[tuple[bytes | None, int]], parts: int) -> ScreenedBatch:
    assert _SCREENING is not None
    screening: Screening = _SCREENING.screen_batch(batch)
    rejections = [
        (batch[n][1], rejection.reason.value, rejection.detail)
        for n, rejection in screening.rejections()
    ]
    done = ScreenedBatch(len(batch), rejections, screening.alerts, screening.cases)
    frame = screening.frames.get(0)
    if frame is None:
        return done
    done.start_ms = frame.stream_start_ms
    place = {key: n for n, key in enumerate(dict.fromkeys(o.table_key for o in frame.observations))}
    for part, group in frames(frame.observations, parts, partition_of).items():
        keys = dict.fromkeys(o.table_key for o in group.observations)
        done.parts[part] = (group.encode(), [place[key] for key in keys])
    return done


@dataclass
class PartResult:
    """What one part's window stage gave for one frame."""

    alerts: list[Alert]
    alert_keys: list[int]
    cases: list[Case]
    case_alerts: list[int]


def _part_message(start_ms: int, frame: bytes) -> bytes:
    """What a window part is sent: where the replay's stream starts, then a frame."""
    return start_ms.to_bytes(8, "little", signed=True) + frame


def _run_part(inbox: Any, outbox: Any) -> None:
    """A window part: frames in (each behind the replay's stream start), results out, until an
    empty message. Its keys' states live here only."""
    assert _SCREENING is not None
    stage, store = _SCREENING.stage, _SCREENING.store
    try:
        while message := inbox.get():
            store.starts.setdefault(0, int.from_bytes(message[:8], "little", signed=True))
            result = stage.apply(Frame.decode(message[8:]), 0, store)
            outbox.put(
                PartResult(result.alerts, result.alert_keys, result.cases, result.case_alerts)
            )
    except BaseException as exc:  # the parent raises it: a part must not die silently
        outbox.put(exc)
        raise


@dataclass
class Replayed:
    """A batch with its window stage run: what one process gives for it."""

    size: int
    rejections: list[tuple[int, str, str]]
    alerts: list[Alert]
    cases: list[Case]


class _Parallel:
    """Batches screened by `workers` forked processes, and the window stage run in `parts`
    forked processes, each over the keys whose partition (Kafka's partitioner over `parts`
    partitions, as the observations topic would place them) falls to it. Every part's state
    starts where one process's would (the first observation of the replay), and its alerts and
    cases are put back in one process's order: the same output as one process, byte for byte
    but the detection times."""

    AHEAD = 4

    def __init__(self, pipeline: OfflinePipeline, workers: int, parts: int) -> None:
        global _SCREENING
        _SCREENING = pipeline
        context = multiprocessing.get_context("fork")  # the loaded core is inherited, not built
        self.parts = parts
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.screening: deque[Future[ScreenedBatch]] = deque()
        self.windows: deque[ScreenedBatch] = deque()
        self.ahead = self.AHEAD * workers
        self.start_ms: int | None = None
        self.inboxes = [context.Queue() for _ in range(parts)]
        self.outboxes = [context.Queue() for _ in range(parts)]
        self.processes = [
            context.Process(target=_run_part, args=(inbox, outbox), daemon=True)
            for inbox, outbox in zip(self.inboxes, self.outboxes, strict=True)
        ]
        for process in self.processes:
            process.start()

    def submit(
        self, batch: list[tuple[bytes | None, int]], then: Callable[[Replayed], None]
    ) -> None:
        self.screening.append(self.pool.submit(_screen, batch, self.parts))
        while len(self.screening) > self.ahead:
            self._route(self.screening.popleft().result(), then)

    def drain(self, then: Callable[[Replayed], None]) -> None:
        while self.screening:
            self._route(self.screening.popleft().result(), then)
        while self.windows:
            then(self._merge(self.windows.popleft()))

    def _route(self, done: ScreenedBatch, then: Callable[[Replayed], None]) -> None:
        if self.start_ms is None:
            self.start_ms = done.start_ms
        if done.parts:
            assert self.start_ms is not None
            for part, (frame, _) in done.parts.items():
                self.inboxes[part].put(_part_message(self.start_ms, frame))
        self.windows.append(done)
        while len(self.windows) > self.AHEAD:
            then(self._merge(self.windows.popleft()))

    def _merge(self, done: ScreenedBatch) -> Replayed:
        """A batch as one process gives it: the declarations' alerts and cases, then the
        window stage's in the batch's key order."""
        alerts: list[tuple[int, Alert]] = []
        cases: list[tuple[int, Case]] = []
        for part, (_, places) in sorted(done.parts.items()):
            result = self._result(part)
            ranked = [places[k] for k in result.alert_keys]
            alerts += zip(ranked, result.alerts, strict=True)
            made = zip(result.case_alerts, result.cases, strict=True)
            cases += ((ranked[alert], case) for alert, case in made)
        alerts.sort(key=lambda pair: pair[0])  # stable: a key's own alerts keep their order
        cases.sort(key=lambda pair: pair[0])
        return Replayed(
            done.size,
            done.rejections,
            done.alerts + [alert for _, alert in alerts],
            done.cases + [case for _, case in cases],
        )

    def _result(self, part: int) -> PartResult:
        while True:
            try:
                reply = self.outboxes[part].get(timeout=1.0)
            except queue.Empty:
                process = self.processes[part]
                if not process.is_alive():
                    raise RuntimeError(
                        f"backtest: window part {part} stopped (exit code {process.exitcode})"
                    ) from None
                continue
            if isinstance(reply, BaseException):
                raise reply
            return reply

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        for inbox, process in zip(self.inboxes, self.processes, strict=True):
            if process.is_alive():
                inbox.put(b"")
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        for box in self.inboxes + self.outboxes:
            # Frames still queued for a part that stopped would hold this process at exit.
            box.cancel_join_thread()
            box.close()


def _batches(
    rows: Iterator[tuple[int, bytes]], size: int, result: BacktestResult
) -> Iterator[list[tuple[bytes | None, int]]]:
    batch: list[tuple[bytes | None, int]] = []
    for number, raw in rows:
        result.read += 1
        batch.append((raw, number))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_NEVER = datetime.min.replace(tzinfo=UTC)


def _declared_at(raw: bytes) -> datetime:
    """A row's declared time, as far as it can be read (a bad row: the earliest time)."""
    try:
        value = orjson.loads(raw).get("declared_at")
        moment = datetime.fromisoformat(value)
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        return _NEVER
    return moment if moment.tzinfo is not None else _NEVER


def read_list_change(text: str) -> tuple[datetime, ReferenceFile[Any]]:
    """FILE@TIME: a watchlist (or any reference file) version, and when it takes effect."""
    path, _, when = text.rpartition("@")
    if not path:
        raise InputFileError(Path(text), None, "a list change is FILE@TIME (ISO 8601, with zone)")
    try:
        at: datetime | None = datetime.fromisoformat(when)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InputFileError(Path(path), None, f"{when!r} is not an ISO 8601 time with a zone")
    return at, load_file(Path(path))


def read_feedback(path: Path) -> list[Feedback]:
    """Recorded decisions, one JSON object a line (as the feedback topic carries them)."""
    decisions = []
    for number, line in read_lines(path):
        try:
            decisions.append(Feedback.model_validate_json(line))
        except ValidationError as exc:
            raise InputFileError(path, number, first_problem(exc)) from exc
    return decisions


def reviews_summary(cases: list[Case], feedback: list[Feedback]) -> str:
    """Decisions joined with the replayed cases: counts and precision by rule, as live."""
    reviews = Reviews()
    for decision in feedback:
        reviews.feedback(decision)
    for case in cases:
        reviews.case(case)
    decided = [review for review in reviews.reviews.values() if review.decisions]
    pending = sum(review.pending for review in decided)
    lines = [
        f"decisions: {len(feedback)} on {len(decided)} cases; {pending} name a case the replay "
        "did not make",
        f"{'rule':<40}{'confirmed':>10}{'benign':>8}{'precision':>11}",
    ]
    for rule, (confirmed, benign, precision) in reviews.precision().items():
        shown = "-" if precision is None else f"{precision:.2f}"
        lines.append(f"{rule:<40}{confirmed:>10}{benign:>8}{shown:>11}")
    return "\n".join(lines)


def cases_summary(cases: list[Case], alerts: int) -> str:
    """How many items an analyst gets instead of alerts, by severity and score."""
    by_severity = Counter(c.severity.value for c in cases)
    several = sum(1 for c in cases if len(c.categories) > 1)
    return (
        f"cases: {len(cases)} from {alerts} alerts ({alerts / max(len(cases), 1):.1f} alerts a "
        f"case); by severity: "
        + ", ".join(f"{s.value} {by_severity[s.value]}" for s in Severity)
        + f"; {several} with findings of more than one category"
    )


def summary(result: BacktestResult, scores: Scores | None) -> str:
    lines = [
        f"read {result.read} rows in {result.seconds:.1f} s "
        f"({result.read / max(result.seconds, 1e-9):,.0f}/s); "
        f"{sum(result.rejected.values())} rejected; {result.alerts} alerts"
        + (f" ({result.suppressed} suppressed)" if result.suppressed else ""),
        "",
        f"{'category':<18}" + "".join(f"{s.value:>10}" for s in Severity) + f"{'total':>10}",
    ]
    for category in AlertCategory:
        counts = [result.by_category[(category.value, s.value)] for s in Severity]
        lines.append(
            f"{category.value:<18}" + "".join(f"{c:>10}" for c in counts) + f"{sum(counts):>10}"
        )
    if result.rejected:
        lines += [
            "",
            "rejected rows: "
            + ", ".join(f"{reason} {count}" for reason, count in result.rejected.most_common()),
        ]
        lines += [f"  line {number}: {detail}" for number, detail in result.bad_lines]
    if scores is not None:
        lines += [
            "",
            "precision: the share of alerts that belong to a labelled scenario of their category;",
            "recall: the share of those scenarios with at least one such alert",
            f"{'category':<18}{'alerts':>8}{'scenarios':>10}{'precision':>11}{'recall':>8}",
        ]
        for name, alerts, expected, precision, recall in scores.table():
            p = "-" if precision is None else f"{precision:.2f}"
            r = "-" if recall is None else f"{recall:.2f}"
            lines.append(f"{name:<18}{alerts:>8}{expected:>10}{p:>11}{r:>8}")
    return "\n".join(lines)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """`tradewatch backtest`: the file replayed, its alerts written, the summary printed."""
    import tempfile

    from streams.cli import EXAMPLES
    from streams.terminal import progress

    if args.path.suffix.lower() == ".csv" and args.mapping is None:
        raise InputFileError(
            args.path,
            None,
            f"a CSV file needs --mapping (an example: {EXAMPLES / 'csv-mapping.json'})",
        )
    if not args.path.is_file():
        raise InputFileError(args.path, None, "no such file")
    rows = (
        read_csv(args.path, CsvMapping.load(args.mapping))
        if args.mapping
        else read_lines(args.path)
    )
    scores = Scores.load(args.labels) if args.labels else None
    if args.feedback is not None and not args.feedback.is_file():
        raise InputFileError(args.feedback, None, "no such file")
    feedback = read_feedback(args.feedback) if args.feedback else None
    list_changes = [read_list_change(text) for text in args.list_change]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(args.out.open("w", encoding="utf-8")) if args.out else sys.stdout
        bar = stack.enter_context(progress("backtest", enabled=not args.quiet))
        state = stack.enter_context(tempfile.TemporaryDirectory(prefix="tradewatch-backtest-"))
        offline = settings.model_copy(update={"data_dir": Path(state)})
        result = backtest(
            rows,
            offline,
            out,
            strict=args.strict,
            source_name=str(args.path),
            scores=scores,
            progress=bar,
            cases=args.cases is not None,
            feedback=feedback,
            list_changes=list_changes,
            jobs=args.jobs,
        )
    print(summary(result, scores), file=sys.stderr)
    if args.cases is not None:
        latest = result.cases
        with args.cases.open("w", encoding="utf-8") as out:
            out.writelines(case.model_dump_json() + "\n" for case in latest)
        print(cases_summary(latest, result.alerts), file=sys.stderr)
        if feedback is not None:
            print(reviews_summary(latest, feedback), file=sys.stderr)
    return 0
