"""`workbench demo-shop`: a minimal merchant site, to see Checkout work end to end.

    GET  /                 the products, each with a Pay button
    POST /checkout         makes the order and, server-side, its Checkout Session (an
                           idempotency key per order); 303 to the session's payment page
    GET  /success          the order as the shop knows it: "paid" only once the webhook has
                           said so (checkout.session.completed, checked against the API):
                           the customer's redirect alone proves nothing
    GET  /cancel           the customer left Checkout; the order stays unpaid
    GET  /legacy           the legacy flow: the sandbox's form (standing in for Checkout's old
    POST /legacy/start     popup) turns the card into a token and posts it to
    POST /legacy/charge    /legacy/charge, which charges it once (Charge.create(source=tok_))

The shop never sees a card number. Its webhook receiver is the listener's code
(workbench.listen) on its own port, registered with the sandbox while the shop runs (with
Stripe: `stripe listen --forward-to` that port, the secret in STRIPE_WEBHOOK_SECRET). Each
order it is paid for is appended to the account's orders file, `metadata.order_id` on its
charge, so the reconciliation (workbench.analyses.orders) sees it like any other order.
"""

from __future__ import annotations

import csv
import fcntl
import html
import re
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import stripe

from workbench import sandbox
from workbench.exceptions import WorkbenchError
from workbench.imports import ORDER_COLUMNS
from workbench.listen import listening
from workbench.local_http import Reply, Request, Server, self_signed
from workbench.money import format_amount, to_major


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    amount: int  # minor units
    currency: str


PRODUCTS = {
    product.sku: product
    for product in (
        Product("mug", "Workbench mug", 1250, "usd"),
        Product("poster", "Reconciliation poster", 1800, "eur"),
        Product("tea", "Sencha, 100 g", 1500, "jpy"),
    )
}
SESSION_ID = re.compile(r"cs_(test|live)_[0-9A-Za-z]{1,200}")
TOKEN_ID = re.compile(r"tok_[0-9A-Za-z_]{1,200}")
ORDER_ID = re.compile(r"WEB-[0-9A-F]{8}")
STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1f36 }
.product { border: 1px solid #e3e8ee; border-radius: 8px; padding: .8rem 1rem; margin: .8rem 0;
           display: flex; justify-content: space-between; align-items: center }
button { font: inherit; font-weight: 600; color: #fff; background: #635bff; border: 0;
         border-radius: 6px; padding: .5rem 1rem; cursor: pointer }
.paid { color: #0a7a3f; font-weight: 600 } .pending { color: #a04d00 }
.error { color: #df1b41 } nav a { margin-right: 1rem }
"""


@dataclass(frozen=True)
class Order:
    order_id: str
    product: Product


class OrdersFile:
    """The merchant's orders export (order_id, created, amount in major units, currency,
    status): the shop appends each order once it is paid. A lock file keeps two writers
    (two shops, the seed) from interleaving."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self):
        with self._lock, self.path.with_name(self.path.name + ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def status(self, order_id: str) -> str | None:
        if not self.path.exists():
            return None
        with self.path.open(newline="", encoding="utf-8-sig") as stream:
            for row in csv.DictReader(stream):
                if (row.get("order_id") or "").strip() == order_id:
                    return (row.get("status") or "").strip().lower()
        return None

    def add_paid(self, order_id: str, created: int, amount: int, currency: str) -> bool:
        """Append the order as paid, unless it is there already (a webhook retried)."""
        with self._locked():
            if self.status(order_id) is not None:
                return False
            new = not self.path.exists() or self.path.stat().st_size == 0
            if not new:
                with self.path.open("rb") as stream:
                    stream.seek(-1, 2)
                    ends_in_newline = stream.read(1) in b"\r\n"
            with self.path.open("a", newline="", encoding="utf-8") as stream:
                writer = csv.writer(stream)
                if new:
                    writer.writerow(ORDER_COLUMNS)
                elif not ends_in_newline:
                    stream.write("\r\n")
                writer.writerow(
                    [
                        order_id,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                        str(to_major(amount, currency)),
                        currency.upper(),
                        "paid",
                    ]
                )
            return True


def orders_path(wb) -> Path:
    """The account's orders file: where the sandbox seeds it, named the same with Stripe."""
    return sandbox.merchant_files(wb.settings.data_dir, wb.account)["orders"]


def _order_id(session) -> str | None:
    """The shop's order behind a Checkout Session (its metadata), if it is one of ours."""
    return (session.metadata.to_dict() if session.metadata else {}).get("order_id")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, content: str, *, status: int = 200, refresh: bool = False) -> Reply:
    meta = '<meta http-equiv="refresh" content="1">' if refresh else ""
    body = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} - demo shop</title>{meta}<style>{STYLE}</style></head><body>"
        '<nav><a href="/">Shop</a><a href="/legacy">Legacy checkout</a></nav>'
        f"<h1>{_e(title)}</h1>{content}</body></html>\n"
    )
    return Reply(
        status,
        body,
        "text/html; charset=utf-8",
        {
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-store",
        },
    )


