"""The writes the notebooks offer: charge, authorize, capture, release, refund, and saved-card
changes. Each says what it did in words, beside the object Stripe returned.

Safe by construction:
- A live account is refused up front, in one line, unless WORKBENCH_ALLOW_LIVE_WRITES=1 (the
  client refuses any POST or DELETE as well: this only says it before anything is sent).
- Every POST carries an idempotency key: the caller's, or a new one, which the result
  names. The same key sent again (a cell re-run with it, a retry after a lost answer) gets
  Stripe's first answer back instead of a second charge. DELETEs carry none: Stripe treats
  them as idempotent and asks for no key.
- `write=False` does nothing and says what would have been done (on any account, live
  too): notebooks pass their `writes` parameter here, off by default, so an unattended run
  changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from workbench.exceptions import LiveWriteRefused, WorkbenchError
from workbench.money import currency_code, format_amount

OFF = "not done: writes are off (set writes = True in the parameters cell to do it)"


@dataclass
class Done:
    """What an action did (or would do), in words, and the object Stripe returned."""

    what: str
    object: object = field(default=None, repr=False)
    idempotency_key: str | None = None

    @property
    def done(self) -> bool:
        return self.object is not None

    @property
    def id(self) -> str | None:
        return getattr(self.object, "id", None)

    def __str__(self) -> str:
        return self.what

    def _repr_markdown_(self) -> str:
        return self.what


def _ref(thing, placeholder: str) -> str:
    """An id, or the id of what an earlier action made; `placeholder` names it in words
    when that action was not done (writes off), so a chain of cells reads through."""
    if isinstance(thing, Done):
        return thing.id or placeholder
    return thing


def _pending(*things) -> bool:
    """Whether one of `things` is an earlier action that was not done."""
    return any(isinstance(thing, Done) and not thing.done for thing in things)


def _check(wb, what: str) -> None:
    if wb.profile == "live" and not wb.settings.allow_live_writes:
        raise LiveWriteRefused(
            f"refused to {what} on the live account {wb.account!r}: set "
            "WORKBENCH_ALLOW_LIVE_WRITES=1 to allow writes to a live account"
        )


def _post(wb, what: str, write: bool, key: str | None, send, pending: bool = False) -> Done:
    """Check, then send one POST with an idempotency key; `send(options)` makes the call."""
    if not write or pending:
        return Done(f"Would {what}; {OFF}.")
    _check(wb, what)
    key = key or f"workbench-{uuid.uuid4()}"
    made = send({"idempotency_key": key})
    return Done(f"Done: {what} ({made.id}).", made, key)


def _amount(amount: int, currency: str) -> str:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise WorkbenchError(
            f"amount {amount!r} must be a positive whole number of minor units "
            "(e.g. 2500 for 25.00 USD)"
        )
    return format_amount(amount, currency)


def _given(**values) -> dict:
    """The parameters that were given (Stripe rejects empty ones for some)."""
    return {name: value for name, value in values.items() if value}


def _described(metadata: dict | None, suffix: str | None) -> str:
    parts = [f"metadata {metadata}"] if metadata else []
    if suffix:
        parts.append(f"statement descriptor suffix {suffix!r}")
    return f" with {' and '.join(parts)}" if parts else ""


def charge(
    wb,
    amount: int,
    currency: str = "usd",
    source: str | None = "tok_visa",
    *,
    customer: str | None = None,
    capture: bool = True,
    metadata: dict | None = None,
    statement_descriptor_suffix: str | None = None,
    description: str | None = None,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """A Charge: from a token, or a customer's saved card (`source` a card id, or None for
    the customer's default). `capture=False` only authorizes: capture or release it later."""
    verb = "charge" if capture else "authorize (not capture)"
    pending = _pending(customer, source)
    customer, source = _ref(customer, "the customer above"), _ref(source, "the card above")
    payer = f"{customer}'s {'card ' + source if source else 'default card'}" if customer else source
    what = (
        f"{verb} {_amount(amount, currency)} on {payer}"
        f"{_described(metadata, statement_descriptor_suffix)}"
    )
    params = {"amount": amount, "currency": currency_code(currency), "capture": capture}
    params |= _given(
        source=source,
        customer=customer,
        metadata=metadata,
        statement_descriptor_suffix=statement_descriptor_suffix,
        description=description,
    )
    send = wb.client.v1.charges.create
    return _post(wb, what, write, idempotency_key, lambda o: send(params, o), pending)


