"""Settings, read once from the process environment and then an explicitly located `.env`.

The `.env` file is never searched for upwards from the current directory: cron, papermill and
Jupyter kernels start in other folders, and a report must not silently pick up another
project's keys. It is the project root's `.env`, or the file named by WORKBENCH_ENV_FILE.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from workbench import sandbox
from workbench.exceptions import ConfigError

PROJECT_ROOT = Path(os.environ.get("WORKBENCH_ROOT") or Path(__file__).resolve().parent.parent)
DEFAULT_SANDBOX_KEY = sandbox.DEFAULT_KEY
KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[0-9A-Za-z_]+$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[0-9A-Za-z]+$")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
ACCOUNT_KEY_PREFIX = "STRIPE_API_KEY__"


def redact(key: str) -> str:
    """`sk_live_...abcd`, `whsec_...abcd`: enough to tell secrets apart, never to use one."""
    match = re.match(r"^([a-z]{2,3}_(?:test|live)_|whsec_)", key or "")
    prefix = match.group(1) if match else ""
    return f"{prefix}...{key[-4:]}" if len(key) > len(prefix) + 8 else f"{prefix}..."


class ApiKey:
    """A key that cannot leak through repr, str or an f-string; `.reveal()` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def mode(self) -> str:
        return "live" if "_live_" in self._value[:8] else "test"

    @property
    def restricted(self) -> bool:
        return self._value.startswith("rk_")

    def __repr__(self) -> str:
        return redact(self._value)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Account:
    """One Stripe account the workbench can read: its name, key and where its API lives."""

    name: str
    key: ApiKey
    profile: str  # "sandbox", "test" or "live"
    api_base: str | None  # None: Stripe itself, or the embedded sandbox for the sandbox profile


@dataclass(frozen=True)
class Settings:
    root: Path
    data_dir: Path
    env_file: Path | None
    accounts: dict[str, Account] = field(repr=False)
    sandbox_key: str = field(default=DEFAULT_SANDBOX_KEY, repr=False)
    allow_live_writes: bool = False
    # STRIPE_WEBHOOK_SECRET: what `workbench listen` verifies Stripe's deliveries with (the
    # endpoint's signing secret, or the one `stripe listen` prints), and signs what it
    # forwards with.
    webhook_secret: ApiKey | None = field(default=None, repr=False)

    def account(self, name: str | None = None) -> Account:
        name = (name or "default").lower()
        if name not in self.accounts:
            known = ", ".join(sorted(self.accounts))
            raise ConfigError(
                f"unknown account {name!r} (known: {known}); set {ACCOUNT_KEY_PREFIX}"
                f"{name.upper()} or add it to WORKBENCH_SANDBOX_ACCOUNTS"
            )
        return self.accounts[name]


def _read_env_file(environ: dict[str, str]) -> tuple[Path | None, dict[str, str]]:
    explicit = environ.get("WORKBENCH_ENV_FILE")
    path = Path(explicit).expanduser() if explicit else PROJECT_ROOT / ".env"
    if not explicit and not path.exists():
        return None, {}
    try:
        with path.open(encoding="utf-8") as stream:
            values = dotenv_values(stream=stream)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not readable as UTF-8 text"
        raise ConfigError(
            f"cannot read the env file {path}: {reason}; fix it or unset WORKBENCH_ENV_FILE"
        ) from None
    return path, {k: v for k, v in values.items() if v is not None}


def _profile(variable: str, value: str) -> str:
    value = value.strip()
    if value.startswith("pk_"):
        raise ConfigError(
            f"{variable} holds a publishable key (pk_...); use a secret (sk_...) "
            "or restricted (rk_...) key"
        )
    if not KEY_PATTERN.match(value):
        raise ConfigError(
            f"{variable} is not a Stripe secret key: expected sk_test_, rk_test_, "
            "sk_live_ or rk_live_ followed by letters and digits"
        )
    return "live" if "_live_" in value[:8] else "test"


def _flag(variable: str, value: str | None) -> bool:
    if value in (None, "", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{variable} must be 1 or 0, not {value!r}")


def load(environ: dict[str, str] | None = None) -> Settings:
    """Resolve settings: process environment first, then the `.env` file, then defaults."""
    environ = dict(os.environ if environ is None else environ)
    env_file, file_values = _read_env_file(environ)
    values = {**file_values, **{k: v for k, v in environ.items() if v != ""}}

    data_dir = Path(values.get("WORKBENCH_DATA_DIR") or PROJECT_ROOT / ".workbench").expanduser()
    api_base = values.get("STRIPE_API_BASE") or None
    if api_base and not re.match(r"^https?://[^\s/]+", api_base):
        raise ConfigError(f"STRIPE_API_BASE must be an http(s) URL, not {api_base!r}")
    sandbox_key = values.get("WORKBENCH_SANDBOX_KEY") or DEFAULT_SANDBOX_KEY
    _profile("WORKBENCH_SANDBOX_KEY", sandbox_key)
    if "_live_" in sandbox_key[:8]:
        raise ConfigError("WORKBENCH_SANDBOX_KEY must be a test key (sk_test_...)")

    accounts: dict[str, Account] = {}
    if values.get("STRIPE_API_KEY"):
        key = values["STRIPE_API_KEY"].strip()
        accounts["default"] = Account(
            "default", ApiKey(key), _profile("STRIPE_API_KEY", key), api_base
        )
    else:
        sandbox_names = [
            n.strip().lower()
            for n in values.get("WORKBENCH_SANDBOX_ACCOUNTS", "").split(",")
            if n.strip()
        ]
        for name in ["default", *sandbox_names]:
            if not NAME_PATTERN.match(name):
                raise ConfigError(
                    f"WORKBENCH_SANDBOX_ACCOUNTS: {name!r} is not a valid account "
                    "name (lowercase letters, digits and _)"
                )
            key = sandbox_key if name == "default" else f"{sandbox_key}_{name}"
            accounts[name] = Account(name, ApiKey(key), "sandbox", api_base)
    for variable, value in sorted(values.items()):
        if variable.startswith(ACCOUNT_KEY_PREFIX):
            name = variable[len(ACCOUNT_KEY_PREFIX) :].lower()
            if not NAME_PATTERN.match(name):
                raise ConfigError(
                    f"{variable}: the account name after '__' must be letters, digits and _"
                )
            accounts[name] = Account(
                name, ApiKey(value.strip()), _profile(variable, value), api_base
            )

    webhook_secret = (values.get("STRIPE_WEBHOOK_SECRET") or "").strip() or None
    if webhook_secret and not WEBHOOK_SECRET_PATTERN.match(webhook_secret):
        raise ConfigError(
            "STRIPE_WEBHOOK_SECRET is not a webhook signing secret: expected whsec_ followed "
            "by letters and digits"
        )

    return Settings(
        root=PROJECT_ROOT,
        data_dir=data_dir,
        env_file=env_file,
        accounts=accounts,
        sandbox_key=sandbox_key,
        allow_live_writes=_flag(
            "WORKBENCH_ALLOW_LIVE_WRITES", values.get("WORKBENCH_ALLOW_LIVE_WRITES")
        ),
        webhook_secret=ApiKey(webhook_secret) if webhook_secret else None,
    )


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data dir on first use, with a one-line error when that is impossible."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A probe of its own: sessions of one process, or several, check at the same time.
        with tempfile.TemporaryFile(dir=settings.data_dir):
            pass
    except OSError as exc:
        raise ConfigError(
            f"WORKBENCH_DATA_DIR {settings.data_dir} cannot be used "
            f"({exc.strerror}); point it at a writable folder"
        ) from None
    return settings.data_dir
