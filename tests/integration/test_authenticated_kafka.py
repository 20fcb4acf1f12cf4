"""Authenticated Kafka: SCRAM-SHA-512 over TLS for the worker (faust), the kafka-python tools and
the Alertmanager sink, against a broker of this module's own with a SASL_SSL listener, a test
certificate authority and a SCRAM user. Wrong credentials fail in one clear line; the password
shows up nowhere.
"""

import json
import os
import secrets
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from schemas.alert import Severity
from streams.alertmanager_sink import AlertmanagerSink
from streams.settings import Settings
from tests.conftest import declaration_dict
from tests.integration.kafka_helpers import WorkerProcess, free_port, metric, scrape, worker_env
from tests.integration.test_cli_broker import run_cli

ROOT = Path(__file__).resolve().parents[2]
USER = "tradewatch-worker"
DESK = "tradewatch-desk"


def make_test_ca(folder: Path, keystore_password: str) -> None:
    """A CA, and a broker certificate for 127.0.0.1 signed by it, in a PKCS12 keystore."""
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    steps = [
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tradewatch-test-CA"
        " -keyout ca.key -out ca.pem",
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout broker.key -out broker.csr",
        "x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out broker.pem",
        "pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -out broker.p12"
        " -passout env:KEYSTORE_PASSWORD",
    ]
    for step in steps:
        subprocess.run(
            ["openssl", *step.split()],
            cwd=folder,
            env={**os.environ, "KEYSTORE_PASSWORD": keystore_password},
            check=True,
            capture_output=True,
            timeout=60,
        )


