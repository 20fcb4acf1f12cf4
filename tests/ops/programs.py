"""Running the real Prometheus and Alertmanager (Debian's packages) on the repo's own config files,
with only addresses and intervals changed, and a webhook receiver that records what arrives."""

import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.integration.kafka_helpers import free_port

OPS = Path(__file__).resolve().parents[2] / "ops"


class WebhookRecorder:
    """Records every alert Alertmanager posts, by path (receiver)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with recorder._lock:
                    recorder.received.extend((self.path, a) for a in body["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookRecorder":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def alerts(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [a for p, a in self.received if path is None or p == path]


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} not ready:\n{log.read_text(errors='replace')[-3000:]}")


class Program:
    """A subprocess with a readiness URL, stopped on exit."""

    def __init__(self, argv: list[str], url: str, ready_path: str, log: Path) -> None:
        self.argv, self.url, self.log = argv, url, log
        self.ready_url = url + ready_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        wait_ready(self.ready_url, self.process, self.log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> "Program":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _binary(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: scripts/run-tests installs it from Debian"
    return path


def alertmanager(tmp: Path, webhook: WebhookRecorder) -> Program:
    """ops/alertmanager/alertmanager.yml with the receivers pointed at the recorder."""
    config = (OPS / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    config = config.replace("http://webhook-echo:8080", f"http://127.0.0.1:{webhook.port}")
    routing = yaml.safe_load(config)
    routing["route"].update(group_wait="1s", group_interval="1s")  # timing only, for the test
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(routing), encoding="utf-8")
    port = free_port()
    program = Program(
        [
            _binary("prometheus-alertmanager"),
            f"--config.file={tmp / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        f"http://127.0.0.1:{port}",
        "/-/ready",
        tmp / "alertmanager.log",
    )
    return program


def prometheus(tmp: Path, worker_target: str, alertmanager_target: str) -> Program:
    """ops/prometheus/prometheus.yml and its rules, with the targets and intervals changed."""
    config = (OPS / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    config = config.replace("worker:6066", worker_target)
    config = config.replace("alertmanager:9093", alertmanager_target)
    config = config.replace("/etc/prometheus/rules/*.yml", str(OPS / "prometheus/rules/*.yml"))
    config = config.replace("scrape_interval: 15s", "scrape_interval: 1s")
    config = config.replace("evaluation_interval: 15s", "evaluation_interval: 1s")
    (tmp / "prometheus.yml").write_text(config, encoding="utf-8")
    port = free_port()
    program = Program(
        [
            _binary("prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        f"http://127.0.0.1:{port}",
        "/-/ready",
        tmp / "prometheus.log",
    )
    return program


def query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return list(body["data"]["result"])
