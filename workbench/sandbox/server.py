"""The HTTP layer: authentication, parameters, idempotency, faults, request ids, errors.

`Api.handle` turns a Request into a Response without touching sockets, so the same path
serves the threaded HTTP server and nothing else needs to know about HTTP. Behaviour lives
in the models; routes in `urls`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from workbench.sandbox import clock, pages, urls, webhooks
from workbench.sandbox.backend import API_VERSION, Backend, new_id
from workbench.sandbox.exceptions import (
    ApiError,
    AuthenticationFailed,
    IdempotencyError,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    SandboxError,
)
from workbench.sandbox.faults import Faults, Injector
from workbench.sandbox.lists import expand
from workbench.sandbox.models import account as account_model
from workbench.sandbox.params import EXPAND, decode, parse_fields
from workbench.sandbox.state import AccountState, compact, dumps

log = logging.getLogger("workbench.sandbox")
MAX_BODY = 1 << 20
IDEMPOTENCY_WINDOW = 24 * 3600
# Account names become file names: matched whole (a `$` would let a trailing newline in).
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
SECRET_KEY = re.compile(r"sk_test_[0-9A-Za-z_]{1,200}")
VERSION_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z_]+)?")
HOST = re.compile(r"([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?")
MAX_ACCOUNTS = 1000  # each is a file and a connection per thread; the tests make a few hundred
CLIENT_TIMEOUT = 30.0  # seconds a connection may sit idle or half-sent before it is closed


def redacted(key: str) -> str:
    """A key as Stripe shows it in errors: the prefix, stars, the last four."""
    return key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else key[:3]


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    request_id: str = ""
    origin: str | None = None  # where the client reached the server (http://host:port)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query


@dataclass
class Response:
    status: int
    body: str | bytes  # a list's page comes as bytes, spliced from stored rows
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class Api:
    """The sandbox as a function from Request to Response, for every account it holds."""

    def __init__(
        self,
        data_dir: Path,
        api_key: str,
        faults: Faults | None = None,
        *,
        max_accounts: int = MAX_ACCOUNTS,
    ):
        if not SECRET_KEY.fullmatch(api_key):
            raise ValueError("the sandbox key must be a test secret key (sk_test_...)")
        self.data_dir = Path(data_dir)
        self.api_key = api_key
        self.max_accounts = max_accounts
        self.injector = Injector(faults)
        self._stores: dict[str, AccountState] = {}
        self._lock = threading.Lock()
        self.deliveries = webhooks.Deliverer(self)
        self.site: str | None = None  # where the HTTP server listens (set by HttpServer)

    def store(self, account: str) -> AccountState:
        """The account's state, opened (and made, the first time) on first use."""
        if not ACCOUNT_NAME.fullmatch(account):
            raise ValueError(f"{account!r} is not a sandbox account name")
        with self._lock:
            if account not in self._stores:
                if len(self._stores) >= self.max_accounts:
                    raise AuthenticationFailed(
                        f"Invalid API Key provided: this sandbox serves at most "
                        f"{self.max_accounts} accounts, and '{account}' would be one more."
                    )
                store = AccountState(self.data_dir / "sandbox" / f"{account}.sqlite3")
                with store.transaction():
                    if store.setting("account") is None:
                        account_model.initialize(Backend(store), account)
                self._stores[account] = store
            return self._stores[account]

    def existing_store(self, account: str) -> AccountState | None:
        """The account's state if the account exists: the pages, which take no key, never
        make one."""
        path = self.data_dir / "sandbox" / f"{account}.sqlite3"
        if not ACCOUNT_NAME.fullmatch(account) or not path.is_file():
            return None
        return self.store(account)

    def pages_url(self, account: str) -> str | None:
        """Where this server shows an account's pages (sandbox/pages.py)."""
        return f"{self.site}{pages.PREFIX}{account}" if self.site else None

    def stores(self) -> list[AccountState]:
        with self._lock:
            return list(self._stores.values())

    def close(self) -> None:
        self.deliveries.stop()
        for store in self.stores():
            store.close()

    def account_for(self, key: str | None) -> tuple[str, bool]:
        """The account a key opens and whether the key is restricted, or Stripe's 401.
        `rk_test_...` twins of the sandbox keys are restricted keys: read-only, and blind to
        the resources the account's settings deny them (/_sandbox/account restricted_deny)."""
        if not key:
            raise AuthenticationFailed(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/."
            )
        restricted = key.startswith("rk_") and not key.startswith("rk_live_")
        secret = "sk_" + key[3:] if restricted else key
        if secret == self.api_key:
            return "default", restricted
        base = self.api_key + "_"
        suffix = secret[len(base) :] if secret.startswith(base) else ""
        if ACCOUNT_NAME.fullmatch(suffix):
            return suffix, restricted
        hint = " The sandbox never accepts live keys." if "_live_" in key[:8] else ""
        raise AuthenticationFailed(f"Invalid API Key provided: {redacted(key)}{hint}")

    @staticmethod
    def bearer(headers: dict[str, str]) -> str | None:
        value = headers.get("authorization", "")
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "bearer":
            return credential.strip() or None
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
            except ValueError:
                return None
            return decoded.partition(":")[0] or None
        return None

    def handle(self, request: Request) -> Response:
        # The version that answered: Stripe renders each answer in the version asked for and
        # says which; the sandbox serves one version, whatever is asked for, and says so.
        headers = {"Request-Id": request.request_id, "Stripe-Version": API_VERSION}
        try:
            response = self._handle(request)
        except SandboxError as exc:
            response = Response(exc.status, exc.body(request.request_id), dict(exc.headers))
        except Exception:  # a bug: log it here, answer like Stripe's own 500
            log.error(
                "sandbox error on %s %s\n%s", request.method, request.path, traceback.format_exc()
            )
            error = ApiError(headers={"Stripe-Should-Retry": "false"})
            response = Response(500, error.body(request.request_id), error.headers)
        response.headers = {**headers, **response.headers}
        return response

    def _handle(self, request: Request) -> Response:
        if request.path.startswith(pages.PREFIX):
            return Response(*pages.handle(self, request))
        is_api = request.path.startswith("/v1/")
        if is_api:
            self.injector.delay()
            if not self.injector.allow():
                raise RateLimited()
            if self.injector.chance(self.injector.faults.error_rate):
                raise ApiError(
                    "The sandbox injected this error (error_rate fault).",
                    headers={"Stripe-Should-Retry": "true"},
                )
        key = self.bearer(request.headers)
        account, restricted = self.account_for(key)
        version = request.headers.get("stripe-version") or API_VERSION
        if not VERSION_FORMAT.fullmatch(version):
            raise InvalidRequest(
                f"Invalid Stripe API version: {version[:40]}", code="api_version_invalid"
            )
        route, path_args = urls.resolve(request.method, request.path)
        if len(request.body) > MAX_BODY:
            raise InvalidRequest("Request body too large: send at most 1 MiB of parameters.")
        raw = decode(request.query)
        if request.method == "POST":
            raw.update(decode(request.body))
        params = parse_fields({**route.params, "expand": EXPAND}, raw)
        store = self.store(account)
        self._check_stripe_account(store, key, request.headers.get("stripe-account"))
        if restricted:
            self._check_permission(store, key, request, route)
        if route.control:
            with store.transaction():
                result = route.handler(self, Backend(store), params, **path_args)
            return Response(200, dumps(result))

        clock.catch_up(store)
        key = request.headers.get("idempotency-key")
        backend = Backend(
            store,
            request_id=request.request_id,
            idempotency_key=key if request.method == "POST" else None,
            origin=request.origin,
            pages=self.pages_url(account),
        )
        if request.method == "POST" and key:
            response = self._idempotent(
                route,
                backend,
                params,
                path_args,
                key,
                fingerprint=compact({"path": request.path, "params": raw}),
            )
        else:
            with store.transaction(write=route.writes):
                status, body, extra = self._run(route, backend, params, path_args)
            response = Response(status, body, extra)
        if route.media_type and response.status == 200:
            response.headers["Content-Type"] = route.media_type
        if backend.events_written:
            self.deliveries.wake()
        if is_api and self.injector.chance(self.injector.faults.drop_rate):
            response.drop = True  # the work is done (and committed); the answer never comes
        return response

    @staticmethod
    def _check_stripe_account(store: AccountState, key: str, named: str | None) -> None:
        """Stripe's 403 for a Stripe-Account header naming an account the key cannot reach:
        any but the key's own, as the sandbox has no connected accounts."""
        if named is not None and named != store.setting("account")["id"]:
            raise PermissionDenied(
                f"The provided key '{redacted(key)}' does not have access to account "
                f"'{named[:100]}' (or that account does not exist). Application access may "
                "have been revoked.",
                code="account_invalid",
            )

    @staticmethod
    def _check_permission(store: AccountState, key: str, request: Request, route) -> None:
        """Stripe's 403 for a restricted key that lacks a permission."""
        resource = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
        write = request.method != "GET" and not route.read_permission
        denied = store.setting("restricted_deny", [])
        if write or resource in denied or request.path.startswith("/_sandbox"):
            account = store.setting("account")["id"]
            needed = f"rak_{resource.rstrip('s')}_{'write' if write else 'read'}"
            raise PermissionDenied(
                f"The provided key '{key[:8]}***{key[-4:]}' does not have the required "
                f"permissions for this endpoint on account '{account}'. Having the "
                f"'{needed}' permission would allow this request to continue."
            )

    def _run(self, route, backend: Backend, params: dict, path_args: dict):
        """The handler inside a savepoint (Backend.attempt)."""

        def answer():
            result = route.handler(backend, params, **path_args)
            if isinstance(result, str | bytes):
                return result
            return dumps(expand(backend, result, params.get("expand")))

        try:
            body = backend.attempt(answer)
        except SandboxError as exc:
            return exc.status, exc.body(backend.request_id), dict(exc.headers)
        return 200, body, {}

    def _idempotent(
        self, route, backend: Backend, params: dict, path_args: dict, key: str, fingerprint: str
    ) -> Response:
        if len(key) > 255:
            raise InvalidRequest(
                "Idempotency-Key must be at most 255 characters.", param="Idempotency-Key"
            )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()
        store = backend.store
        with store.transaction():
            conn = store.conn
            row = conn.execute(
                "SELECT fingerprint, status, body, request_id, created "
                "FROM idempotency WHERE key = ?",
                (key,),
            ).fetchone()
            if row and row[4] >= backend.now - IDEMPOTENCY_WINDOW:
                if row[0] != digest:
                    raise IdempotencyError(
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request."
                    )
                return Response(
                    row[1],
                    row[2],
                    {
                        "Idempotent-Replayed": "true",
                        "Original-Request": row[3],
                        "Idempotency-Key": key,
                    },
                )
            status, body, extra = self._run(route, backend, params, path_args)
            conn.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(key, fingerprint, status, body, request_id, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, digest, status, body, backend.request_id, backend.now),
            )
        return Response(status, body, {**extra, "Idempotency-Key": key})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "workbench-sandbox"
    sys_version = ""
    server: HttpServer

    @property
    def timeout(self) -> float:
        """Read by StreamRequestHandler.setup: a client that stops sending is cut off, and
        its thread freed, after this many seconds."""
        return self.server.client_timeout

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def __getattr__(self, name: str):
        """Every method reaches the router, so an unsupported one (TRACE, PROPFIND, `get`)
        is Stripe's 404 in JSON, never http.server's HTML 501."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # a bare `GET /path`: no headers, no key
            self.send_error(HTTPStatus.BAD_REQUEST, "Send HTTP/1.1 (or 1.0) requests")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        """http.server's own refusals (a malformed request line, headers too long, HTTP/2)
        in Stripe's error shape, and as a 4xx: they are the client's mistake."""
        request_id = new_id("req", 14)
        error = InvalidRequest(
            f"Invalid HTTP request: {(message or HTTPStatus(code).phrase)[:200]}"
        )
        self.request_version = self.protocol_version  # so that a status line is written
        self.close_connection = True
        status = code if code < 500 else HTTPStatus.BAD_REQUEST
        self._send(
            Response(
                status, error.body(request_id), {"Request-Id": request_id, "Connection": "close"}
            )
        )

    def _dispatch(self) -> None:
        length = self.headers.get("Content-Length")
        try:
            size = int(length) if length else 0
        except ValueError:
            size = -1
        api = self.server.api
        request_id = new_id("req", 14)
        if size < 0 or size > MAX_BODY:
            error = InvalidRequest("Invalid Content-Length: send at most 1 MiB of parameters.")
            self._send(Response(400, error.body(request_id), {"Request-Id": request_id}))
            self.close_connection = True
            return
        body = self.rfile.read(size) if size else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        host = headers.get("host", "")  # the address the client used, if it is one
        origin = f"http://{host}" if HOST.fullmatch(host) else self.server.origin
        response = api.handle(Request(self.command, self.path, headers, body, request_id, origin))
        if response.drop:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = response.body if isinstance(response.body, bytes) else response.body.encode()
        if not payload.endswith(b"\n"):  # Stripe's answers end with a newline
            payload += b"\n"
        headers = dict(response.headers)
        self.send_response(response.status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, api: Api, port: int, *, client_timeout: float = CLIENT_TIMEOUT):
        self.api = api
        self.client_timeout = client_timeout
        super().__init__(("127.0.0.1", port), _Handler)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        api.site = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            log.error("sandbox connection error: %s", exc)
