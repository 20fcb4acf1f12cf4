"""The one configuration object of tradewatch, read from TRADEWATCH_* environment variables.

faust reads environment variables of its own (BROKER_URL, STORE, WEB_PORT, ...). tradewatch
passes explicit values and an empty environment to faust.App, so only these settings count.
"""

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from alerts.windows.config import WindowConfig, WindowConfigError
from schemas.codes import CountryCode
from schemas.wire import DEFAULT_MAX_MESSAGE_BYTES

_WINDOWS = WindowConfig()  # the window rules' defaults: the settings start from them


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]
CountryList = Annotated[tuple[CountryCode, ...], NoDecode, BeforeValidator(_comma_list)]
PathList = Annotated[tuple[Path, ...], NoDecode, BeforeValidator(_comma_list)]


class Settings(BaseSettings):
    """tradewatch settings. Every field reads TRADEWATCH_<FIELD NAME IN CAPITALS>.

    >>> Settings(broker_url="kafka://kafka:9092").bootstrap_servers
    ['kafka:9092']
    """

    model_config = SettingsConfigDict(env_prefix="TRADEWATCH_", frozen=True, extra="forbid")

    broker_url: str = Field(
        default="kafka://127.0.0.1:9092",
        description="Kafka bootstrap servers, as kafka://host:port[;host:port...]",
    )
    app_id: str = Field(
        default="tradewatch",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Consumer group id, and prefix of faust's internal topics.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How every client (worker, CLI tools, sink) talks to Kafka.",
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="Never logged, printed or exported: shown as **********."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="CA certificates (PEM) that sign the brokers' certificates; the system's "
        "trust store when not given.",
    )
    topic_declarations: str = "customs.declarations"
    topic_alerts: str = "customs.alerts"
    topic_dead_letter: str = "customs.declarations.dlq"
    topic_cases: str = Field(
        default="customs.cases",
        description="Cases (compacted, keyed by case_id): the latest version of each wins.",
    )
    topic_feedback: str = Field(
        default="customs.feedback",
        description="Analysts' decisions on cases, keyed by case_id: kept for good, never "
        "compacted.",
    )
    topic_reference: str = Field(
        default="customs.reference",
        description="Reference files (watchlists, lexicons, lists, FX rates) as a compacted "
        "stream: `tradewatch reference publish` writes it, every worker follows it.",
    )
    review_retention_days: int = Field(
        default=400,
        ge=367,
        le=36500,
        description="Days a case's review is kept after its last finding or decision (longer "
        "than any suppression lasts, so that one can always be taken back).",
    )
    retro_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="Days of declarations the party index keeps, to look back over when a "
        "party is newly listed (0: no index, no look back).",
    )
    retro_step: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Parties a look back takes at a time, between frames: smaller steps keep "
        "live screening's pauses shorter.",
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics server binds.")
    metrics_port: int = Field(default=6066, ge=1, le=65535)
    store: str = Field(
        default="rocksdb://",
        description="faust table store: rocksdb:// (state on disk under data_dir, RAM bounded by "
        "rocksdb_memory_mb) or memory:// (state in RAM, restored from the changelog at every "
        "start)",
    )
    rocksdb_memory_mb: int = Field(
        default=128,
        ge=16,
        le=65_536,
        description="RAM the rocksdb:// store may use for caches and write buffers, split over "
        "the table's partitions (RocksDB's own defaults are over 2 GB per partition).",
    )
    data_dir: Path = Field(default=Path(".tradewatch"), description="faust's local state folder.")
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1024,
        description="Declarations larger than this go to the dead-letter topic unread.",
    )
    reference_dir: Path | None = Field(
        default=None, description="Folder of reference data files; the shipped set when unset."
    )
    analyst: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who the CLI acts as on the control topics (decisions, reference changes); "
        "the login name when unset. The worker does not trust it: see the README on ACLs.",
    )
    role: Literal["analyst", "supervisor"] = Field(
        default="analyst",
        description="The role the CLI claims on decisions; a supervisor's decision may silence "
        "critical listed-party and controlled-goods findings and last longer than 30 days.",
    )
    desk_host: str = Field(
        default="127.0.0.1",
        description="Address the case desk (`tradewatch desk`) binds; behind a reverse proxy "
        "keep it on loopback.",
    )
    desk_port: int = Field(default=8470, ge=1, le=65535, description="The case desk's port.")
    desk_database: Path = Field(
        default=Path(".tradewatch-desk/desk.sqlite3"),
        description="The case desk's store (SQLite), kept up to date from the topics; deleted, "
        "it is rebuilt from them.",
    )
    desk_users: Path | None = Field(
        default=None,
        description="The case desk's users file (TOML: role and salted scrypt password hash "
        "per user; `tradewatch desk-user` writes it). Needed unless desk_auth_header is set.",
    )
    desk_auth_header: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="For single sign-on: the header a trusted reverse proxy sets to the signed-in "
        "user (e.g. X-Forwarded-User); roles still come from desk_users, others are viewers.",
    )
    desk_secure_cookies: bool = Field(
        default=True,
        description="Send the desk's session cookie over HTTPS only (browsers treat "
        "http://localhost as secure, so the local desk works either way).",
    )
    desk_session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="How long a desk sign-in lasts."
    )
    broad_suppression_findings: int = Field(
        default=50,
        ge=1,
        description="A suppression that silences more findings than this in its first day is "
        "counted in tradewatch_broad_suppressions (the dashboard flags it).",
    )
    reference_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        le=512 * 1024 * 1024,
        description="The largest reference file a version on the reference topic may hold, "
        "decompressed; a larger one is refused before it is inflated.",
    )
    reference_chunk_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A reference version whose chunks have not all arrived this long after its "
        "manifest is reported (logged and counted; it is taken if they still come).",
    )
    restricted_destinations: CountryList = Field(
        default=(),
        description="Comma-separated ISO codes; empty means the shipped list (RU, BY).",
    )
    watchlists: PathList = Field(
        default=(),
        description="Comma-separated extra watchlist files: tradewatch .jsonl or OpenSanctions "
        "targets.simple.csv.",
    )
    fx_rates_file: Path | None = Field(
        default=None,
        description="A rate table (kind fx_rates, US dollars per unit) to use instead of the "
        "shipped indicative rates.",
    )
    connect_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a command tries to reach Kafka before it says why it cannot (the "
        "worker keeps trying, with a status line each time).",
    )
    session_timeout_seconds: float = Field(
        default=15.0,
        ge=6,
        le=300,
        description="How long a silent worker keeps its partitions before Kafka reassigns them.",
    )
    batch_max: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Most declarations screened as one batch (one observation message per "
        "aggregation key per batch).",
    )
    batch_seconds: float = Field(
        default=0.02,
        gt=0,
        le=5,
        description="Longest a batch waits to fill: the latency added when input is slow.",
    )
    checkpoint_seconds: float = Field(
        default=1.0,
        ge=0.05,
        le=60,
        description="How often the window stage writes its changed state to the changelog "
        "and lets its offsets be committed: work repeated after a crash, at most.",
    )
    stop_seconds: float = Field(
        default=10.0,
        ge=1,
        le=300,
        description="Longest a worker takes to stop after SIGTERM or Ctrl-C; past it (Kafka "
        "gone, a flush that cannot end) it exits without waiting, and a second signal exits "
        "at once.",
    )
    stall_seconds: float = Field(
        default=60.0,
        ge=10,
        le=3600,
        description="A partition with lag and no progress for this long makes the worker exit "
        "non-zero (rebalances and table recovery excluded), so that it is restarted.",
    )
    window_grace_seconds: int = Field(
        default=_WINDOWS.grace_ms // 1000,
        ge=0,
        le=86400,
        description="How late (event time) a declaration may arrive and still count in its "
        "windows.",
    )
    window_tumbling_days: int = Field(default=_WINDOWS.tumbling_days, ge=1, le=31)
    window_hopping_days: int = Field(default=_WINDOWS.hopping_days, ge=1, le=90)
    window_hopping_step_days: int = Field(default=_WINDOWS.hopping_step_days, ge=1, le=90)
    window_baseline_windows: int = Field(default=_WINDOWS.baseline_windows, ge=3, le=365)
    window_min_history_windows: int = Field(default=_WINDOWS.min_history_windows, ge=1, le=365)
    split_window_days: int = Field(default=_WINDOWS.split_window_days, ge=1, le=31)
    split_value_threshold_usd: float = Field(default=_WINDOWS.split_value_threshold_usd, gt=0)
    max_future_seconds: int = Field(
        default=86400,
        ge=0,
        description="Declarations dated more than this after their Kafka timestamp are rejected.",
    )
    heartbeat_file: Path | None = Field(
        default=None,
        description="A file the demo feed and the Alertmanager sink touch every few seconds "
        "while their loop turns (for `tradewatch heartbeat`, a container health check).",
    )
    alertmanager_url: str = Field(
        default="http://127.0.0.1:9093",
        pattern=r"^https?://",
        description="Alertmanager the sink forwards findings to.",
    )
    alertmanager_min_severity: Literal["critical", "high", "medium", "low"] = Field(
        default="high", description="Least severe finding the sink forwards."
    )
    party_match_threshold: float = Field(
        default=85,
        ge=50,
        le=100,
        description="Least party-name score (0-100) that alerts: 85 finds close variants and "
        "names inside longer ones; 90 and up only near-exact names.",
    )

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if not value.startswith(("memory://", "rocksdb://")):
            raise ValueError("must be memory:// or rocksdb://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _kafka_url(cls, value: str) -> str:
        if not value.startswith("kafka://") or not value.removeprefix("kafka://").strip(";, "):
            raise ValueError("must look like kafka://host:port[;host:port...]")
        return value

    @field_validator(
        "kafka_sasl_username", "kafka_sasl_password", "kafka_ssl_cafile", mode="before"
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _windows(self) -> "Settings":
        # The window rules' own rules across fields, said in the names of the variables.
        try:
            self.window_config()
        except WindowConfigError as exc:
            reason = exc.reason
            for window_field, setting in _WINDOW_SETTINGS.items():
                reason = reason.replace(window_field, f"TRADEWATCH_{setting.upper()}")
            variable = _WINDOW_SETTINGS[exc.field]
            raise ValueError(
                f"TRADEWATCH_{variable.upper()}={getattr(self, variable)}: {reason}"
            ) from None
        return self

    def window_config(self) -> WindowConfig:
        """The window rules' configuration these settings give."""
        return WindowConfig(
            tumbling_days=self.window_tumbling_days,
            hopping_days=self.window_hopping_days,
            hopping_step_days=self.window_hopping_step_days,
            grace_ms=self.window_grace_seconds * 1000,
            baseline_windows=self.window_baseline_windows,
            min_history_windows=self.window_min_history_windows,
            split_window_days=self.split_window_days,
            split_value_threshold_usd=self.split_value_threshold_usd,
        )

    @model_validator(mode="after")
    def _kafka_security(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs "
                "TRADEWATCH_KAFKA_SASL_USERNAME and TRADEWATCH_KAFKA_SASL_PASSWORD"
            )
        if self.kafka_ssl_cafile is not None and not self.kafka_ssl_cafile.is_file():
            raise ValueError(f"kafka_ssl_cafile {self.kafka_ssl_cafile} is not a file")
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker addresses as kafka-python and aiokafka take them."""
        hosts = self.broker_url.removeprefix("kafka://").replace(",", ";").split(";")
        return [host.strip() for host in hosts if host.strip()]

    @property
    def observations_topic(self) -> str:
        """The window stage's input: observation frames, by partition of aggregation key."""
        return f"{self.app_id}-observations"

    @property
    def changelog_topic(self) -> str:
        """The changelog of the window state table (faust's name for it)."""
        return f"{self.app_id}-window-state-changelog"

    @property
    def decisions_topic(self) -> str:
        """The case reviews' rulings on suppressions, read whole by every worker."""
        return f"{self.app_id}-decisions"

    @property
    def review_changelog_topic(self) -> str:
        """The changelog of the case review table (faust's name for it)."""
        return f"{self.app_id}-case-reviews-changelog"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.metrics_host}:{self.metrics_port}/metrics"


_WINDOW_SETTINGS = {
    "grace_ms": "window_grace_seconds",
    "hopping_step_days": "window_hopping_step_days",
    "hopping_days": "window_hopping_days",
    "min_history_windows": "window_min_history_windows",
    "baseline_windows": "window_baseline_windows",
}
_PLAIN = {
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "has characters a name cannot have",
}
# Variables of the scripts and tests, not settings of tradewatch itself.
_NOT_SETTINGS = (
    "TRADEWATCH_TEST_",
    "TRADEWATCH_RELIABILITY_",
    "TRADEWATCH_FRESH_STARTS",
    "TRADEWATCH_KILL_DECLARATIONS",
    "TRADEWATCH_KAFKA_PORT",
    "TRADEWATCH_KAFKA_HOME",
    "TRADEWATCH_KAFKA_CACHE",
    "TRADEWATCH_KAFKA_HEAP",
    "TRADEWATCH_KAFKA_SASL_SSL_PORT",
    "TRADEWATCH_KAFKA_SCRAM_USERS",
    "TRADEWATCH_KAFKA_SSL_KEYSTORE",
    "TRADEWATCH_KAFKA_SSL_PASSWORD",
)


def describe_error(error: ValidationError) -> str:
    """One plain line for the first problem: the variable, its value, what is allowed."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    message = str(first["msg"]).removeprefix("Value error, ")
    kind = str(first.get("type", ""))
    if kind in _PLAIN:
        message = _PLAIN[kind].format(**{k: v for k, v in (first.get("ctx") or {}).items()})
    if not location:  # a rule across settings: its message names them
        return f"settings: {message}"
    variable = f"TRADEWATCH_{location[0].upper()}"
    if len(location) > 1:  # an item of a list: say which
        return f"{variable}: item {int(location[1]) + 1} ({first.get('input')!r}): {message}"
    value = first.get("input")
    shown = "" if value is None or isinstance(value, dict) else f"={value}"
    if "password" in location[0]:
        shown = ""
    return f"{variable}{shown}: {message}"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each TRADEWATCH_* variable that is no setting, with the closest one."""
    known = {f"TRADEWATCH_{name.upper()}" for name in Settings.model_fields}
    warnings = []
    for name in sorted(environ):
        if not name.startswith("TRADEWATCH_") or name in known or name.startswith(_NOT_SETTINGS):
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{name} is not a tradewatch setting and is ignored{hint}")
    return warnings
