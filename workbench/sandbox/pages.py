"""The pages the sandbox shows to people, beside its JSON API: Checkout's hosted payment page
(a Checkout Session's `url`) and the legacy Checkout form, which turns a card into a token
and posts it to the merchant's server, as Checkout's old popup did.

They stand in for checkout.stripe.com: plain HTML forms that load nothing from anywhere (no
script, font or image: they work offline; a Content-Security-Policy says so), every value
escaped. Paying runs the models as an API request does (one transaction and a savepoint, a
decline's failed charge kept, events delivered as webhooks). Bad input is a 4xx page, never
a 500; the account is named in the path, as these pages take no key.

    GET|POST /c/<account>/pay/<session>   the hosted payment page, and its Pay button
    GET|POST /c/<account>/token           the legacy form; it posts `stripeToken` onwards
"""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs

from workbench.sandbox import clock, ledger
from workbench.sandbox.backend import Backend, new_id
from workbench.sandbox.currencies import SUPPORTED
from workbench.sandbox.exceptions import CardError, SandboxError
from workbench.sandbox.models import checkout_sessions, tokens

PREFIX = "/c/"
ROUTE = re.compile(r"/c/(?P<account>[^/]+)/(?:pay/(?P<session>[^/]+)|(?P<token>token))")
MAX_FIELD = 200  # characters: no field of these forms needs more
EXPIRY = re.compile(r"\s*([0-9]{1,2})\s*/?\s*([0-9]{2}|[0-9]{4})\s*")
AMOUNT = re.compile(r"[0-9]{1,12}")
STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f6f8fa; color: #1a1f36; margin: 0 }
h1 { overflow-wrap: anywhere }
main { max-width: 30rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 8px; box-shadow: 0 2px 8px rgba(0,0,0,.08) }
.test { background: #ffde92; color: #a04d00; font-size: .75rem; font-weight: 600;
        padding: .1rem .4rem; border-radius: 4px }
