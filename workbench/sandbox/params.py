"""Stripe's request parameters: bracket-nested form decoding and per-endpoint validation.

Decoding turns `metadata[order_id]=A1&expand[0]=customer` into nested dicts; validation walks
that against an endpoint's declared parameters and answers like Stripe does: unknown names
are `parameter_unknown`, missing ones `parameter_missing`, bad integers
`parameter_invalid_integer`, and an empty string means "unset" where unsetting is allowed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from workbench.sandbox.exceptions import InvalidRequest, ParameterMissing, ParameterUnknown

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
# ASCII digits only: str.isdigit() and `\d` also take "²" and "١", which int() then refuses
# or reads as a number no client meant.
_INTEGER = re.compile(r"-?[0-9]{1,18}")  # 18 digits always fit SQLite's 64-bit integers
_INDEX = re.compile(r"[0-9]{1,6}")
MAX_DEPTH = 8


def decode(text: bytes | str) -> dict:
    """Form or query text -> nested dict; lists stay as {"0": ...} until validation."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(
                "Invalid request: the body is not valid UTF-8. Encode "
                "parameters as UTF-8 application/x-www-form-urlencoded."
            ) from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest(
            "Invalid request: parameters are not valid UTF-8 form encoding."
        ) from None
    result: dict = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise InvalidRequest(
                f"Invalid parameter name: {raw_key!r} has unbalanced brackets.", param=raw_key
            )
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        if len(parts) > MAX_DEPTH:
            raise InvalidRequest(
                f"Invalid parameter name: {raw_key!r} is nested too deeply.", param=raw_key
            )
        _place(result, parts, value, raw_key)
    return result


def _place(target: dict, parts: list[str], value: str, raw_key: str) -> None:
    for part in parts[:-1]:
        if part == "":  # `a[][b]`: append a new dict to the list
            part = str(len(target))
        node = target.get(part)
        if node is None:
            node = target[part] = {}
        if not isinstance(node, dict):
            raise InvalidRequest(
                f"Invalid parameter: {raw_key!r} mixes a value and nested "
                "fields for the same name.",
                param=raw_key,
            )
        target = node
    last = parts[-1]
    if last == "":
        last = str(len(target))
    if isinstance(target.get(last), dict):
        raise InvalidRequest(
            f"Invalid parameter: {raw_key!r} mixes a value and nested fields for the same name.",
            param=raw_key,
        )
    target[last] = value


class Param:
    """A declared parameter; `parse` returns the typed value or raises Stripe's error."""

    def __init__(self, required: bool = False, nullable: bool = True):
        self.required = required
        self.nullable = nullable and not required

    def parse(self, value, name: str):
        if value == "":
            if not self.nullable:
                raise InvalidRequest(
                    f"You passed an empty string for '{name}'. We assume empty values are an "
                    f"attempt to unset a parameter; however '{name}' cannot be unset. You should "
                    f"remove '{name}' from your request or supply a non-empty value.",
                    code="parameter_invalid_empty",
                    param=name,
                )
            return None
        if isinstance(value, dict) and not self.accepts_object:
            raise InvalidRequest(
                f"Invalid {self.kind}: {name} must be a {self.kind}, not an object or list.",
                code=self.invalid_code,
                param=name,
            )
        return self.convert(value, name)

    accepts_object = False
    kind = "string"
    invalid_code = "parameter_invalid_string"

    def convert(self, value, name):
        return value


class Str(Param):
    def __init__(self, *, choices: tuple[str, ...] | None = None, max_length: int = 5000, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.max_length = max_length

    def convert(self, value: str, name: str) -> str:
        if self.choices and value not in self.choices:
            options = ", ".join(f"`{c}`" for c in self.choices)
            raise InvalidRequest(
                f"Invalid {name}: must be one of {options}",
                code="parameter_invalid_string",
                param=name,
            )
        if len(value) > self.max_length:
            raise InvalidRequest(
                f"Invalid string: {name} must be at most {self.max_length} characters",
                code="parameter_invalid_string",
                param=name,
            )
        return value


class Int(Param):
    kind = "integer"
    invalid_code = "parameter_invalid_integer"

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: str, name: str) -> int:
        if not _INTEGER.fullmatch(value):
            raise InvalidRequest(
                f"Invalid integer: {value[:100]}", code="parameter_invalid_integer", param=name
            )
        number = int(value)
        if self.minimum is not None and number < self.minimum:
            raise InvalidRequest(
                f"This value must be greater than or equal to {self.minimum}.",
                code="parameter_invalid_integer",
                param=name,
            )
        if self.maximum is not None and number > self.maximum:
            raise InvalidRequest(
                f"This value must be less than or equal to {self.maximum}.",
                code="parameter_invalid_integer",
                param=name,
            )
        return number


class Bool(Param):
    kind = "boolean"
    invalid_code = "parameter_invalid_boolean"

    def convert(self, value: str, name: str) -> bool:
        if value not in ("true", "false"):
            raise InvalidRequest(
                f"Invalid boolean: {value[:100]}", param=name, code="parameter_invalid_boolean"
            )
        return value == "true"


