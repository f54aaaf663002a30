"""Lists, pagination and `expand[]`, the same for every resource.

Lists are newest first, ordered by (created, insertion) so that pages never skip or repeat an
object created in the same second. A page is answered by splicing stored JSON, unparsed
and undecoded (read as bytes, joined once: a page of charges is ~640 KB, and each copy of it
costs as much as the rest of the request), unless an expansion asks for objects to be
looked into.
"""

from __future__ import annotations

from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing
from workbench.sandbox.state import as_item, dumps, loads, stored

# Lists Stripe leaves out of an object unless asked for with `expand[]` ("includable"):
# (object, field) -> (listed object, the column that points back at the parent).
INCLUDABLE = {
    ("charge", "refunds"): ("refund", "charge"),
    ("customer", "sources"): ("card", "customer"),
    ("customer", "subscriptions"): ("subscription", "customer"),
    ("customer", "tax_ids"): ("tax_id", "customer"),
}
# Includable fields that are not lists: what expanding them shows in the sandbox.
INCLUDED_VALUES = {
    ("customer", "cash_balance"): lambda customer: {
        "object": "cash_balance",
        "available": None,
        "customer": customer["id"],
        "customer_account": None,
        "livemode": False,
        "settings": {"reconciliation_mode": "automatic", "using_merchant_default": True},
    },
    ("customer", "invoice_credit_balance"): lambda customer: {},
    ("customer", "tax"): lambda customer: {
        "automatic_tax": "not_collecting",
        "ip_address": None,
        "location": None,
        "provider": "stripe",
    },
}
MAX_EXPAND_DEPTH = 4


def page(
    backend: Backend,
    kind: str,
    params: dict,
    url: str,
    *,
    where: dict | None = None,
    conditions: tuple = (),
) -> bytes:
    """One page of `kind`, newest first, as the API's list JSON."""
    limit = params.get("limit") or 10
    clauses, args = ["object = ?"], [kind]
    for column, value in (where or {}).items():
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    for clause, *values in conditions:
        clauses.append(clause)
        args.extend(values)
    for op, bound in (params.get("created") or {}).items():
        clauses.append(f"created {dict(eq='=', gt='>', gte='>=', lt='<', lte='<=')[op]} ?")
        args.append(bound)

    conn = backend.store.conn
    cursor_param = "ending_before" if params.get("ending_before") else "starting_after"
    cursor_id = params.get(cursor_param)
    if cursor_id:
        row = conn.execute(
            "SELECT created, seq FROM objects WHERE id = ? AND object = ?", (cursor_id, kind)
        ).fetchone()
        if row is None:
            raise ResourceMissing(kind.replace("_", " "), cursor_id, cursor_param)
        after = cursor_param == "starting_after"
        clauses.append(f"(created, seq) {'<' if after else '>'} (?, ?)")
        args.extend(row)
    order = "ASC" if cursor_param == "ending_before" and cursor_id else "DESC"
    rows = conn.execute(
        f"SELECT CAST(data AS BLOB) FROM objects WHERE {' AND '.join(clauses)} "
        f"ORDER BY created {order}, seq {order} LIMIT ?",
        (*args, limit + 1),
    ).fetchall()
    has_more = len(rows) > limit
    data = [row[0] for row in rows[:limit]]
    if order == "ASC":
        data.reverse()
    return listing(backend, data, has_more, url, params.get("expand"))


def listing(
    backend: Backend,
    raw_items: list[bytes],
    has_more: bool,
    url: str,
    expand: list[str] | None = None,
    *,
    kind: str = "list",
    extra: dict | None = None,
) -> bytes:
    """The list envelope around stored JSON items, laid out as Stripe does (`extra` fields
    go between has_more and url), expanding `data.*` paths if asked."""
    if expand:
        paths = [path.split(".")[1:] for path in expand if path.startswith("data.")]
        unknown = [path for path in expand if not path.startswith("data.")]
        if unknown:
            raise InvalidRequest(
                f"This property cannot be expanded ({unknown[0]}).", param="expand"
            )
        items = [loads(raw) for raw in raw_items]
        for item in items:
            for path in paths:
                expand_path(backend, item, path, ".".join(["data", *path]))
        raw_items = [stored(item).encode() for item in items]
    else:
        raw_items = [as_item(raw) for raw in raw_items]
    tail = [f'  "has_more": {"true" if has_more else "false"}']
    tail += [f"  {dumps(name)}: {dumps(value)}" for name, value in (extra or {}).items()]
    tail.append(f'  "url": {dumps(url)}\n}}\n')
    head = f'{{\n  "object": {dumps(kind)},\n  "data": '.encode()
    if not raw_items:
        return b"".join((head, b"[],\n", ",\n".join(tail).encode()))
    pieces = [head, b"[\n    "]  # one join over every piece
    for raw in raw_items:
        pieces += (raw, b",\n    ")
    pieces[-1] = b"\n  ],\n"
    pieces.append(",\n".join(tail).encode())
    return b"".join(pieces)


def expand(backend: Backend, obj: dict, paths: list[str] | None) -> dict:
    for path in paths or ():
        expand_path(backend, obj, path.split("."), path)
    return obj


def expand_path(backend: Backend, obj: dict, parts: list[str], full: str) -> None:
    if len(parts) > MAX_EXPAND_DEPTH:
        raise InvalidRequest(
            f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a "
            f"property. Property: {full}",
            param="expand",
        )
    head, rest = parts[0], parts[1:]
    key = (obj.get("object"), head) if isinstance(obj, dict) else None
    if key in INCLUDED_VALUES and head not in obj:
        obj[head] = INCLUDED_VALUES[key](obj)
    included = INCLUDABLE.get(key)
    if not isinstance(obj, dict) or (head not in obj and not included):
        raise InvalidRequest(f"This property cannot be expanded ({full}).", param="expand")
    value = obj.get(head)
    if included and not isinstance(value, dict):
        kind, column = included
        rows = backend.store.conn.execute(
            f"SELECT data FROM objects WHERE object = ? AND {column} = ? "
            "ORDER BY created DESC, seq DESC LIMIT 11",
            (kind, obj["id"]),
        ).fetchall()
        value = obj[head] = {
            "object": "list",
            "data": [loads(row[0]) for row in rows[:10]],
            "has_more": len(rows) > 10,
            "url": f"/v1/{obj['object']}s/{obj['id']}/{head}",
        }
    elif isinstance(value, str):
        target = backend.store.get(value)
        if target is None or head in ("id", "object"):
            raise InvalidRequest(f"This property cannot be expanded ({full}).", param="expand")
        value = obj[head] = target
    elif value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"This property cannot be expanded ({full}).", param="expand")
    if not rest or value is None:
        return
    if value.get("object") == "list" and rest[0] == "data":
        for item in value["data"]:
            if rest[1:]:
                expand_path(backend, item, rest[1:], full)
    else:
        expand_path(backend, value, rest, full)
