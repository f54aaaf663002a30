"""Stripe's search query language for charges, customers and PaymentIntents, as SQL.

Supports `field:value` (exact, case-insensitive), `field~"sub"` (substring, 3+ characters),
`>`, `<`, `>=`, `<=` on numbers, `-` to negate, `null`, `metadata["key"]` (single or double
quotes, `\\` escapes a quote), and clauses joined by spaces, `AND` or `OR` (not both, at most
10), as Stripe documents.

The query is read once, left to right, by a tokenizer whose patterns cannot backtrack
(possessive quantifiers), so a hostile query costs time linear in its length. Nothing from
the query becomes SQL text: fields are looked up in FIELDS, and every value, metadata key and
JSON path is a bound parameter.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

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
MAX_CLAUSES = 10
MAX_INTEGER = (1 << 63) - 1

# Token patterns, each anchored at the scanner's position; `*+`/`++` never give back what
# they matched, so a failed match is found in one pass.
FIELD = re.compile(r"[a-z_][a-z0-9_]*+(?:\.[a-z0-9_]++)*+")
OPERATOR = re.compile(r">=|<=|[:~><]")
QUOTED = {
    "'": re.compile(r"'((?:[^'\\]|\\.)*+)'", re.DOTALL),
    '"': re.compile(r'"((?:[^"\\]|\\.)*+)"', re.DOTALL),
}
BARE = re.compile(r"[^\s\"']++")
CONNECTIVE = re.compile(r"\s++(?:(AND|OR)\s++)?+", re.IGNORECASE)
ESCAPE = re.compile(r"\\(.)", re.DOTALL)
INTEGER = re.compile(r"-?[0-9]{1,18}")  # 18 digits always fit SQLite's 64-bit integers


def _error(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="query", code="parameter_invalid_string")


@dataclass
class Clause:
    negate: bool
    field: str
    key: str | None  # the metadata key, for metadata["key"]
    op: str
    value: str
    quoted: bool


class Tokenizer:
    """Reads a query into clauses and the one connective joining them."""

    def __init__(self, query: str):
        self.text = query
        self.position = 0

    def _match(self, pattern: re.Pattern) -> re.Match | None:
        match = pattern.match(self.text, self.position)
        if match:
            self.position = match.end()
        return match

    def _fail(self, expected: str) -> InvalidRequest:
        near = self.text[self.position : self.position + 30]
        return _error(
            f"Invalid query near position {self.position} ({near!r}): expected {expected}. "
            "Queries look like status:'succeeded' AND amount>1000."
        )

    def _quoted(self) -> str | None:
        pattern = QUOTED.get(self.text[self.position : self.position + 1])
        if pattern is None:
            return None
        match = self._match(pattern)
        if match is None:
            raise self._fail("a closing quote")
        return ESCAPE.sub(r"\1", match[1])

    def clause(self) -> Clause:
        negate = self.text.startswith("-", self.position)
        self.position += negate
        key = None
        if self.text.startswith("metadata[", self.position):
            self.position += len("metadata[")
            key = self._quoted()
            if key is None or not self.text.startswith("]", self.position):
                raise self._fail("metadata['key'] with the key in quotes")
            self.position += 1
            field = "metadata"
        else:
            match = self._match(FIELD)
            if match is None:
                raise self._fail("a field name")
            field = match[0]
        op = self._match(OPERATOR)
        if op is None:
            raise self._fail("an operator (:, ~, >, <, >= or <=)")
        value = self._quoted()
        if value is not None:
            return Clause(negate, field, key, op[0], value, True)
        bare = self._match(BARE)
        if bare is None:
            raise self._fail("a value")
        return Clause(negate, field, key, op[0], bare[0], False)

    def clauses(self) -> tuple[list[Clause], str]:
        clauses, joins = [self.clause()], set()
        while self.position < len(self.text):
            join = self._match(CONNECTIVE)
            if join is None:
                raise self._fail("a space, AND or OR between clauses")
            joins.add((join[1] or "AND").upper())
            if len(joins) > 1:
                raise _error("A search query cannot mix AND and OR.")
            if len(clauses) == MAX_CLAUSES:
                raise _error(f"A search query can have at most {MAX_CLAUSES} clauses.")
            clauses.append(self.clause())
        return clauses, joins.pop() if joins else "AND"


def _integer(clause: Clause) -> int:
    if clause.quoted or not INTEGER.fullmatch(clause.value):
        raise _error(
            f"Field '{clause.field}' is compared as a number: {clause.value[:40]!r} is not an "
            "integer of at most 18 digits."
        )
    return int(clause.value)


def _condition(kind: str, clause: Clause) -> tuple[str, list]:
    field, op, value = clause.field, clause.op, clause.value
    field_type = FIELDS[kind].get(field)
    if field_type is None or (field_type == TOKEN) != (clause.key is not None):
        raise _error(
            f"Field '{field}' is an unsupported search field for {kind}s. See "
            "https://stripe.com/docs/search#query-fields-for-"
            + kind.replace("_", "-")
            + "s for a list of supported fields."
        )
    if field_type == TOKEN:
        column, args = (
            "(SELECT value FROM json_each(data, '$.metadata') WHERE key = ?)",
            [clause.key],
        )
    else:
        column, args = "json_extract(data, ?)", ["$." + field]
    if value == "null" and not clause.quoted and op == ":":
        return f"{column} IS NULL", args
    if op in (">", "<", ">=", "<="):
        if field_type != NUMBER:
            raise _error(f"The '{op}' operator needs a numeric field; '{field}' is not one.")
        return f"{column} {op} ?", [*args, _integer(clause)]
    if op == "~":
        if field.split(".")[-1] not in SUBSTRING_FIELDS and field_type != TOKEN:
            raise _error(f"Field '{field}' does not support substring (~) search.")
        if len(value) < 3:
            raise _error("Substring search (~) needs a value of at least 3 characters.")
        return f"instr(lower({column}), lower(?)) > 0", [*args, value]
    if field_type == NUMBER:
        return f"{column} = ?", [*args, _integer(clause)]
    if field_type in (BOOLEAN, REFUNDED):
        if value.lower() not in ("true", "false"):
            raise _error(f"Field '{field}' is true or false, not {value[:40]!r}.")
        if field_type == BOOLEAN:
            return f"{column} = ?", [*args, value.lower() == "true"]
        if value.lower() == "true":
            return "json_extract(data, '$.refunded') = 1", []
        return (
            "json_extract(data, '$.refunded') = 0 AND json_extract(data, '$.amount_refunded') > 0"
        ), []
    return f"lower({column}) = lower(?)", [*args, value]


def parse(kind: str, query: str) -> tuple[str, list]:
    """The query as a SQL condition on stored objects of `kind`, with its arguments."""
    query = (query or "").strip()
    if not query:
        raise _error("Provide a query parameter with a valid search query string.")
    clauses, join = Tokenizer(query).clauses()
    conditions, args = [], []
    for clause in clauses:
        sql, values = _condition(kind, clause)
        conditions.append(f"NOT ({sql})" if clause.negate else f"({sql})")
        args.extend(values)
    return f" {join} ".join(conditions), args


def _page_cursor(page: str) -> tuple[int, int]:
    """The (created, seq) a `next_page` token carries; anything else is a 400."""
    try:
        cursor = json.loads(base64.urlsafe_b64decode(page.encode()))
    except ValueError:
        cursor = None
    if (
        not isinstance(cursor, list)
        or len(cursor) != 2
        or not all(type(n) is int and abs(n) <= MAX_INTEGER for n in cursor)
    ):
        raise InvalidRequest(
            "Invalid page: use the next_page value of a previous search.", param="page"
        )
    return cursor[0], cursor[1]


def run(backend: Backend, kind: str, params: dict, url: str) -> bytes:
    condition, args = parse(kind, params["query"])
    limit = params.get("limit") or 10
    clauses, values = [f"object = ? AND ({condition})"], [kind, *args]
    if params.get("page"):
        clauses.append("(created, seq) < (?, ?)")
        values.extend(_page_cursor(params["page"]))
    rows = backend.store.conn.execute(
        f"SELECT CAST(data AS BLOB), created, seq FROM objects WHERE {' AND '.join(clauses)} "
        "ORDER BY created DESC, seq DESC LIMIT ?",
        (*values, limit + 1),
    ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_page = None
    if has_more:
        next_page = base64.urlsafe_b64encode(json.dumps(rows[-1][1:]).encode()).decode()
    return listing(
        backend,
        [row[0] for row in rows],
        has_more,
        url,
        params.get("expand"),
        kind="search_result",
        extra={"next_page": next_page},
    )
