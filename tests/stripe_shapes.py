"""Check a JSON object against the attributes the pinned `stripe` package declares.

The expected shape is read from the installed client's annotations (`stripe.Charge` and its
nested classes), never hand-listed, so a client upgrade that adds a field fails the tests
until the sandbox returns it.
"""

from __future__ import annotations

import ast
import decimal
import importlib
import inspect
import sys
import types
import typing
from functools import cache

from stripe._stripe_object import StripeObject


@cache
def _namespace(module_name: str) -> dict[str, object]:
    """The module's globals plus what it imports only under TYPE_CHECKING (forward refs)."""
    module = sys.modules[module_name]
    names = dict(vars(module))
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    imported = importlib.import_module(statement.module)
                    for alias in statement.names:
                        if hasattr(imported, alias.name):
                            names[alias.asname or alias.name] = getattr(imported, alias.name)
    return names


@cache
def declared(cls: type) -> dict[str, object]:
    """Attribute name -> type for a StripeObject class, ClassVars excluded."""
    namespace = _namespace(cls.__module__)
    own = cls.__dict__.get("__annotations__", {})
    hints = {
        name: typing._eval_type(
            typing.ForwardRef(hint) if isinstance(hint, str) else hint, namespace, None
        )
        for name, hint in own.items()
    }
    return {
        name: hint
        for name, hint in hints.items()
        if typing.get_origin(hint) is not typing.ClassVar and not name.startswith("_")
    }


def _is_stripe_class(hint: object) -> bool:
    return inspect.isclass(hint) and issubclass(hint, StripeObject)


def problems(value: object, hint: object, path: str) -> list[str]:
    """Every way `value` departs from `hint`, as 'path: what' lines (empty when it conforms)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return []
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return [] if type(None) in args else [f"{path}: null where not allowed"]
        options = [a for a in args if a is not type(None)]
        if isinstance(value, dict) and "object" in value:
            typed = [
                a
                for a in options
                if _is_stripe_class(a) and getattr(a, "OBJECT_NAME", None) == value["object"]
            ]
            if typed:
                return problems(value, typed[0], path)
        attempts = [problems(value, option, path) for option in options]
        if any(not found for found in attempts):
            return []
        return min(attempts, key=len)
    if value is None:
        return [f"{path}: null where {hint} is declared"]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} not among {args}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a bool"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an int"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if hint is decimal.Decimal:  # Stripe sends decimals as strings ("1250.5")
        try:
            decimal.Decimal(value if isinstance(value, str) else "x")
        except decimal.InvalidOperation:
            return [f"{path}: {value!r} is not a decimal string"]
        return []
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, item in enumerate(value) for p in problems(item, args[0], f"{path}[{i}]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        return [p for k, item in value.items() for p in problems(item, args[1], f"{path}.{k}")]
    if inspect.isclass(origin) and issubclass(origin, StripeObject):
        # ListObject[X], SearchResultObject[X], UntypedStripeObject[str] (metadata)
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        if origin.__name__ == "UntypedStripeObject":
            return [p for k, item in value.items() for p in problems(item, args[0], f"{path}.{k}")]
        found = (
            [f"{path}: object is {value.get('object')!r}, not 'list'"]
            if value.get("object") not in ("list", "search_result")
            else []
        )
        return found + [
            p
            for i, item in enumerate(value.get("data", []))
            for p in problems(item, args[0], f"{path}.data[{i}]")
        ]
    if _is_stripe_class(hint):
        return conform(value, hint, path)
    return [f"{path}: cannot check against {hint}"]


# Attributes Stripe's API reference marks "not included by default": present only when
# asked for with expand[], so their absence is right (the client raises AttributeError).
INCLUDABLE = {
    "Charge": {"refunds"},
    "Session": {"line_items"},
    "Invoice": {"payments"},
    "Customer": {
        "cash_balance",
        "invoice_credit_balance",
        "sources",
        "subscriptions",
        "tax",
        "tax_ids",
    },
}


# Objects that carry, beside their `type`, "an additional hash ... with a name matching this
# value" (Stripe's PaymentMethod reference); the hashes of the other types are left out, as in
# Stripe's own fixtures (stripe/openapi, fixtures3.json).
TYPED = {
    "Charge.PaymentMethodDetails",
    "Dispute.PaymentMethodDetails",
    "PaymentMethod",
    "Refund.DestinationDetails",
}


def _other_type_hash(cls: type, obj: dict, name: str, hint: object) -> bool:
    """Whether `name` is the hash of a type other than `obj`'s, in an object of TYPED: a
    nested object, named among the types where the client lists them (PaymentMethod.type)."""
    if cls.__qualname__ not in TYPED or name == obj.get("type"):
        return False
    literals = [a for a in typing.get_args(declared(cls)["type"]) if typing.get_origin(a)]
    if literals and name not in typing.get_args(literals[0]):
        return False
    options = [a for a in typing.get_args(hint) if a is not type(None)]
    return len(options) == 1 and _is_stripe_class(options[0])


def conform(obj: object, cls: type, path: str | None = None) -> list[str]:
    """Problems of `obj` as an instance of `cls`: missing attributes and wrong types."""
    path = path or cls.__name__
    if not isinstance(obj, dict):
        return [f"{path}: expected an object, got {type(obj).__name__}"]
    found = []
    optional = INCLUDABLE.get(cls.__name__, set())
    for name, hint in declared(cls).items():
        if name not in obj and (name in optional or _other_type_hash(cls, obj, name, hint)):
            continue
        if name not in obj:
            found.append(f"{path}.{name}: missing")
        else:
            found.extend(problems(obj[name], hint, f"{path}.{name}"))
    return found
