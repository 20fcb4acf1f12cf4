"""A small webhook receiver that prints what Alertmanager sends: the compose stack's stand-in for
a pager or chat integration, and a way to see the routing work."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO

from alerts.display import printable


def describe(path: str, notification: dict[str, object]) -> list[str]:
    """One line per alert of an Alertmanager webhook notification."""
    lines = []
    alerts = notification.get("alerts")
    for alert in alerts if isinstance(alerts, list) else []:
        labels = alert.get("labels", {})
        annotations = alert.get("annotations", {})
        lines.append(
            f"[{printable(path.strip('/'), 40)}] {alert.get('status', '?')} "
            f"{labels.get('severity', '?')} {labels.get('alertname', '?')}: "
            f"{printable(str(annotations.get('summary', '')), 300)}"
        )
    return lines


def serve(host: str, port: int, out: TextIO = sys.stdout) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            try:
                notification = json.loads(self.rfile.read(length))
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            for line in describe(self.path, notification):
                out.write(line + "\n")
            out.flush()
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per alert is enough

    with ThreadingHTTPServer((host, port), Handler) as server:
        server.serve_forever()
