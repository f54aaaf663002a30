"""Stripe's search query language for charges, customers and PaymentIntents, as SQL.

Supports `field:value` (exact, case-insensitive), `field~"sub"` (substring, 3+ characters),
`>`, `<`, `>=`, `<=` on numbers, `-` to negate, `null`, `metadata["key"]` (single or double
quotes), and clauses joined by `AND` or `OR` (not both, at most 10), as Stripe documents.
"""

from __future__ import annotations

import base64
import json
import re

from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.lists import listing

NUMBER, STRING, TOKEN, BOOLEAN, REFUNDED = "number", "string", "token", "boolean", "refunded"
CARD_FIELDS = {
    f"payment_method_details.card.{name}": STRING
    for name in ("brand", "exp_month", "exp_year", "fingerprint", "last4")
}
FIELDS = {
    "charge": {
        "amount": NUMBER,
        "billing_details.address.postal_code": STRING,
        "created": NUMBER,
        "currency": STRING,
        "customer": STRING,
        "disputed": BOOLEAN,
        "metadata": TOKEN,
        "refunded": REFUNDED,
        "status": STRING,
        "payment_intent": STRING,
        **CARD_FIELDS,
    },
    "customer": {
        "created": NUMBER,
        "email": STRING,
        "metadata": TOKEN,
        "name": STRING,
        "phone": STRING,
    },
    "payment_intent": {
        "amount": NUMBER,
        "created": NUMBER,
        "currency": STRING,
        "customer": STRING,
        "metadata": TOKEN,
        "status": STRING,
    },
}
SUBSTRING_FIELDS = {"email", "name", "description"}
CLAUSE = re.compile(
    r"""
    (?P<negate>-)?
    (?P<field>metadata\[(?P<q>["'])(?P<key>(?:\\.|(?!(?P=q)).)*)(?P=q)\]|[a-z_]+(?:\.[a-z0-9_]+)*)
    (?P<op>>=|<=|:|~|>|<)
    (?P<value>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^\s"']+)
    """,
    re.VERBOSE,
)
CONNECTIVE = re.compile(r"\s+(AND|OR)\s+|\s+", re.IGNORECASE)


def _error(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="query", code="parameter_invalid_string")


def _value(raw: str):
    if raw[:1] in "\"'":
        return re.sub(r"\\(.)", r"\1", raw[1:-1]), True
    return raw, False


def _clause(kind: str, match: re.Match) -> tuple[str, list]:
    field, op, (value, quoted) = match["field"], match["op"], _value(match["value"])
    if match["key"] is not None:
        field_type, path = TOKEN, '$.metadata."' + match["key"].replace('"', "") + '"'
    else:
        field_type, path = FIELDS[kind].get(field), "$." + field
    if field_type is None or (field_type == TOKEN and match["key"] is None):
        raise _error(
            f"Field '{field}' is an unsupported search field for {kind}s. See "
            "https://stripe.com/docs/search#query-fields-for-"
            + kind.replace("_", "-")
            + "s for a list of supported fields."
        )
    column = f"json_extract(data, '{path}')"
    if value == "null" and not quoted and op == ":":
        return f"{column} IS NULL", []
    if op in (">", "<", ">=", "<="):
        if field_type != NUMBER or not re.fullmatch(r"-?\d+", value):
            raise _error(
                f"The '{op}' operator needs a numeric field and a number: {field}{op}"
                f"{match['value']}"
            )
        return f"{column} {op} ?", [int(value)]
    if op == "~":
        if field.split(".")[-1] not in SUBSTRING_FIELDS and field_type != TOKEN:
            raise _error(f"Field '{field}' does not support substring (~) search.")
        if len(value) < 3:
            raise _error("Substring search (~) needs a value of at least 3 characters.")
        return f"instr(lower({column}), lower(?)) > 0", [value]
    if field_type == NUMBER:
        if not re.fullmatch(r"-?\d+", value):
            raise _error(f"Field '{field}' is a number; {match['value']} is not.")
        return f"{column} = ?", [int(value)]
    if field_type == BOOLEAN:
        return f"{column} = ?", [1 if value.lower() == "true" else 0]
    if field_type == REFUNDED:
        if value.lower() == "true":
            return "json_extract(data, '$.refunded') = 1", []
        return (
            "json_extract(data, '$.refunded') = 0 AND json_extract(data, '$.amount_refunded') > 0"
        ), []
    return f"lower({column}) = lower(?)", [value]


def parse(kind: str, query: str) -> tuple[str, list]:
    """The query as a SQL condition on stored objects of `kind`, with its arguments."""
    query = (query or "").strip()
    if not query:
        raise _error("Provide a query parameter with a valid search query string.")
    clauses, args, joins, position = [], [], set(), 0
    while position < len(query):
        match = CLAUSE.match(query, position)
        if not match:
            raise _error(
                f"Invalid query near position {position}: "
                f"{query[position : position + 30]!r}. Queries look like "
                "status:'succeeded' AND amount>1000."
            )
        sql, values = _clause(kind, match)
        clauses.append(f"NOT ({sql})" if match["negate"] else f"({sql})")
        args.extend(values)
        position = match.end()
        if position < len(query):
            join = CONNECTIVE.match(query, position)
            if not join:
                raise _error(f"Invalid query near position {position}.")
            joins.add((join.group(1) or "AND").upper())
            position = join.end()
    if len(joins) > 1:
        raise _error("A search query cannot mix AND and OR.")
    if len(clauses) > 10:
        raise _error("A search query can have at most 10 clauses.")
    return f" {joins.pop() if joins else 'AND'} ".join(clauses), args


def run(backend: Backend, kind: str, params: dict, url: str) -> str:
    condition, args = parse(kind, params["query"])
    limit = params.get("limit") or 10
    clauses, values = [f"object = ? AND ({condition})"], [kind, *args]
    if params.get("page"):
        try:
            created, seq = json.loads(base64.urlsafe_b64decode(params["page"].encode()))
        except (ValueError, TypeError):
            raise InvalidRequest(
                "Invalid page: use the next_page value of a previous search.", param="page"
            ) from None
        clauses.append("(created, seq) < (?, ?)")
        values.extend([created, seq])
    rows = backend.store.conn.execute(
        f"SELECT data, created, seq FROM objects WHERE {' AND '.join(clauses)} "
        "ORDER BY created DESC, seq DESC LIMIT ?",
        (*values, limit + 1),
    ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_page = None
    if has_more:
        next_page = base64.urlsafe_b64encode(json.dumps(rows[-1][1:]).encode()).decode()
    extra = f'"next_page":{json.dumps(next_page)},'
    body = listing(
        backend, [row[0] for row in rows], has_more, url, params.get("expand"), extra=extra
    )
    return body.replace('{"object":"list"', '{"object":"search_result"', 1)
