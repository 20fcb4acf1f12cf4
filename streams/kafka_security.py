"""One place that turns the TRADEWATCH_KAFKA_* security settings into each client's options:
faust (aiokafka underneath) for the worker, kafka-python for the CLI tools and the sink.

The password leaves its SecretStr only here, into the client's own configuration; it is never
formatted into a message.
"""

import logging
import ssl
from typing import TYPE_CHECKING, Any

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


def unreachable(settings: Settings, exc: Exception) -> str:
    """One line on why the Kafka clients could not connect."""
    where = f"cannot reach Kafka at {','.join(settings.bootstrap_servers)} ({describe(settings)})"
    reason = _failures.reason
    return f"{where}: {reason or exc}"
