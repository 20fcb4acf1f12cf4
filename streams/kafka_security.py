"""One place that turns the TRADEWATCH_KAFKA_* security settings into each client's options:
faust (aiokafka underneath) for the worker, kafka-python for the CLI tools and the sink.

The password leaves its SecretStr only here, into the client's own configuration; it is never
formatted into a message.
"""

import logging
import ssl
import sys
from typing import TYPE_CHECKING, Any

from streams.errors import BrokerError, BrokerUnreachable
from streams.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the broker's certificate and host name against the configured CA (or the
    system's trust store)."""
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)


def _password(settings: Settings) -> str | None:
    secret = settings.kafka_sasl_password
    return secret.get_secret_value() if secret is not None else None


def faust_credentials(settings: Settings) -> "CredentialsT | None":
    import faust  # (only the worker needs it; the CLI tools start faster without)

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context(settings))
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=_password(settings),
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=ssl_context(settings) if protocol == "SASL_SSL" else None,
    )


def kafka_python_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": protocol,
        "bootstrap_timeout_ms": int(settings.connect_timeout_seconds * 1000),
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": _password(settings),
        }
    return options


def describe(settings: Settings) -> str:
    """How the clients connect, for the startup banner: never the password."""
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL_"):
        return f"{protocol} {settings.kafka_sasl_mechanism} as {settings.kafka_sasl_username}"
    return protocol


class _ConnectionFailures(logging.Handler):
    """kafka-python logs why a connection failed (bad credentials, an untrusted certificate)
    and then reports only a bootstrap timeout: this keeps the last such reason."""

    MARKERS = ("AuthenticationFailed", "CERTIFICATE_VERIFY_FAILED", "SSLError", "SaslHandshake")

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.reason: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "AuthenticationFailed" in message:
            self.reason = "authentication failed; check the user name and password"
        elif any(marker in message for marker in self.MARKERS):
            self.reason = message.rsplit(": ", 1)[-1].split(" (backoff")[0]


_failures = _ConnectionFailures()


def watch_connection_failures(quiet: bool) -> None:
    """Remember kafka-python's connection failures; with `quiet`, show none of its retry
    narration (the command reports the failure once, in one line)."""
    kafka_logger = logging.getLogger("kafka")
    if _failures not in kafka_logger.handlers:
        kafka_logger.addHandler(_failures)
    if quiet:
        kafka_logger.propagate = False


def connecting(settings: Settings) -> str:
    """What a command says as it starts to use Kafka."""
    return f"connecting to Kafka at {','.join(settings.bootstrap_servers)} ({describe(settings)})"


_announced: set[str] = set()


def announce(settings: Settings) -> None:
    """Say on stderr, once per process, where the Kafka clients are about to connect: a
    command that waits for a broker says what it is waiting for from the start."""
    line = connecting(settings)
    if line not in _announced:
        _announced.add(line)
        print(f"tradewatch: {line}", file=sys.stderr, flush=True)


def broker_error(settings: Settings, exc: Exception) -> BrokerError:
    """The error to raise when a Kafka client could not be created: BrokerUnreachable when
    nothing answered (it may come up later), BrokerError when the broker refused us."""
    message = unreachable(settings, exc)
    return BrokerError(message) if _failures.reason is not None else BrokerUnreachable(message)


def unreachable(settings: Settings, exc: Exception) -> str:
    """One line on why the Kafka clients could not connect, with what to do about it."""
    where = f"cannot reach Kafka at {','.join(settings.bootstrap_servers)} ({describe(settings)})"
    reason = _failures.reason
    if reason is not None:  # it answered, but would not let us in: the reason says why
        return f"{where}: {reason}"
    waited = f"no answer in {settings.connect_timeout_seconds:g} s"
    hint = "start the local one with `make broker-start`, or set TRADEWATCH_BROKER_URL"
    return f"{where}: {waited} ({type(exc).__name__}); {hint}"
