"""Errors as Stripe answers them: each class knows its HTTP status and its error body."""

from __future__ import annotations

from workbench.sandbox.state import dumps


class SandboxError(Exception):
    """Base of every error the API answers with; never a traceback on the wire."""

    status = 400
    type = "invalid_request_error"
    # Whether the request's writes survive the error (a declined charge is kept as failed).
    persists = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        charge: str | None = None,
        extra: dict | None = None,
        headers: dict | None = None,
        persists: bool | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.charge = charge
        self.extra = extra or {}
        self.headers = headers or {}
        if persists is not None:
            self.persists = persists

    def body(self, request_id: str) -> str:
        error = {"message": self.message, "type": self.type}
        for key in ("code", "param", "decline_code", "charge"):
            if getattr(self, key) is not None:
                error[key] = getattr(self, key)
        if self.code and "doc_url" not in self.extra:
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        error.update(self.extra)
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return dumps({"error": error})


class InvalidRequest(SandboxError):
    status = 400


class ParameterUnknown(InvalidRequest):
    def __init__(self, param: str):
        super().__init__(
            f"Received unknown parameter: {param}", code="parameter_unknown", param=param
        )


class ParameterMissing(InvalidRequest):
    def __init__(self, param: str):
        super().__init__(f"Missing required param: {param}.", code="parameter_missing", param=param)


class ResourceMissing(InvalidRequest):
    status = 404

    def __init__(self, kind: str, object_id: str, param: str = "id"):
        super().__init__(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class SourceNotLinked(InvalidRequest):
    """Stripe's `missing`: a charge names a customer and a source not saved on it."""

    status = 404

    def __init__(self, customer: str, source: str):
        super().__init__(
            f"Customer {customer} does not have a linked source with ID {source}.",
            code="missing",
            param="source",
        )


class UnrecognizedUrl(InvalidRequest):
    status = 404

    def __init__(self, method: str, path: str):
        hint = (
            " If you are trying to list objects, remove the trailing slash. If you are "
            "trying to retrieve an object, make sure you passed a valid (non-empty) "
            "identifier in your code."
            if path.endswith("/") and path != "/"
            else ""
        )
        super().__init__(
            f"Unrecognized request URL ({method}: {path[:200]}).{hint} Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/."
        )


class AuthenticationFailed(InvalidRequest):
    status = 401


class PermissionDenied(InvalidRequest):
    status = 403


class CardError(SandboxError):
    status = 402
    type = "card_error"


class IdempotencyError(SandboxError):
    status = 400
    type = "idempotency_error"


class Conflict(InvalidRequest):
    status = 409


class RateLimited(InvalidRequest):
    status = 429

    def __init__(self):
        super().__init__(
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            headers={"Stripe-Should-Retry": "true"},
        )


class ApiError(SandboxError):
    status = 500
    type = "api_error"

    def __init__(self, message: str = "An unknown error occurred", **kwargs):
        super().__init__(message, **kwargs)
