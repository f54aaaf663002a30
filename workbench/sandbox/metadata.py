"""Stripe's metadata rules, the same for every object that carries metadata.

A create or an update merges the given keys into what the object has (nothing, on create);
an empty value removes a key, an empty `metadata` removes them all; at most 50 keys remain.
(Key and value lengths are checked where parameters are read, in `params.Metadata`.)
"""

from __future__ import annotations

from workbench.sandbox.exceptions import InvalidRequest

MAX_KEYS = 50


def merge(current: dict, given: dict | None) -> dict:
    """The object's metadata after `given` (None: all keys unset)."""
    if given is None:
        return {}
    merged = dict(current)
    for key, value in given.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    merged = dict(sorted(merged.items()))  # keys in the order answers list them
    if len(merged) > MAX_KEYS:
        raise InvalidRequest(
            f"Metadata can have up to {MAX_KEYS} keys, but you've set {len(merged)}. "
            "Email us at support+metadata@stripe.com for more information.",
            param="metadata",
        )
    return merged
