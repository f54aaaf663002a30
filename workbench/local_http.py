"""The workbench's own small HTTP servers (the webhook listener, the demo shop): 127.0.0.1
only, a thread per connection, idle or half-sent connections cut off, optional TLS with a
self-signed certificate made by Debian's `openssl`, and every answer a short page or text,
never a traceback. An application is a function from Request to Reply.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from workbench.exceptions import WorkbenchError

log = logging.getLogger("workbench")
MAX_BODY = 1 << 20
CLIENT_TIMEOUT = 30.0
CERTIFICATE_DAYS = 30


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def query(self) -> dict[str, str]:
        """The query's fields, the first value of each."""
        return _fields(urlsplit(self.target).query)

    def form(self) -> dict[str, str]:
        """A posted form's fields, the first value of each."""
        try:
            return _fields(self.body.decode("utf-8"))
        except UnicodeDecodeError:
            return {}


def _fields(text: str) -> dict[str, str]:
    """Form-encoded fields (at most 20; badly encoded text gives none)."""
    try:
        fields = parse_qs(text, max_num_fields=20, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in fields.items()}


@dataclass
class Reply:
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    @property
    def timeout(self) -> float:
        return CLIENT_TIMEOUT

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def __getattr__(self, name: str):
        """Every method reaches the application (which answers 405 to what it does not
        take), never http.server's HTML 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _dispatch(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        if not length.isascii() or not length.isdigit() or int(length) > MAX_BODY:
            self._send(Reply(400, "Send a Content-Length of at most 1 MiB.\n"))
            self.close_connection = True
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            reply = self.server.app(Request(self.command, self.path, headers, body))
        except Exception:  # a bug: logged here, a plain 500 there (no traceback on the wire)
            log.exception("error answering %s %s", self.command, self.path[:200])
            reply = Reply(500, "Something went wrong on this server.\n")
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class Server(ThreadingHTTPServer):
    """`app` served on 127.0.0.1:`port` (0: a free one), over TLS when `tls` names a
    (certificate, key) pair. The TLS handshake happens in the connection's own thread, so
    a client that never finishes it holds up no one."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, app: Callable[[Request], Reply], port: int, tls: tuple[Path, Path] | None = None
    ):
        self.app = app
        self.context = None
        if tls is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(*tls)
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise WorkbenchError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
        self.port = self.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def finish_request(self, request, client_address) -> None:
        if self.context is not None:
            request.settimeout(CLIENT_TIMEOUT)
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):  # plain HTTP to the TLS port, or a dropped client
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError | socket.timeout):
            log.error("connection error: %s", error)

    def start(self) -> Server:
        """Serve from a background thread (the shop's receiver, tests)."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever that runs
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, made once by `openssl` into
    `folder` (the key readable by its owner only) and made again when it has expired."""
    certificate, key = folder / "certificate.pem", folder / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise WorkbenchError(
            "--https needs openssl on PATH to make a self-signed certificate "
            "(sudo apt-get install openssl)"
        )
    if certificate.exists() and key.exists():
        still_valid = subprocess.run(
            [openssl, "x509", "-checkend", "86400", "-noout", "-in", str(certificate)],
            capture_output=True,
        )
        if still_valid.returncode == 0:
            return certificate, key
    folder.mkdir(parents=True, exist_ok=True)
    # private from the start: openssl writes into this file, and an older one is narrowed too
    os.close(os.open(key, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    key.chmod(0o600)
    made = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            str(CERTIFICATE_DAYS),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        reason = (made.stderr.strip().splitlines() or ["no message"])[-1]
        raise WorkbenchError(f"openssl could not make a self-signed certificate: {reason}")
    return certificate, key