def authorize_intent(
    wb,
    amount: int,
    currency: str = "usd",
    payment_method: str = "pm_card_visa",
    *,
    customer: str | None = None,
    metadata: dict | None = None,
    statement_descriptor_suffix: str | None = None,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """A PaymentIntent with manual capture, confirmed at once: the card is authorized and
    the intent waits in `requires_capture` until captured or canceled."""
    what = (
        f"authorize {_amount(amount, currency)} on {payment_method} with a PaymentIntent "
        f"(manual capture){_described(metadata, statement_descriptor_suffix)}"
    )
    params = {
        "amount": amount,
        "currency": currency_code(currency),
        "payment_method": payment_method,
        "capture_method": "manual",
        "confirm": True,
    }
    params |= _given(
        customer=customer,
        metadata=metadata,
        statement_descriptor_suffix=statement_descriptor_suffix,
    )
    send = wb.client.v1.payment_intents.create
    return _post(wb, what, write, idempotency_key, lambda options: send(params, options))


def _payment(payment: str) -> str:
    if payment.startswith("the "):  # an earlier action's, not made
        return "charge"
    if payment.startswith(("ch_", "py_")):
        return "charge"
    if payment.startswith("pi_"):
        return "intent"
    raise WorkbenchError(f"{payment!r} is neither a charge (ch_...) nor a PaymentIntent (pi_...)")


def capture(
    wb,
    payment: str,
    amount: int | None = None,
    currency: str = "usd",
    *,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """Capture an authorization (a charge or a PaymentIntent): all of it, or `amount` of it
    (the rest is released, as Stripe does)."""
    pending, payment = _pending(payment), _ref(payment, "the authorization above")
    part = f"{_amount(amount, currency)} of " if amount is not None else "all of "
    what = f"capture {part}{payment}"
    if _payment(payment) == "charge":
        params = {"amount": amount} if amount is not None else {}
        call = wb.client.v1.charges.capture
    else:
        params = {"amount_to_capture": amount} if amount is not None else {}
        call = wb.client.v1.payment_intents.capture
    return _post(wb, what, write, idempotency_key, lambda o: call(payment, params, o), pending)


def release(wb, payment: str, *, idempotency_key: str | None = None, write: bool = True) -> Done:
    """Let an authorization go without capturing it: a charge's is released by refunding
    it, a PaymentIntent's by canceling the intent."""
    pending, payment = _pending(payment), _ref(payment, "the authorization above")
    if _payment(payment) == "charge":
        return _post(
            wb,
            f"release the authorization of {payment}",
            write,
            idempotency_key,
            lambda options: wb.client.v1.refunds.create(
                params={"charge": payment}, options=options
            ),
            pending,
        )
    return _post(
        wb,
        f"release the authorization of {payment} (cancel the PaymentIntent)",
        write,
        idempotency_key,
        lambda options: wb.client.v1.payment_intents.cancel(payment, options=options),
        pending,
    )


def refund(
    wb,
    charge_id: str,
    amount: int | None = None,
    currency: str = "usd",
    *,
    reason: str | None = None,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """Refund a captured charge, in full or `amount` of it; `reason` is Stripe's
    (duplicate, fraudulent, requested_by_customer)."""
    pending, charge_id = _pending(charge_id), _ref(charge_id, "the charge above")
    part = f"{_amount(amount, currency)} of " if amount is not None else "all of "
    params = {"charge": charge_id}
    if amount is not None:
        params["amount"] = amount
    if reason:
        params["reason"] = reason
    return _post(
        wb,
        f"refund {part}{charge_id}",
        write,
        idempotency_key,
        lambda options: wb.client.v1.refunds.create(params=params, options=options),
        pending,
    )


def create_customer(
    wb,
    email: str,
    token: str | None = "tok_visa",
    *,
    name: str | None = None,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """A customer, with the card of `token` saved as their default (a token is single-use:
    saving its card on a customer is how it is charged again)."""
    params = {"email": email, **({"source": token} if token else {})}
    if name:
        params["name"] = name
    card = f" with the card of {token} saved" if token else ""
    return _post(
        wb,
        f"create the customer {email}{card}",
        write,
        idempotency_key,
        lambda options: wb.client.v1.customers.create(params=params, options=options),
    )


def add_card(
    wb,
    customer: str,
    token: str,
    *,
    make_default: bool = False,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """Save the card of a token on a customer (and make it their default)."""
    pending, customer = _pending(customer), _ref(customer, "the customer above")
    default = " and make it the default" if make_default else ""
    what = f"save the card of {token} on {customer}{default}"
    done = _post(
        wb,
        what,
        write,
        idempotency_key,
        lambda options: wb.client.v1.customers.payment_sources.create(
            customer, params={"source": token}, options=options
        ),
        pending,
    )
    if done.done and make_default:
        set_default_card(wb, customer, done.id, idempotency_key=f"{done.idempotency_key}-default")
    return done


def update_card(
    wb,
    customer: str,
    card: str,
    *,
    exp_month: int | None = None,
    exp_year: int | None = None,
    name: str | None = None,
    address: dict | None = None,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """Change a saved card's expiry, cardholder name or billing address (keys line1, line2,
    city, state, zip, country, as Stripe names a card's address_* fields)."""
    pending = _pending(customer, card)
    customer, card = _ref(customer, "the customer above"), _ref(card, "the card above")
    params = {
        key: value
        for key, value in (("exp_month", exp_month), ("exp_year", exp_year), ("name", name))
        if value is not None
    }
    params.update({f"address_{key}": value for key, value in (address or {}).items()})
    if not params:
        raise WorkbenchError("update_card: give an expiry, a name or an address to change")
    changes = ", ".join(f"{key} {value}" for key, value in params.items())
    return _post(
        wb,
        f"update {card} of {customer}: {changes}",
        write,
        idempotency_key,
        lambda options: wb.client.v1.customers.payment_sources.update(
            customer, card, params=params, options=options
        ),
        pending,
    )


def set_default_card(
    wb, customer: str, card: str, *, idempotency_key: str | None = None, write: bool = True
) -> Done:
    """Make a saved card the one Stripe charges when none is named."""
    pending = _pending(customer, card)
    customer, card = _ref(customer, "the customer above"), _ref(card, "the card above")
    return _post(
        wb,
        f"make {card} the default card of {customer}",
        write,
        idempotency_key,
        lambda options: wb.client.v1.customers.update(
            customer, params={"default_source": card}, options=options
        ),
        pending,
    )


def delete_card(wb, customer: str, card: str, *, write: bool = True) -> Done:
    """Remove a saved card from a customer (Stripe deletes it; a DELETE needs no key)."""
    pending = _pending(customer, card)
    customer, card = _ref(customer, "the customer above"), _ref(card, "the card above")
    what = f"delete the card {card} of {customer}"
    if not write or pending:
        return Done(f"Would {what}; {OFF}.")
    _check(wb, what)
    deleted = wb.client.v1.customers.payment_sources.delete(customer, card)
    return Done(f"Done: {what}.", deleted)


def register_webhook_endpoint(
    wb,
    url: str,
    enabled_events: list[str],
    *,
    idempotency_key: str | None = None,
    write: bool = True,
) -> Done:
    """Ask Stripe to POST these events to `url`. The answer carries the endpoint's signing
    secret (shown once by Stripe): hand it to the receiver, never print it."""
    return _post(
        wb,
        f"register {url} for {', '.join(enabled_events)}",
        write,
        idempotency_key,
        lambda options: wb.client.v1.webhook_endpoints.create(
            params={"url": url, "enabled_events": enabled_events}, options=options
        ),
    )
