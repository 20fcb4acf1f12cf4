"""The tradewatch command line.

    tradewatch worker                 run the monitor
    tradewatch produce FILE           send a JSON-lines file of declarations
    tradewatch alerts [--json]        follow the alert topic
    tradewatch topics                 create the topics
    tradewatch demo-feed              send a live demo stream
    tradewatch console                watch findings, rejects and the worker's status

A bad flag, file or setting gives one line on stderr and a non-zero exit.
"""

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from schemas.errors import TradewatchError
from streams.errors import StreamsError
from streams.settings import Settings

EXIT_USAGE = 2
EXIT_ERROR = 1


class UsageError(StreamsError):
    """Flags that parse but do not go together: exit 2, as argparse does."""


class _Formatter(argparse.HelpFormatter):
    """Help wrapped between words only: a path ("site-packages/...") is never cut in two."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


class _Defaults(_Formatter):
    """Help that shows each option's default, where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, argparse.SUPPRESS)
            or "(default" in text
            or not action.option_strings
        ):
            return text
        return f"{text} (default: {default})"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return number


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return number


EXAMPLES = Path(__file__).resolve().parents[1] / "tools" / "examples"
"""The example feed and CSV mapping, as installed with the package."""


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not YYYY-MM-DD") from None


def _output_file(text: str) -> Path:
    """A file to write: its folder must exist, so that a long run does not fail at its end."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {str(folder)!r} does not exist")
    return path


def _suppress_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= 366:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to 366")
    return days


def _referring(argv: Sequence[str]) -> list[str]:
    """`feedback revoke ID ...` as the parser takes it: `feedback ID --revoke ...`."""
    args = list(argv)
    if len(args) >= 3 and args[0] == "feedback" and args[1] in ("revoke", "approve"):
        return ["feedback", args[2], f"--{args[1]}", *args[3:]]
    return args


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tradewatch")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tradewatch",
        description="Stream-processing monitor for live customs-declaration feeds. "
        "Settings come from TRADEWATCH_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"tradewatch {_version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    commands.add_parser("worker", help="run the monitor: screen declarations, publish alerts")

    produce = commands.add_parser(
        "produce",
        help="send a JSON-lines file of declarations",
        formatter_class=_Defaults,
    )
    produce.add_argument("file", type=Path, help="one declaration (JSON object) per line")
    produce.add_argument("--rate", type=_positive, help="declarations per second (default: fast)")
    produce.add_argument(
        "--no-validate",
        action="store_true",
        help="send lines as they are, valid or not (to exercise the DLQ)",
    )
    produce.add_argument("--quiet", action="store_true", help="no progress bar")

    alerts = commands.add_parser("alerts", help="follow the alert topic and print alerts")
    alerts.add_argument("--json", action="store_true", help="print raw JSON, one alert a line")
    alerts.add_argument(
        "--from-beginning",
        action="store_true",
        help="start at the oldest alert, not the next new one",
    )
    alerts.add_argument("--max", type=_count, help="stop after this many alerts")
    alerts.add_argument(
        "--timeout", type=_positive, help="stop after this many seconds without a new alert"
    )

    commands.add_parser(
        "topics",
        help="create every topic a worker uses (declarations, alerts, dead letters, cases, "
        "feedback, reference, and the worker's own) and check their partition counts",
    )
    status = commands.add_parser(
        "status",
        help="ask a running worker (TRADEWATCH_METRICS_HOST:PORT) whether it is ready, which "
        "reference versions it uses and holds, and how many suppressions are in force",
    )
    status.add_argument("--url", help="the worker's /readyz (default: from the settings)")

    generate = commands.add_parser(
        "generate",
        help="write a synthetic feed with labelled evasion scenarios",
        formatter_class=_Defaults,
    )
    generate.add_argument("--out", type=_output_file, required=True, help="feed file (JSON lines)")
    generate.add_argument(
        "--labels", type=_output_file, help="labels file (default: beside the feed)"
    )
    generate.add_argument("--count", type=_count, default=100_000, help="background declarations")
    generate.add_argument("--seed", type=int, default=7, help="the same seed gives the same feed")
    generate.add_argument("--days", type=_count, default=90, help="days of declared time")
    generate.add_argument("--start", type=_day, default="2025-01-06", help="first day, YYYY-MM-DD")
    generate.add_argument(
        "--rate", type=_positive, default=2.0, help="scenario instances per 10,000 declarations"
    )

    backtest = commands.add_parser(
        "backtest",
        help="run the worker's rules and windows over a file, offline",
        formatter_class=_Defaults,
    )
    backtest.add_argument("path", type=Path, help="JSON lines, or CSV with --mapping")
    backtest.add_argument("--out", type=_output_file, help="alerts as JSON lines (default: stdout)")
    backtest.add_argument("--labels", type=Path, help="labels file: adds precision and recall")
    backtest.add_argument(
        "--mapping",
        type=Path,
        help=f"CSV column mapping (an example: {EXAMPLES / 'csv-mapping.json'})",
    )
    backtest.add_argument("--strict", action="store_true", help="stop at the first bad row")
    backtest.add_argument(
        "--jobs",
        type=_count,
        default=min(2, os.cpu_count() or 1),
        help="N processes screen the batches and N more run the window stage, split by the "
        "partition of each key; the same alerts and cases as 1",
    )
    backtest.add_argument("--quiet", action="store_true", help="no progress bar")
    backtest.add_argument(
        "--cases",
        type=_output_file,
        help="also fold the alerts into cases: latest versions, JSON lines",
    )
    backtest.add_argument(
        "--list-change",
        action="append",
        default=[],
        metavar="FILE@TIME",
        help="a new version of a reference file (a watchlist) taking effect at that event time "
        "(ISO 8601 with zone): screening uses it from then on, and the party index is looked "
        "back over as a live update does; may be given several times",
    )
    backtest.add_argument(
        "--feedback",
        type=Path,
        help="analysts' recorded decisions (JSON lines, as on the feedback topic): their "
        "suppressions hold as live, and with --cases their precision by rule is reported",
    )

    sink = commands.add_parser(
        "alertmanager-sink",
        help="forward cases at or above a severity from the case topic to Alertmanager, one "
        "alert per case",
    )
    sink.add_argument("--url", help="Alertmanager base URL (default TRADEWATCH_ALERTMANAGER_URL)")
    sink.add_argument(
        "--min-severity",
        choices=["critical", "high", "medium", "low"],
        help="least severe finding to forward (default TRADEWATCH_ALERTMANAGER_MIN_SEVERITY)",
    )

    echo = commands.add_parser(
        "webhook-echo", help="print what Alertmanager sends to a webhook (demo receiver)"
    )
    echo.add_argument("--host", default="127.0.0.1")
    echo.add_argument("--port", type=int, default=8080)

    heartbeat = commands.add_parser(
        "heartbeat",
        help="exit 0 if the demo feed or the Alertmanager sink beat within the last N seconds "
        "(TRADEWATCH_HEARTBEAT_FILE; a container health check)",
    )
    heartbeat.add_argument("--within", type=_positive, default=60.0, help="seconds (default 60)")

    demo = commands.add_parser(
        "demo-feed",
        help="send a live stream of demo declarations",
        formatter_class=_Defaults,
    )
    demo.add_argument("--rate", type=_positive, default=2.0, help="live ticks per second")
    demo.add_argument("--count", type=_count, help="stop after this many live ticks")
    demo.add_argument(
        "--history-days",
        type=int,
        default=40,
        choices=range(0, 366),
        metavar="DAYS",
        help="days of ordinary trade sent first, as the windows' history (0: none)",
    )

    reference = commands.add_parser(
        "reference",
        help="reference data as a stream: publish, approve and roll back file versions on every "
        "worker (as TRADEWATCH_ANALYST, or the login name)",
    )
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    publish = reference_commands.add_parser(
        "publish",
        help="validate reference files as start-up does, judge them as the workers will, then "
        "send them to the reference topic (nothing is sent if any is broken or refused; a "
        "version that takes protection away is held until another person approves it)",
    )
    publish.add_argument("files", nargs="+", type=Path, help="reference files (JSON lines)")
    publish.add_argument("--reason", default="", help="why: kept with the version")
    approve = reference_commands.add_parser(
        "approve", help="approve a version held for review (not by the person who published it)"
    )
    rollback = reference_commands.add_parser(
        "rollback",
        help="make an earlier version (on the reference topic, or shipped) the one in use again",
    )
    for sub in (approve, rollback):
        sub.add_argument("name", help="the file's name, as in its header (watchlist_default)")
        sub.add_argument("version", help="the version, as in its header (2026.12.1)")
        sub.add_argument("--reason", default="", help="why: kept with the record")
    reference_commands.add_parser(
        "status", help="the version of each file the workers use, and the versions held"
    )

    feedback = commands.add_parser(
        "feedback",
        help="record an analyst's decision on a case (and suppress what would repeat it); "
        "`feedback revoke DECISION_ID` takes one back, `feedback approve DECISION_ID` is a "
        "supervisor's approval of a suppression held for one",
        formatter_class=_Defaults,
        epilog="also: tradewatch feedback revoke DECISION_ID --reason WHY; tradewatch feedback "
        "approve DECISION_ID --reason WHY (as TRADEWATCH_ANALYST with TRADEWATCH_ROLE=supervisor)",
    )
    feedback.add_argument(
        "case_id", help="the case's id, as the case topic and console show it (or, after revoke "
        "or approve, the decision's id)"
    )  # fmt: skip
    decision = feedback.add_mutually_exclusive_group(required=True)
    for name, meaning in (
        ("confirmed", "a true finding (it also takes back the case's suppressions)"),
        ("benign", "a false alarm"),
        ("suppress", "findings like these are not to open cases for a while"),
        ("escalate", "handed on for investigation"),
    ):
        decision.add_argument(
            f"--{name}", dest="decision", action="store_const", const=name, help=meaning
        )
    for name in ("revoke", "approve"):
        decision.add_argument(
            f"--{name}", dest="decision", action="store_const", const=name, help=argparse.SUPPRESS
        )
    feedback.add_argument("--reason", required=True, help="why: kept with the decision for good")
    feedback.add_argument(
        "--suppress-days",
        type=_suppress_days,
        metavar="DAYS",
        help="also silence the case's rules in its scope (its parties, or its series) for this "
        "many days, 1 to 366 (--suppress: 90 unless given; more than 30 needs a supervisor)",
    )
    feedback.add_argument(
        "--analyst", help="who decides (default: TRADEWATCH_ANALYST, or the login name)"
    )
    feedback.add_argument(
        "--force",
        action="store_true",
        help="record the decision even if its case is not on the case topic",
    )

    commands.add_parser(
        "console",
        help="watch the feed: cases as they open and grow, rejects, a status line",
    )

    commands.add_parser(
        "desk",
        help="the case desk in the browser: the queue, the evidence, decisions under a name "
        "(on TRADEWATCH_DESK_HOST:TRADEWATCH_DESK_PORT, users from TRADEWATCH_DESK_USERS)",
    )
    desk_user = commands.add_parser(
        "desk-user",
        help="add or change a desk user in the users file (the password is read from the "
        "terminal, or from standard input when it is not one)",
        formatter_class=_Defaults,
    )
    desk_user.add_argument("name", type=_desk_user_name, help="the user's sign-in name")
    desk_user.add_argument(
        "--role",
        required=True,
        choices=("viewer", "analyst", "supervisor"),
        help="what they may do",
    )
    desk_user.add_argument(
        "--users", type=Path, help="the users file (default: TRADEWATCH_DESK_USERS)"
    )
    return parser


def _desk_user_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a user name is 1 to 64 letters, digits, '.', '_', '@' or '-'"
        )
    return text


class _ComingUp(logging.Filter):
    """A broker that has just started has no group coordinator for a moment; aiokafka logs each
    try as an error and tries again. Those lines are shown at debug level only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "CoordinatorNotAvailable" in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def _configure_logging(settings: Settings) -> None:
    from streams.kafka_security import watch_connection_failures

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.log_level != "debug":
        # The Kafka clients narrate every connection at INFO; keep their warnings and errors.
        for chatty in ("kafka", "aiokafka"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.getLogger("aiokafka.consumer.group_coordinator").addFilter(_ComingUp())
    # kafka-python retries a failing connection for a while, logging each attempt; the command
    # reports the reason once, in one line (streams/kafka_security.py).
    watch_connection_failures(quiet=settings.log_level != "debug")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "worker":
        from streams.worker import run_worker

        return run_worker(settings)
    if args.command == "produce":
        from streams.produce import produce_file

        sent = produce_file(
            settings,
            args.file,
            validate=not args.no_validate,
            rate=args.rate,
            progress=not args.quiet,
        )
        print(f"sent {sent} declarations to {settings.topic_declarations}", file=sys.stderr)
        return 0
    if args.command == "alerts":
        from tools.follow import follow

        follow(
            settings,
            raw_json=args.json,
            from_beginning=args.from_beginning,
            limit=args.max,
            timeout_s=args.timeout,
        )
        return 0
    if args.command == "status":
        return _status(args, settings)
    if args.command == "topics":
        from streams.topics import ensure_topics, topic_specs

        created = ensure_topics(settings)
        for spec in topic_specs(settings):
            state = "created" if spec.name in created else "exists"
            print(f"{spec.name}: {state} ({spec.partitions} partitions)")
        return 0
    if args.command == "generate":
        from tools.generate import run_command as generate

        return generate(args)
    if args.command == "backtest":
        from tools.backtest import run_command as backtest

        return backtest(args, settings)
    if args.command == "alertmanager-sink":
        import signal
        import threading

        from schemas.alert import Severity
        from streams.alertmanager_sink import AlertmanagerSink

        stop = threading.Event()  # stop between batches: an unposted batch stays uncommitted
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sink = AlertmanagerSink(
            settings,
            args.url or settings.alertmanager_url,
            Severity(args.min_severity or settings.alertmanager_min_severity),
        )
        sink.run(stop)
        return 0
    if args.command == "heartbeat":
        from streams.heartbeat import age_s

        if settings.heartbeat_file is None:
            raise UsageError("TRADEWATCH_HEARTBEAT_FILE is not set: nothing to check")
        age = age_s(settings.heartbeat_file)
        if age is None or age > args.within:
            said = "never beat" if age is None else f"last beat {age:.0f} s ago"
            print(f"tradewatch: not alive: {settings.heartbeat_file} {said}", file=sys.stderr)
            return EXIT_ERROR
        return 0
    if args.command == "webhook-echo":
        from tools.webhook_echo import serve

        serve(args.host, args.port)
        return 0
    if args.command == "demo-feed":
        from streams.heartbeat import Heartbeat
        from streams.merge import InOrderStamps
        from streams.produce import make_producer
        from tools.demo import run_demo_feed

        producer = make_producer(settings)
        stamps = InOrderStamps()
        try:
            run_demo_feed(
                lambda key, value: producer.send(
                    settings.topic_declarations, key=key, value=value, timestamp_ms=stamps.next()
                ),
                rate=args.rate,
                count=args.count,
                history_days=args.history_days,
                beat=Heartbeat(settings.heartbeat_file),
                on_history=lambda n: print(
                    f"tradewatch: sent {n} declarations of history ({args.history_days} days); "
                    f"live now, {args.rate:g} a second",
                    file=sys.stderr,
                    flush=True,
                ),
            )
        finally:
            producer.flush(timeout=30)
            producer.close(timeout=10)
        return 0
    if args.command == "reference":
        return _reference(args, settings)
    if args.command == "feedback":
        from schemas.feedback import Decision
        from streams.feedback import send_feedback

        if args.suppress_days is not None and args.decision not in ("benign", "suppress"):
            raise UsageError(
                f"--suppress-days goes with --benign or --suppress, not --{args.decision}"
            )
        if not args.reason.strip():
            raise UsageError("--reason must say why")
        decided = send_feedback(
            settings,
            args.case_id,
            Decision(args.decision),
            args.reason.strip(),
            args.analyst,
            args.suppress_days,
            force=args.force,
        )
        print(decided.model_dump_json())
        scope = (
            f"; suppressing {', '.join(decided.suppression.rule_ids)} until "
            f"{decided.suppression.expires_at:%Y-%m-%d}"
            if decided.suppression
            else ""
        )
        print(
            f"tradewatch: {decided.decision.value} recorded on case {decided.case_id} as "
            f"{decided.feedback_id}{scope}",
            file=sys.stderr,
        )
        return 0
    if args.command == "desk":
        from tools.desk.serve import serve_desk

        return serve_desk(settings)
    if args.command == "desk-user":
        from tools.desk.serve import add_user

        return add_user(settings, args.name, args.role, args.users)
    if args.command == "console":
        import signal
        import threading

        from tools.console import run_console

        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        run_console(settings, stop)
        return 0
    raise AssertionError(f"unhandled command {args.command}")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    import json
    import urllib.error
    import urllib.request

    url = args.url or f"http://{settings.metrics_host}:{settings.metrics_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise StreamsError(f"no worker answers at {url}: {exc}") from exc
    reading = "" if body.get("caught_up", True) else " (still reading the control topics)"
    print(f"ready: {'yes' if body.get('ready') else 'no'}{reading}")
    for name, used in body.get("reference", {}).items():
        by = f" (published by {used['published_by']})" if used.get("published_by") else ""
        print(f"reference {name}@{used['version']}{by}")
    for label, why in body.get("reference_held", {}).items():
        print(f"held      {label}: {why}")
    closed = (
        " (FAILED CLOSED: suppressing nothing)" if body.get("suppressions_failed_closed") else ""
    )
    print(f"suppressions in force: {body.get('suppressions', 0)}{closed}")
    return 0 if body.get("ready") else 1


def _reference(args: argparse.Namespace, settings: Settings) -> int:
    from alerts.reference_policy import Action
    from streams import reference_publish as control

    def said(published: "control.Published") -> None:
        verdict = published.verdict
        print(
            f"published {published.label} to {settings.topic_reference} ({published.size:,} "
            f"bytes, {published.chunks} chunk{'s' if published.chunks != 1 else ''})"
        )
        if verdict.action is Action.HOLD:
            print(
                f"tradewatch: {published.label} is held, not applied: {verdict.reason}; it takes "
                f"effect once another person runs `tradewatch reference approve "
                f"{verdict.offer.name} {verdict.offer.version}`",
                file=sys.stderr,
            )
        elif verdict.action is Action.SAME:
            print(f"tradewatch: {published.label} is already in use", file=sys.stderr)

    if args.reference_command == "publish":
        for published in control.publish(settings, args.files, reason=args.reason):
            said(published)
    elif args.reference_command == "rollback":
        said(control.rollback(settings, args.name, args.version, args.reason))
    elif args.reference_command == "approve":
        verdict = control.approve(settings, args.name, args.version, args.reason)
        print(f"approved {verdict.offer.label}: the workers apply it now")
    else:
        state = control.read_topic(settings)
        for _, loaded in sorted(state.ledger.in_use.files.items()):
            manifest = state.manifests.get(loaded.label)
            by = (
                f" published by {manifest.published_by}"
                if manifest and manifest.published_by
                else ""
            )
            print(f"in use  {loaded.label}{by}")
        for held in state.ledger.held.values():
            print(
                f"held    {held.offer.label} by {held.offer.published_by}: "
                + "; ".join(held.reasons)
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import os

    from streams.settings import describe_error, unknown_variables

    args = build_parser().parse_args(_referring(sys.argv[1:] if argv is None else argv))
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"tradewatch: error: {describe_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    for warning in unknown_variables(os.environ):
        print(f"tradewatch: warning: {warning}", file=sys.stderr)
    _configure_logging(settings)
    try:
        return _run(args, settings)
    except UsageError as exc:
        print(f"tradewatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TradewatchError as exc:
        print(f"tradewatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