table { width: 100%; border-collapse: collapse; margin: 1rem 0 }
td { padding: .3rem 0 } td.amount { text-align: right; white-space: nowrap }
tr.total td { border-top: 1px solid #e3e8ee; font-weight: 600 }
label { display: block; margin-top: .8rem; font-size: .9rem; color: #4f566b }
input { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem;
        border: 1px solid #cfd7df; border-radius: 6px }
.row { display: flex; gap: .8rem } .row label { flex: 1 }
button { margin-top: 1.2rem; width: 100%; font: inherit; font-weight: 600; color: #fff;
         background: #635bff; border: 0; border-radius: 6px; padding: .7rem; cursor: pointer }
.error { color: #df1b41; background: #fff0f3; border-radius: 6px; padding: .5rem .8rem }
a.back { color: #635bff; text-decoration: none; font-size: .9rem }
.note { font-size: .85rem; color: #697386 }
"""


class PageError(Exception):
    """A request the page cannot serve: its status and what the person is told."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def handle(api, request) -> tuple[int, str, dict]:
    """A page request -> (status, HTML, headers); the API's JSON error shapes never apply."""
    nonce = secrets.token_urlsafe(12)
    try:
        status, body, headers = _route(api, request, nonce)
    except (PageError, SandboxError) as exc:  # SandboxError: a missing session, say
        status, headers = exc.status, dict(exc.headers)
        body = _page("Checkout", f'<p class="error" role="alert">{_e(exc.message)}</p>', nonce)
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        **headers,
    }
    return status, body, headers


def _route(api, request, nonce: str) -> tuple[int, str, dict]:
    match = ROUTE.fullmatch(request.path)
    if match is None:
        raise PageError(404, "There is no such page.")
    if request.method not in ("GET", "HEAD", "POST"):
        raise PageError(
            405,
            f"{request.method[:20]} is not a method these pages answer.",
            {"Allow": "GET, HEAD, POST"},
        )
    store = api.existing_store(match["account"])
    if store is None:
        raise PageError(404, "There is no such sandbox account.")
    clock.catch_up(store)  # a session past its expires_at is expired before it is shown
    backend = Backend(store, request_id=new_id("req", 14), pages=api.pages_url(match["account"]))
    posted = request.method == "POST"
    typed = _form(request.body) if posted else {}
    if match["session"]:
        answer = (_pay if posted else _payment_page)(backend, match["session"], typed, nonce)
    else:  # the merchant's settings in the query; the form posts back to the same URL
        legacy = _legacy(_form(request.query.encode()))
        answer = (_tokenize if posted else _token_page)(backend, legacy, typed, nonce)
    if backend.events_written:
        api.deliveries.wake()
    return answer


def _form(raw: bytes) -> dict[str, str]:
    """A form's fields, one value each, at most MAX_FIELD characters."""
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=30, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "The form could not be read: send it as UTF-8 form data.") from None
    for name, values in fields.items():
        if len(values) > 1 or len(values[0]) > MAX_FIELD:
            raise PageError(400, f"The field {name[:40]!r} is too long or given twice.")
    return {name: values[0] for name, values in fields.items()}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _money(amount: int, currency: str) -> str:
    return f"{ledger.display(amount, currency)} {currency.upper()}"


def _page(title: str, content: str, nonce: str, *, script: str = "") -> str:
    script = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(title)}</title><style nonce="{nonce}">{STYLE}</style></head>'
        f"<body><main>{content}</main>{script}</body></html>\n"
    )


def _merchant(backend: Backend) -> str:
    return backend.account["settings"]["dashboard"]["display_name"]


def _card_fields(form: dict) -> str:
    """Card number, expiry and CVC inputs, kept as typed when the page is shown again."""

    def value(name: str) -> str:
        return _e(form.get(name, ""))

    return f"""
<label>Card number<input name="number" inputmode="numeric" autocomplete="cc-number"
  placeholder="4242 4242 4242 4242" value="{value("number")}" required></label>
<div class="row">
<label>Expiry<input name="exp" autocomplete="cc-exp" placeholder="MM / YY"
  value="{value("exp")}" required></label>
<label>CVC<input name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123"
  value="{value("cvc")}"></label>
</div>
<label>Name on card<input name="name" autocomplete="cc-name" value="{value("name")}"></label>"""


def _card(form: dict) -> dict:
    """The typed card as the API's `card[...]` parameters; a bad expiry is Stripe.js's
    message, the rest is checked by the same code as the API."""
    expiry = EXPIRY.fullmatch(form.get("exp", ""))
    if expiry is None:
        raise CardError(
            "Your card's expiration date is incomplete.",
            code="incomplete_expiry",
            param="exp_month",
        )
    number = form.get("number", "")
    if not re.fullmatch(r"[0-9 ]{1,30}", number):
        raise CardError("Your card number is invalid.", code="invalid_number", param="number")
    return {
        "number": number,
        "exp_month": int(expiry[1]),
        "exp_year": int(expiry[2]),
        "cvc": form.get("cvc") or None,
    }


# the hosted payment page


def _payment_page(
    backend: Backend, session_id: str, form: dict, nonce: str, error: str | None = None
) -> tuple[int, str, dict]:
    session, items = checkout_sessions.with_line_items(backend, session_id)
    merchant = _merchant(backend)
    if session["status"] != "open":
        return _closed(session, merchant, nonce)
    rows = "".join(
        f"<tr><td>{_e(item['description'] or 'Item')} &times; {item['quantity']}</td>"
        f'<td class="amount">{_money(item["amount_total"], item["currency"])}</td></tr>'
        for item in items
    )
    total = _money(session["amount_total"], session["currency"])
    email = session["customer_email"]
    if session["customer"]:
        email = backend.get(session["customer"], "customer")["email"] or email
    email_field = (
        f'<p>Email: <strong id="email">{_e(email)}</strong></p>'
        if email
        else '<label>Email<input name="email" type="email" autocomplete="email" '
        f'value="{_e(form.get("email", ""))}" required></label>'
    )
    back = (
        f'<p><a class="back" id="cancel" href="{_e(session["cancel_url"])}">&larr; Back to '
        f"{_e(merchant)}</a></p>"
        if session["cancel_url"]
        else ""
    )
    alert = f'<p class="error" id="error" role="alert">{_e(error)}</p>' if error else ""
    content = f"""{back}
<h1>{_e(merchant)} <span class="test">TEST MODE</span></h1>
<p>Pay <strong id="total">{_e(total)}</strong></p>
<table>{rows}<tr class="total"><td>Total due</td><td class="amount">{_e(total)}</td></tr></table>
{alert}
<form method="post" autocomplete="on">
<p class="note">Test mode: pay with 4242 4242 4242 4242, any future expiry and any CVC.</p>
{email_field}
{_card_fields(form)}
<button type="submit" id="pay">Pay {_e(total)}</button>
</form>"""
    return 200, _page(f"Pay {merchant}", content, nonce), {}


def _closed(session: dict, merchant: str, nonce: str) -> tuple[int, str, dict]:
    if session["status"] == "complete":
        target = checkout_sessions.success_url(session)
        link = f'<p><a class="back" href="{_e(target)}">Return to {_e(merchant)}</a></p>'
        content = f"<h1>{_e(merchant)}</h1><p>This payment is complete.</p>" + (
            link if target else ""
        )
        return 200, _page(f"Paid {merchant}", content, nonce), {}
    content = f"<h1>{_e(merchant)}</h1><p>This Checkout Session has expired.</p>"
    return 410, _page(f"Expired: {merchant}", content, nonce), {}


def _attempt(backend: Backend, work):
    """`work()` in one transaction, as an API request runs: (its result, None), or (None,
    the SandboxError) once what Stripe keeps of a failure (a declined charge) is committed."""
    with backend.store.transaction():
        try:
            return backend.attempt(work), None
        except SandboxError as exc:
            return None, exc


def _pay(backend: Backend, session_id: str, form: dict, nonce: str) -> tuple[int, str, dict]:
    session, error = _attempt(
        backend,
        lambda: checkout_sessions.pay(
            backend, session_id, _card(form), form.get("email"), form.get("name") or None
        ),
    )
    if error is not None:
        if error.status == 404:
            raise error
        _, page, headers = _payment_page(backend, session_id, form, nonce, error.message)
        return error.status, page, headers
    target = checkout_sessions.success_url(session)
    if target is None:  # no success_url: Stripe shows its own confirmation
        return _closed(session, _merchant(backend), nonce)
    return 303, "", {"Location": target}


# the legacy flow: Checkout's old popup, standing in as a page


def _legacy(form: dict) -> dict:
    """What the merchant's page configured (as checkout.js's data-* attributes): where to
    post the token (`action`, required), and the amount, currency, name and description
    shown."""
    action = form.get("action", "")
    if not checkout_sessions.URL.fullmatch(action):
        raise PageError(400, "Give `action`: the http(s) URL the token is posted to.")
    amount = form.get("amount", "")
    if amount and not AMOUNT.fullmatch(amount):
        raise PageError(400, "`amount` must be a whole number of the currency's minor units.")
    currency = (form.get("currency") or "usd").lower()
    if currency not in SUPPORTED:
        raise PageError(400, f"{currency[:10]!r} is not a currency Stripe supports.")
    return {
        "action": action,
        "amount": int(amount) if amount else None,
        "currency": currency,
        "name": form.get("name") or "",
        "description": form.get("description") or "",
        "email": form.get("email") or "",
    }


def _token_page(
    backend: Backend, legacy: dict, form: dict, nonce: str, error: str | None = None
) -> tuple[int, str, dict]:
    pay = _money(legacy["amount"], legacy["currency"]) if legacy["amount"] else ""
    alert = f'<p class="error" id="error" role="alert">{_e(error)}</p>' if error else ""
    title = legacy["name"] or _merchant(backend)
    content = f"""<h1>{_e(title)} <span class="test">TEST MODE</span></h1>
<p>{_e(legacy["description"])}</p>
{alert}
<form method="post">
<label>Email<input name="email" type="email" autocomplete="email"
  value="{_e(form.get("email", legacy["email"]))}"></label>
{_card_fields(form)}
<button type="submit" id="pay">{"Pay " + _e(pay) if pay else "Continue"}</button>
</form>"""
    return 200, _page("Pay with card", content, nonce), {}


def _tokenize(backend: Backend, legacy: dict, form: dict, nonce: str) -> tuple[int, str, dict]:
    """The card becomes a token (POST /v1/tokens's code), which the page hands on to the
    merchant's `action` in a form post: `stripeToken`, `stripeTokenType`, `stripeEmail`."""
    token, error = _attempt(
        backend,
        lambda: tokens.create(backend, {"card": {**_card(form), "name": form.get("name") or None}}),
    )
    if error is not None:
        _, page, headers = _token_page(backend, legacy, form, nonce, error.message)
        return error.status, page, headers
    fields = {
        "stripeToken": token["id"],
        "stripeTokenType": token["type"],
        "stripeEmail": form.get("email", ""),
    }
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{_e(value)}">' for name, value in fields.items()
    )
    content = f"""<h1>Sending your card to the merchant</h1>
<form method="post" id="handoff" action="{_e(legacy["action"])}">{hidden}
<button type="submit" id="continue">Continue</button></form>"""
    script = 'document.getElementById("handoff").submit();'
    return 200, _page("Pay with card", content, nonce, script=script), {}