class Obj(Param):
    """A hash parameter with declared fields (`card[exp_month]`, `address[city]`)."""

    accepts_object = True
    kind = "object"
    invalid_code = "parameter_invalid_object"

    def __init__(self, fields: dict[str, Param], **kwargs):
        super().__init__(**kwargs)
        self.fields = fields

    def convert(self, value, name: str) -> dict:
        if not isinstance(value, dict):
            raise InvalidRequest(
                f"Invalid object: {name} must be an object with fields "
                f"such as {name}[{next(iter(self.fields))}]",
                code="parameter_invalid_object",
                param=name,
            )
        return parse_fields(self.fields, value, prefix=name)


class ListOf(Param):
    """An array, sent as `name[0]=..&name[1]=..` or `name[]=..`."""

    accepts_object = True
    kind = "array"
    invalid_code = "parameter_invalid_array"

    def __init__(self, item: Param, *, max_items: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.item = item
        self.max_items = max_items

    def convert(self, value, name: str) -> list:
        if isinstance(value, str):
            raise InvalidRequest(
                f"Invalid array: {name} must be an array, sent as {name}[0]=...",
                code="parameter_invalid_array",
                param=name,
            )
        if not all(_INDEX.fullmatch(k) for k in value):
            raise InvalidRequest(
                f"Invalid array: {name} must be an array, sent as {name}[0]=...",
                code="parameter_invalid_array",
                param=name,
            )
        if len(value) > self.max_items:
            raise InvalidRequest(
                f"Invalid array: {name} can have at most {self.max_items} items",
                code="parameter_invalid_array",
                param=name,
            )
        items = [value[k] for k in sorted(value, key=int)]
        parsed = [self.item.parse(item, f"{name}[{i}]") for i, item in enumerate(items)]
        if None in parsed:  # `expand[]=`: an empty item unsets nothing
            raise InvalidRequest(
                f"Invalid array: {name} cannot hold an empty value",
                code="parameter_invalid_empty",
                param=name,
            )
        return parsed


class Metadata(Param):
    """Stripe's metadata: 50 keys, 40-character keys, 500-character values, "" unsets a key."""

    accepts_object = True
    kind = "object"

    def convert(self, value, name: str) -> dict:
        if not isinstance(value, dict):
            raise InvalidRequest("Invalid object", code="parameter_invalid_object", param=name)
        result = {}
        for key, item in value.items():
            if isinstance(item, dict):
                raise InvalidRequest(
                    f"Invalid value for {name}[{key}]: metadata values must be strings",
                    code="parameter_invalid_string",
                    param=f"{name}[{key}]",
                )
            if len(key) > 40:
                raise InvalidRequest(
                    f"Metadata keys can be at most 40 characters long. The key "
                    f"'{key[:60]}' is {len(key)} characters.",
                    code="parameter_invalid_string",
                    param=f"{name}[{key[:60]}]",
                )
            if len(item) > 500:
                raise InvalidRequest(
                    f"Metadata values can have up to 500 characters, but you "
                    f"passed in a value that is {len(item)} characters. Invalid "
                    f"value: {item[:40]}...",
                    code="parameter_invalid_string",
                    param=f"{name}[{key}]",
                )
            result[key] = item or None
        if len(result) > 50:
            raise InvalidRequest(
                f"Metadata can have up to 50 keys, but you've set {len(result)}. Email us at "
                "support+metadata@stripe.com for more information.",
                param=name,
            )
        return result


class Created(Param):
    """`created=123` or `created[gte]=...`: a filter on a Unix timestamp."""

    accepts_object = True
    kind = "integer or object"
    invalid_code = "parameter_invalid_integer"

    def convert(self, value, name: str) -> dict:
        if isinstance(value, str):
            return {"eq": Int().convert(value, name)}
        bounds = Obj({op: Int() for op in ("gt", "gte", "lt", "lte")}).convert(value, name)
        return {op: bound for op, bound in bounds.items() if bound is not None}


def parse_fields(fields: dict[str, Param], values: dict, prefix: str = "") -> dict:
    """Validate `values` against `fields`; the result holds only the names that were sent."""
    for key in values:
        if key not in fields:
            raise ParameterUnknown(f"{prefix}[{key}]" if prefix else key)
    result = {}
    for key, spec in fields.items():
        name = f"{prefix}[{key}]" if prefix else key
        if key in values:
            result[key] = spec.parse(values[key], name)
            if result[key] is None and spec.required:
                raise ParameterMissing(name)
        elif spec.required:
            raise ParameterMissing(name)
    return result


EXPAND = ListOf(Str(max_length=200), max_items=30)
LIST = {
    "limit": Int(minimum=1, maximum=100, nullable=False),
    "starting_after": Str(),
    "ending_before": Str(),
    "created": Created(),
    "expand": EXPAND,
}
