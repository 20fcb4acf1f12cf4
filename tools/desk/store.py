"""The desk's own store: cases, decisions and rulings as the topics hold them, in SQLite.

Kafka stays the source of truth. The store is written only by the desk's reader
(tools/desk/sync.py), one batch of records and the offsets after it in one transaction, so
that a restart resumes where the last committed batch ended and a deleted file is rebuilt from
the topics with the same contents. Pages read it through their own connections (WAL: readers
never wait for the writer).

    store = Store(path)
    store.apply(batch, offsets)             # the reader
    page = store.queue(Filters(severity="critical"), page=1)   # the pages
"""

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from alerts.feedback import Ruling, Status
from schemas.alert import Severity
from schemas.case import Case
from schemas.feedback import Decision, Feedback

log = logging.getLogger("tradewatch.desk")
SCHEMA_VERSION = "2"
PAGE_SIZE = 50
MMAP_BYTES = 1 << 30
"""Pages read the store through a memory map: a filtered count scans the case table."""
EPSILON = timedelta(microseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    risk_score REAL NOT NULL,
    categories TEXT NOT NULL,
    rules TEXT NOT NULL,
    parties TEXT NOT NULL,
    route TEXT NOT NULL,
    reporting_country TEXT NOT NULL,
    subject TEXT NOT NULL,
    first_event TEXT NOT NULL,
    last_event TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    PRIMARY KEY (risk_score DESC, severity_rank DESC, case_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS cases_by_id ON cases (case_id);
CREATE INDEX IF NOT EXISTS cases_by_state ON cases (state);
CREATE TABLE IF NOT EXISTS case_bodies (
    n INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS party_text USING fts5(parties, tokenize='trigram');
CREATE TABLE IF NOT EXISTS case_declarations (
    declaration_id TEXT NOT NULL, case_id TEXT NOT NULL,
    PRIMARY KEY (declaration_id, case_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    feedback_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    analyst TEXT NOT NULL,
    role TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    refers_to TEXT,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_by_case ON decisions (case_id, decided_at);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (decided_at);
CREATE TABLE IF NOT EXISTS rulings (
    feedback_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    ruled_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rulings_by_case ON rulings (case_id);
CREATE TABLE IF NOT EXISTS suppressed (
    rule_id TEXT NOT NULL, day TEXT NOT NULL, feedback_id TEXT NOT NULL,
    findings INTEGER NOT NULL, PRIMARY KEY (rule_id, day, feedback_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS suppressed_alerts (alert_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class CaseState(StrEnum):
    NEW = "new"
    IN_REVIEW = "in_review"
    """Escalated, or decided with a suppression the worker has not put in force yet (not ruled
    on, or held for a supervisor's approval)."""
    DECIDED = "decided"


_FINAL = {Decision.CONFIRMED, Decision.BENIGN, Decision.SUPPRESS}


def case_state(decisions: Sequence[Feedback], rulings: dict[str, str]) -> CaseState:
    """A case's state from its decisions in the order made, and the rulings on them by id."""
    revoked = {d.refers_to for d in decisions if d.decision is Decision.REVOKE}
    state = CaseState.NEW
    for decision in decisions:
        if decision.feedback_id in revoked:
            continue
        if decision.decision is Decision.ESCALATE:
            state = CaseState.IN_REVIEW
        elif decision.decision in _FINAL:
            # A suppression is in force only once the worker's review rules it so: until then
            # (or while it waits for a supervisor) the case is still in review.
            ruling = rulings.get(decision.feedback_id)
            waiting = decision.suppression is not None and ruling in (None, Status.HELD.value)
            state = CaseState.IN_REVIEW if waiting else CaseState.DECIDED
    return state


def case_parties(case: Case) -> list[str]:
    """Every party name a case names: its declarations', its scope's and its listed matches'."""
    names: list[str] = []
    for declaration in case.declarations:
        names += [declaration.exporter.name, declaration.importer.name]
    names += [v for k, v in case.scope.items() if k in ("exporter", "importer")]
    for finding in case.findings:
        for match in finding.evidence.get("matches") or ():
            if isinstance(match, dict):
                names += [str(match.get(k)) for k in ("party_name", "entry_name") if match.get(k)]
        for key in ("exporter", "importer"):
            if isinstance(finding.evidence.get(key), str):
                names.append(finding.evidence[key])
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name.casefold(), None)
    return list(seen)


def case_route(case: Case) -> str:
    """origin>dispatch>destination, from the declaration or a finding's route evidence."""
    if case.declarations:
        d = case.declarations[0]
        return f"{d.origin_country}>{d.dispatch_country}>{d.destination_country}"
    for finding in case.findings:
        route = finding.evidence.get("route")
        if isinstance(route, dict):
            return ">".join(str(route.get(k, "")) for k in ("origin", "dispatch", "destination"))
    return ""


@dataclass(frozen=True)
class Filters:
    """What the queue shows: every field optional, each narrowing it."""

    state: str | None = None
    severity: str | None = None
    category: str | None = None
    rule: str | None = None
    party: str | None = None
    route: str | None = None
    reporting_country: str | None = None
    since: str | None = None
    until: str | None = None
    search: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        values: list[Any] = []
        if self.severity:
            clauses.append("severity = ?")
            values.append(self.severity)
        if self.category:
            clauses.append("instr(categories, ?) > 0")
            values.append(f" {self.category} ")
        if self.rule:  # a rule's id, or the start of one ("restricted_party.")
            clauses.append("instr(rules, ?) > 0")
            values.append(f" {self.rule}")
        if self.party:
            clause, value = _party_clause(self.party)
            clauses.append(clause)
            values.append(value)
        if self.route:
            clauses.append("instr(route, ?) > 0")
            values.append(self.route.upper())
        if self.reporting_country:
            clauses.append("reporting_country = ?")
            values.append(self.reporting_country.upper())
        if self.since:
            clauses.append("last_event >= ?")
            values.append(self.since)
        if self.until:
            clauses.append("first_event < ?")
            values.append(self.until)
        if self.search:
            term = self.search.strip()
            clause, value = _party_clause(term)
            clauses.append(
                "case_id IN (SELECT ? UNION SELECT case_id FROM case_declarations "
                f"WHERE declaration_id = ?) OR {clause}"
            )
            values += [term, term, value]
        if len(clauses) > 1 or self.search:
            clauses = [f"({clause})" for clause in clauses]
        return (" AND ".join(clauses) or "1"), values


def _party_clause(name: str) -> tuple[str, str]:
    """Cases naming a party that holds `name`: by the trigram index from three letters on."""
    folded = name.casefold()
    if len(folded) < 3:
        return "instr(parties, ?) > 0", folded
    phrase = '"' + folded.replace('"', '""') + '"'
    return (
        "case_id IN (SELECT b.case_id FROM party_text p JOIN case_bodies b ON b.n = p.rowid "
        "WHERE party_text MATCH ?)",
        phrase,
    )


@dataclass(frozen=True)
class QueueRow:
    case_id: str
    severity: str
    risk_score: float
    categories: list[str]
    subject: str
    parties: list[str]
    route: str
    last_event: str
    state: str


@dataclass
class Queue:
    rows: list[QueueRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    """Cases per state, under every filter but the state."""


@dataclass(frozen=True)
class DecisionView:
    feedback: Feedback
    status: str | None
    """The review's ruling on its suppression (active, held, revoked, refused), if any."""
    ruling_reason: str
    ruled_by: str
    silenced: int
    """Findings its suppression silenced so far."""


@dataclass(frozen=True)
class RulePrecision:
    rule_id: str
    confirmed: int
    benign: int
    suppressed: int

    @property
    def precision(self) -> float | None:
        judged = self.confirmed + self.benign
        return self.confirmed / judged if judged else None


class Store:
    """The desk's SQLite file. One writer (the reader thread), any number of page readers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        known = self._schema()
        if known is not None and known != SCHEMA_VERSION:
            # Derived state in an older layout: start again, and the reader rebuilds it.
            log.warning(
                "desk store %s holds schema %s, this desk writes %s: rebuilding it from the "
                "topics", path, known, SCHEMA_VERSION,
            )  # fmt: skip
            for stale in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                stale.unlink(missing_ok=True)
        with self.connect() as db:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _schema(self) -> str | None:
        if not self.path.exists():
            return None
        with self.connect() as db:
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError:
                return "unreadable"
        return row[0] if row else "unknown"

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            yield db
        finally:
            db.close()

    # -- the reader's side ------------------------------------------------------------------

    def offsets(self) -> dict[tuple[str, int], int]:
        with self.connect() as db:
            rows = db.execute("SELECT topic, partition, next_offset FROM offsets").fetchall()
        return {(topic, partition): offset for topic, partition, offset in rows}

    def meta(self, key: str) -> str | None:
        with self.connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.connect() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def apply(
        self,
        cases: Iterable[Case],
        decisions: Iterable[Feedback],
        rulings: Iterable[Ruling],
        suppressed: Iterable[tuple[str, str, str, str]],
        offsets: dict[tuple[str, int], int],
    ) -> None:
        """One batch and the offsets after it, in one transaction. `suppressed` holds
        (alert_id, rule_id, event day, feedback_id) of findings a suppression silenced."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                touched: set[str] = set()
                for case in cases:
                    if self._put_case(db, case):
                        touched.add(case.case_id)
                for decision in decisions:
                    db.execute(
                        "INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            decision.feedback_id,
                            decision.case_id,
                            decision.decision.value,
                            decision.analyst,
                            decision.role.value,
                            decision.decided_at.isoformat(),
                            decision.refers_to,
                            decision.model_dump_json(),
                        ),
                    )
                    touched.add(decision.case_id)
                for ruling in rulings:
                    db.execute(
                        "INSERT OR REPLACE INTO rulings VALUES (?, ?, ?, ?, ?)",
                        (
                            ruling.feedback.feedback_id,
                            ruling.feedback.case_id,
                            ruling.status.value,
                            ruling.reason,
                            ruling.by,
                        ),
                    )
                    touched.add(ruling.feedback.case_id)
                for alert_id, rule_id, day, feedback_id in suppressed:
                    new = db.execute(
                        "INSERT OR IGNORE INTO suppressed_alerts VALUES (?)", (alert_id,)
                    ).rowcount
                    if new:
                        db.execute(
                            "INSERT INTO suppressed VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE "
                            "SET findings = findings + 1",
                            (rule_id, day, feedback_id),
                        )
                for case_id in touched:
                    self._restate(db, case_id)
                db.executemany(
                    "INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)",
                    [(topic, partition, offset) for (topic, partition), offset in offsets.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _put_case(db: sqlite3.Connection, case: Case) -> bool:
        known = db.execute(
            "SELECT version, state FROM cases WHERE case_id = ?", (case.case_id,)
        ).fetchone()
        if known is not None and known[0] > case.version:
            return False  # an older version read after a newer one: the newer stands
        if known is not None:
            db.execute("DELETE FROM cases WHERE case_id = ?", (case.case_id,))
        categories = " " + " ".join(c.value for c in case.categories) + " "
        parties = "\n".join(case_parties(case))
        rules = " " + " ".join(sorted({f.rule_id for f in case.findings})) + " "
        db.execute(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.case_id,
                case.version,
                case.severity.value,
                case.severity.rank,
                case.risk_score,
                categories,
                rules,
                parties,
                case_route(case),
                case.declarations[0].reporting_country if case.declarations else "",
                case.subject.label,
                case.first_event_time.isoformat(),
                case.last_event_time.isoformat(),
                known[1] if known is not None else CaseState.NEW.value,
            ),
        )
        (number,) = db.execute(
            "INSERT INTO case_bodies (case_id, body) VALUES (?, ?) ON CONFLICT (case_id) "
            "DO UPDATE SET body = excluded.body RETURNING n",
            (case.case_id, case.model_dump_json()),
        ).fetchone()
        db.execute("DELETE FROM party_text WHERE rowid = ?", (number,))
        db.execute("INSERT INTO party_text (rowid, parties) VALUES (?, ?)", (number, parties))
        db.executemany(
            "INSERT OR IGNORE INTO case_declarations VALUES (?, ?)",
            [(declaration_id, case.case_id) for declaration_id in case.declaration_ids],
        )
        return True

    def _restate(self, db: sqlite3.Connection, case_id: str) -> None:
        decisions = self._decisions(db, case_id)
        rulings = {
            feedback_id: status
            for feedback_id, status in db.execute(
                "SELECT feedback_id, status FROM rulings WHERE case_id = ?", (case_id,)
            )
        }
        state = case_state(decisions, rulings)
        db.execute("UPDATE cases SET state = ? WHERE case_id = ?", (state.value, case_id))

    @staticmethod
    def _decisions(db: sqlite3.Connection, case_id: str) -> list[Feedback]:
        rows = db.execute(
            "SELECT body FROM decisions WHERE case_id = ? ORDER BY decided_at, feedback_id",
            (case_id,),
        ).fetchall()
        return [Feedback.model_validate_json(body) for (body,) in rows]

    # -- the pages' side --------------------------------------------------------------------

    def queue(self, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Queue:
        where, values = filters.where()
        with self.connect() as db:
            states = [state.value for state in CaseState]
            if values:  # one pass, no grouping: a filtered count is a scan of the case table
                sums = ", ".join("total(state = ?)" for _ in states)
                found = db.execute(f"SELECT {sums} FROM cases WHERE {where}", [*states, *values])
                counts = dict(zip(states, (int(n) for n in found.fetchone()), strict=True))
            else:  # the state index alone
                counts = dict.fromkeys(states, 0)
                counts |= dict(db.execute("SELECT state, count(*) FROM cases GROUP BY state"))
            total = counts.get(filters.state, 0) if filters.state else sum(counts.values())
            if filters.state:
                where, values = f"state = ? AND {where}", [filters.state, *values]
            pages = max(1, -(-total // size))
            page = min(max(1, page), pages)
            rows = db.execute(
                "SELECT case_id, severity, risk_score, categories, subject, parties, route, "
                f"last_event, state FROM cases WHERE {where} "
                "ORDER BY risk_score DESC, severity_rank DESC, case_id LIMIT ? OFFSET ?",
                [*values, size, (page - 1) * size],
            ).fetchall()
        return Queue([QueueRow(*_row(row)) for row in rows], page, pages, total, counts)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query in it sees the store as one commit left it."""
        with self.connect() as db:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")

    def case(self, case_id: str) -> tuple[Case, str] | None:
        """A case's latest version and its state."""
        with self.connect() as db:
            return self._case(db, case_id)

    def decisions(self, case_id: str) -> list[DecisionView]:
        with self.snapshot() as db:
            return self._decision_views(db, case_id)

    def case_page(self, case_id: str) -> tuple[Case, str, list[DecisionView]] | None:
        """A case, its state and its decisions, as of one commit of the reader (read apart, a
        page could show a ruling next to the state from before it)."""
        with self.snapshot() as db:
            found = self._case(db, case_id)
            return (*found, self._decision_views(db, case_id)) if found else None

    @staticmethod
    def _case(db: sqlite3.Connection, case_id: str) -> tuple[Case, str] | None:
        row = db.execute(
            "SELECT b.body, c.state FROM cases c JOIN case_bodies b USING (case_id) "
            "WHERE c.case_id = ?",
            (case_id,),
        ).fetchone()
        return (Case.model_validate_json(row[0]), row[1]) if row else None

    def _decision_views(self, db: sqlite3.Connection, case_id: str) -> list[DecisionView]:
        decisions = self._decisions(db, case_id)
        rulings = {
            feedback_id: (status, reason, by)
            for feedback_id, status, reason, by in db.execute(
                "SELECT feedback_id, status, reason, ruled_by FROM rulings WHERE case_id = ?",
                (case_id,),
            )
        }
        silenced = dict(
            db.execute(
                "SELECT feedback_id, sum(findings) FROM suppressed WHERE feedback_id IN "
                f"({','.join('?' * len(decisions))}) GROUP BY feedback_id",
                [d.feedback_id for d in decisions],
            ).fetchall()
        )
        views = []
        for decision in decisions:
            status, reason, by = rulings.get(decision.feedback_id, (None, "", ""))
            views.append(
                DecisionView(decision, status, reason, by, silenced.get(decision.feedback_id, 0))
            )
        return views

    def decision(self, feedback_id: str) -> Feedback | None:
        with self.connect() as db:
            row = db.execute(
                "SELECT body FROM decisions WHERE feedback_id = ?", (feedback_id,)
            ).fetchone()
        return Feedback.model_validate_json(row[0]) if row else None

    def precision(self, since: datetime, until: datetime) -> list[RulePrecision]:
        """Confirmed and benign decisions by rule of their case (each kind of decision counted
        once a case, as the worker's decision counts are), and findings suppressed by rule,
        over [since, until)."""
        low, high = since.isoformat(), until.isoformat()
        first_day, last_day = since.date().isoformat(), (until - EPSILON).date().isoformat()
        confirmed: dict[str, int] = {}
        benign: dict[str, int] = {}
        with self.connect() as db:
            rows = db.execute(
                "SELECT DISTINCT d.case_id, d.decision, c.rules FROM decisions d "
                "JOIN cases c ON c.case_id = d.case_id "
                "WHERE d.decided_at >= ? AND d.decided_at < ? AND d.decision IN (?, ?)",
                (low, high, Decision.CONFIRMED.value, Decision.BENIGN.value),
            ).fetchall()
            suppressed = dict(
                db.execute(
                    "SELECT rule_id, sum(findings) FROM suppressed "
                    "WHERE day BETWEEN ? AND ? GROUP BY rule_id",
                    (first_day, last_day),
                ).fetchall()
            )
        for _, decision, rules in rows:
            counts = confirmed if decision == Decision.CONFIRMED.value else benign
            for rule in rules.split():
                counts[rule] = counts.get(rule, 0) + 1
        rules = sorted({*confirmed, *benign, *suppressed})
        tallies = (confirmed, benign, suppressed)
        return [RulePrecision(rule, *(t.get(rule, 0) for t in tallies)) for rule in rules]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows but the offsets and meta, in order: what a rebuild must equal."""
        tables = {
            "cases": "SELECT * FROM cases ORDER BY case_id",
            "bodies": "SELECT case_id, body FROM case_bodies ORDER BY case_id",
            "parties": "SELECT b.case_id, p.parties FROM party_text p "
            "JOIN case_bodies b ON b.n = p.rowid ORDER BY b.case_id",
        } | {
            table: f"SELECT * FROM {table} ORDER BY 1, 2"
            for table in ("case_declarations", "decisions", "rulings", "suppressed")
        }
        with self.connect() as db:
            return {table: db.execute(query).fetchall() for table, query in tables.items()}


def _row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A queue row's columns as QueueRow takes them (the lists split)."""
    case_id, severity, risk, categories, subject, parties, route, last_event, state = row
    names = parties.split("\n") if parties else []
    return case_id, severity, risk, categories.split(), subject, names, route, last_event, state


def severity_names() -> list[str]:
    return [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