def _error(status: int, message: str) -> Reply:
    return _page("Something is wrong", f'<p class="error">{_e(message)}</p>', status=status)


class Shop:
    """The merchant's server: `app` answers its pages; `fulfil` is the webhook's hook."""

    def __init__(self, wb, orders: OrdersFile, url: str):
        self.wb = wb
        self.orders = orders
        self.url = url
        self.pending: dict[str, Order] = {}  # orders not paid yet, by id
        self.listener = None  # the webhook receiver (workbench.listen), once running
        self._lock = threading.Lock()

    # orders

    def _new_order(self, sku: str) -> Order:
        product = PRODUCTS.get(sku)
        if product is None:
            raise _Refused(400, "There is no such product.")
        order = Order(f"WEB-{secrets.token_hex(4).upper()}", product)
        with self._lock:
            self.pending[order.order_id] = order
        return order

    def _pending(self, order_id: str) -> Order:
        with self._lock:
            order = self.pending.get(order_id)
        if order is None:
            raise _Refused(404, "This shop has no unpaid order with that number.")
        return order

    def _paid(self, order: Order, created: int, amount: int, currency: str) -> None:
        self.orders.add_paid(order.order_id, created, amount, currency)
        with self._lock:
            self.pending.pop(order.order_id, None)

    def fulfil(self, event: dict) -> None:
        """The webhook's word that a Checkout Session is complete: read it again from the
        API (an event may be stale) and, if it is paid, the order goes into the orders file."""
        if event["type"] not in (
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
        ):
            return
        session = self.wb.client.v1.checkout.sessions.retrieve(event["data"]["object"]["id"])
        order_id = _order_id(session)
        if session.payment_status != "paid" or not order_id:
            return
        self.orders.add_paid(order_id, session.created, session.amount_total, session.currency)
        with self._lock:
            self.pending.pop(order_id, None)

    # pages

    def app(self, request: Request) -> Reply:
        routes: dict[tuple[str, str], Callable[[Request], Reply]] = {
            ("GET", "/"): self._products,
            ("POST", "/checkout"): self._checkout,
            ("GET", "/success"): self._success,
            ("GET", "/cancel"): self._cancel,
            ("GET", "/legacy"): self._legacy,
            ("POST", "/legacy/start"): self._legacy_start,
            ("POST", "/legacy/charge"): self._legacy_charge,
        }
        method = "GET" if request.method == "HEAD" else request.method
        handler = routes.get((method, request.path))
        if handler is None:
            known = any(path == request.path for _, path in routes)
            return _error(405 if known else 404, "There is no such page here.")
        try:
            return handler(request)
        except _Refused as refused:
            return _error(refused.status, refused.message)
        except stripe.StripeError as exc:
            return _error(502, f"Stripe did not accept that: {exc.user_message or exc}")
        except WorkbenchError as exc:
            return _error(403, str(exc))

    def _products(self, request: Request) -> Reply:
        items = "".join(
            f'<div class="product"><span>{_e(p.name)}: '
            f"<strong>{_e(format_amount(p.amount, p.currency))}</strong></span>"
            f'<form method="post" action="/checkout"><input type="hidden" name="sku" '
            f'value="{_e(p.sku)}"><button id="pay-{_e(p.sku)}">Pay</button></form></div>'
            for p in PRODUCTS.values()
        )
        return _page("Demo shop", f"<p>Pay with Stripe Checkout (test mode).</p>{items}")

    def _checkout(self, request: Request) -> Reply:
        order = self._new_order(request.form().get("sku", ""))
        product = order.product
        session = self.wb.client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": product.currency,
                            "unit_amount": product.amount,
                            "product_data": {"name": product.name},
                        },
                        "quantity": 1,
                    }
                ],
                "success_url": f"{self.url}/success?session_id={{CHECKOUT_SESSION_ID}}",
                "cancel_url": f"{self.url}/cancel?{urlencode({'order': order.order_id})}",
                "client_reference_id": order.order_id,
                "metadata": {"order_id": order.order_id},
                "payment_intent_data": {
                    "metadata": {"order_id": order.order_id},
                    "description": f"Order {order.order_id}",
                },
            },
            options={"idempotency_key": f"demo-shop-checkout-{order.order_id}"},
        )
        return Reply(303, "", headers={"Location": session.url})

    def _success(self, request: Request) -> Reply:
        session_id = request.query().get("session_id", "")
        if not SESSION_ID.fullmatch(session_id):
            raise _Refused(400, "The link back from Checkout has no session in it.")
        try:
            session = self.wb.client.v1.checkout.sessions.retrieve(session_id)
        except stripe.InvalidRequestError:
            raise _Refused(404, "Stripe knows no such Checkout Session.") from None
        order_id = _order_id(session)
        if not order_id:
            raise _Refused(404, "That Checkout Session is not one of this shop's orders.")
        amount = _e(format_amount(session.amount_total, session.currency))
        if self.orders.status(order_id) == "paid":
            content = (
                f'<p>Order <strong id="order">{_e(order_id)}</strong> is '
                f'<span class="paid" id="status">paid</span>: {amount}. Thank you!</p>'
            )
            return _page("Thank you", content)
        content = (
            f'<p>Order <strong id="order">{_e(order_id)}</strong> ({amount}) is '
            '<span class="pending" id="status">waiting for the payment to be confirmed</span>.'
            " This page looks again every second.</p>"
        )
        return _page("Almost there", content, refresh=True)

    def _cancel(self, request: Request) -> Reply:
        order_id = request.query().get("order", "")
        if not ORDER_ID.fullmatch(order_id):
            raise _Refused(400, "The link back from Checkout names no order.")
        content = (
            f'<p>You left the checkout: order <strong id="order">{_e(order_id)}</strong> is '
            '<span class="pending" id="status">not paid</span>. '
            '<a href="/">Back to the shop</a></p>'
        )
        return _page("Checkout canceled", content)

    # the legacy flow

    def _token_form(self) -> str:
        if self.wb.profile != "sandbox":
            raise _Refused(
                404,
                "The legacy form stands in for Checkout's old popup and is served by the "
                "sandbox only; with Stripe, pay through Checkout.",
            )
        return f"{self.wb.api_base}/c/{self.wb.account}/token"

    def _legacy(self, request: Request) -> Reply:
        self._token_form()
        items = "".join(
            f'<div class="product"><span>{_e(p.name)}: '
            f"<strong>{_e(format_amount(p.amount, p.currency))}</strong></span>"
            f'<form method="post" action="/legacy/start"><input type="hidden" name="sku" '
            f'value="{_e(p.sku)}"><button id="legacy-{_e(p.sku)}">Pay with card</button>'
            "</form></div>"
            for p in PRODUCTS.values()
        )
        intro = (
            "<p>The legacy flow: a form served by the sandbox turns your card into a token "
            "and posts it here; this server charges it once.</p>"
        )
        return _page("Legacy checkout", intro + items)

    def _legacy_start(self, request: Request) -> Reply:
        form = request.form()
        order = (
            self._pending(form["order"])
            if "order" in form
            else self._new_order(form.get("sku", ""))
        )
        product = order.product
        query = urlencode(
            {
                "action": f"{self.url}/legacy/charge?{urlencode({'order': order.order_id})}",
                "amount": product.amount,
                "currency": product.currency,
                "name": "Demo shop",
                "description": f"{product.name} (order {order.order_id})",
            }
        )
        return Reply(303, "", headers={"Location": f"{self._token_form()}?{query}"})

    def _legacy_charge(self, request: Request) -> Reply:
        order_id = request.query().get("order", "")
        if self.orders.status(order_id) == "paid":
            return _page("Already paid", f"<p>Order {_e(order_id)} is already paid.</p>")
        order = self._pending(order_id)
        form = request.form()
        token = form.get("stripeToken", "")
        if not TOKEN_ID.fullmatch(token):
            raise _Refused(400, "No card token came with the form.")
        product = order.product
        retry = (
            '<form method="post" action="/legacy/start"><input type="hidden" name="order" '
            f'value="{_e(order.order_id)}"><button id="retry">Try another card</button></form>'
        )
        try:
            charge = self.wb.client.v1.charges.create(
                params={
                    "amount": product.amount,
                    "currency": product.currency,
                    "source": token,
                    "description": f"Order {order.order_id}",
                    "metadata": {"order_id": order.order_id},
                },
                options={"idempotency_key": f"demo-shop-legacy-{order.order_id}-{token}"},
            )
        except stripe.CardError as exc:
            content = f'<p class="error" id="error">{_e(exc.user_message)}</p>{retry}'
            return _page("Payment declined", content, status=402)
        except stripe.InvalidRequestError as exc:
            content = f'<p class="error" id="error">{_e(exc.user_message)}</p>{retry}'
            return _page("Payment refused", content, status=400)
        self._paid(order, charge.created, charge.amount_captured, charge.currency)
        content = (
            f'<p>Order <strong id="order">{_e(order.order_id)}</strong> is '
            f'<span class="paid" id="status">paid</span>: '
            f"{_e(format_amount(charge.amount_captured, charge.currency))}.</p>"
        )
        return _page("Thank you", content)


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@contextmanager
def running(
    wb,
    *,
    port: int = 0,
    https: bool = False,
    webhook_port: int = 0,
    out: Callable[[str], None] = print,
):
    """The shop on 127.0.0.1:`port` (TLS with a self-signed certificate when `https`), and
    its webhook receiver. Yields the Shop; its `listener` is the receiver."""
    tls = self_signed(wb.settings.data_dir / "demo-shop-tls") if https else None
    holder: dict = {}
    server = Server(lambda request: holder["shop"].app(request), port, tls)
    try:
        shop = holder["shop"] = Shop(wb, OrdersFile(orders_path(wb)), server.url)
        with listening(wb, port=webhook_port, on_event=shop.fulfil, out=out) as (listener, url):
            shop.listener = listener
            server.start()
            out(f"demo shop on {server.url} (orders into {shop.orders.path}); webhooks on {url}")
            yield shop
    finally:
        server.stop()
