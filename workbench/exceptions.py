"""One base class, so the CLI and notebooks can tell our errors (one line, fixable) from bugs."""


class WorkbenchError(Exception):
    """An error the user can fix; its message is one line that says how."""


class ConfigError(WorkbenchError):
    """A setting in the environment or `.env` is missing, malformed or unusable."""


class LiveWriteRefused(WorkbenchError):
    """A write was attempted with a live key without WORKBENCH_ALLOW_LIVE_WRITES=1."""


class CurrencyError(WorkbenchError, ValueError):
    """An unknown currency code, or an amount that is not whole minor units."""