class SecureBroker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.sasl_port = free_port()
        self.cafile = folder / "ca.pem"
        self.env = {
            **os.environ,
            "TRADEWATCH_KAFKA_PORT": str(self.port),
            "TRADEWATCH_KAFKA_HOME": str(folder / "kafka"),
            "TRADEWATCH_KAFKA_SASL_SSL_PORT": str(self.sasl_port),
            "TRADEWATCH_KAFKA_SSL_KEYSTORE": str(folder / "broker.p12"),
            "TRADEWATCH_KAFKA_SSL_PASSWORD": secrets.token_urlsafe(12),
            "TRADEWATCH_KAFKA_SCRAM_USERS": f"{USER}={self.password},{DESK}={self.password}",
            "TRADEWATCH_KAFKA_ACLS": "1",
        }

    def kafka_local(self, command: str) -> None:
        result = subprocess.run(
            [str(ROOT / "scripts" / "kafka-local"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def client_env(
        self, password: str | None = None, user: str = USER, **extra: str
    ) -> dict[str, str]:
        """The TRADEWATCH_* security settings for a client of the SASL_SSL listener."""
        return {
            "TRADEWATCH_BROKER_URL": f"kafka://127.0.0.1:{self.sasl_port}",
            "TRADEWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "TRADEWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "TRADEWATCH_KAFKA_SASL_USERNAME": user,
            "TRADEWATCH_KAFKA_SASL_PASSWORD": password or self.password,
            "TRADEWATCH_KAFKA_SSL_CAFILE": str(self.cafile),
            **extra,
        }


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    folder = tmp_path_factory.mktemp("secure-kafka")
    broker = SecureBroker(folder)
    make_test_ca(folder, broker.env["TRADEWATCH_KAFKA_SSL_PASSWORD"])
    broker.kafka_local("start")
    try:
        yield broker
    finally:
        broker.kafka_local("stop")


class _Alertmanager(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.extend(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.broker
def test_every_client_works_over_scram_and_tls_and_never_shows_the_password(
    secure_broker: SecureBroker, unique_name: str, tmp_path: Path
) -> None:
    env = {
        **worker_env("kafka://unused:1", unique_name, tmp_path / "state"),
        **secure_broker.client_env(),
    }
    feed = tmp_path / "feed.jsonl"
    rifles = declaration_dict(
        declaration_id="S-1", hs_code="9303.20", goods_description="CQ-A rifles, hunting"
    )
    feed.write_bytes(orjson.dumps(rifles) + b"\n")

    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        produced = run_cli(env, "produce", "--quiet", str(feed))
        assert produced.returncode == 0, produced.stderr
        deadline = time.monotonic() + 60
        while metric(scrape(worker.metrics_url), "tradewatch_declarations_total", outcome="ok") < 1:
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.3)
        with urllib.request.urlopen(worker.metrics_url, timeout=5) as page:
            metrics_text = page.read().decode()
        followed = run_cli(env, "alerts", "--from-beginning", "--timeout", "5", "--json")

        # The Alertmanager sink reads the case topic with the same credentials.
        _Alertmanager.received = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Alertmanager)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop = threading.Event()
        sink = AlertmanagerSink(
            Settings(**{k.removeprefix("TRADEWATCH_").lower(): v for k, v in env.items()}),
            f"http://127.0.0.1:{server.server_port}",
            Severity.HIGH,
        )
        runner = threading.Thread(target=sink.run, args=(stop,), daemon=True)
        runner.start()
        deadline = time.monotonic() + 60
        while not _Alertmanager.received and time.monotonic() < deadline:
            time.sleep(0.3)
        stop.set()
        runner.join(timeout=15)
        server.shutdown()

    assert followed.returncode == 0, followed.stderr
    rules = {json.loads(line)["rule_id"] for line in followed.stdout.splitlines() if line}
    assert "category_mismatch.military_firearm" in rules
    [case] = {a["labels"]["case_id"]: a for a in _Alertmanager.received}.values()
    assert "category_mismatch.military_firearm" in case["annotations"]["rules"]
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert f"SASL_SSL SCRAM-SHA-512 as {USER}" in log  # the banner says how, never with what
    for text in (log, metrics_text, produced.stdout + produced.stderr, followed.stderr):
        assert secure_broker.password not in text


@pytest.mark.broker
def test_wrong_password_or_untrusted_broker_fails_in_one_clear_line(
    secure_broker: SecureBroker, unique_name: str, tmp_path: Path
) -> None:
    wrong = secrets.token_urlsafe(18)
    env = {
        **worker_env("kafka://unused:1", unique_name, tmp_path / "state"),
        **secure_broker.client_env(password=wrong),
    }
    worker = run_cli(env, "worker", timeout=120)
    assert worker.returncode != 0
    [line] = [x for x in worker.stderr.splitlines() if x.startswith("tradewatch: error:")]
    assert "authentication failed" in line
    assert f"127.0.0.1:{secure_broker.sasl_port}" in line
    for text in (worker.stdout, worker.stderr):
        assert wrong not in text and secure_broker.password not in text

    # Right password, but no CA to trust the broker's certificate with: TLS says why.
    untrusted = {**env, **secure_broker.client_env(TRADEWATCH_KAFKA_SSL_CAFILE="")}
    produced = run_cli(untrusted, "topics", timeout=120)
    assert produced.returncode != 0
    connecting, error = produced.stderr.strip().splitlines()  # where to, then why not
    assert connecting.startswith("tradewatch: connecting to Kafka at 127.0.0.1:"), connecting
    assert "certificate" in error
    assert secure_broker.password not in produced.stderr


def restrict_control_topics(broker: SecureBroker, env: dict[str, str]) -> None:
    """The README's ACLs: only the desk writes decisions, only the desk publishes reference
    data; the worker reads both (the plaintext listener, a super user, sets them)."""
    from kafka import KafkaAdminClient
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    def allow(user: str, operation: ACLOperation, topic: str) -> ACL:
        pattern = ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL)
        return ACL(f"User:{user}", "*", operation, ACLPermissionType.ALLOW, pattern)

    acls = [
        allow(user, operation, env[topic])
        for topic in ("TRADEWATCH_TOPIC_FEEDBACK", "TRADEWATCH_TOPIC_REFERENCE")
        for user, operation in ((DESK, ACLOperation.WRITE), (USER, ACLOperation.READ))
    ]
    admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{broker.port}")
    try:
        result = admin.create_acls(acls)
        assert not result["failed"], result["failed"]
    finally:
        admin.close()


@pytest.mark.broker
def test_only_the_desk_may_write_the_control_topics(
    secure_broker: SecureBroker, unique_name: str, tmp_path: Path
) -> None:
    env = {
        **worker_env("kafka://unused:1", unique_name, tmp_path / "state"),
        **secure_broker.client_env(),
    }
    desk = {**env, **secure_broker.client_env(user=DESK)}
    assert run_cli(env, "topics").returncode == 0
    restrict_control_topics(secure_broker, env)
    listing = tmp_path / "watchlist_default.jsonl"
    listing.write_bytes(
        (ROOT / "alerts" / "reference" / "watchlist_default.jsonl")
        .read_bytes()
        .replace(b'"version": "2026.11.1"', b'"version": "2026.12.9"')
    )
    case = "f" * 32
    for who, expected in ((env, 1), (desk, 0)):
        published = run_cli(who, "reference", "publish", str(listing))
        assert published.returncode == expected, published.stderr
        decided = run_cli(who, "feedback", case, "--escalate", "--reason", "x", "--force")
        assert decided.returncode == expected, decided.stderr
        if expected:
            for result in (published, decided):
                [line] = [x for x in result.stderr.splitlines() if "error" in x]
                assert "authoriz" in line.lower(), line
    # The worker still reads both.
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 60
        labels = {"file": "watchlist_default@2026.12.9", "file_name": "watchlist_default",
                  "file_version": "2026.12.9"}  # fmt: skip
        while metric(scrape(worker.metrics_url), "tradewatch_reference_data_info", **labels) < 1:
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.3)
        assert worker.stop() == 0, worker.log_tail()
