"""Configuration: resolution order, profiles from key prefixes, redaction, bad input."""

from __future__ import annotations

import pytest

from workbench import config
from workbench.exceptions import ConfigError

LIVE = "sk_live_" + "A1b2C3d4" * 4
TEST = "sk_test_" + "Z9y8X7w6" * 4


def env_file(tmp_path, text: str):
    path = tmp_path / "settings.env"
    path.write_text(text)
    return {"WORKBENCH_ENV_FILE": str(path), "WORKBENCH_DATA_DIR": str(tmp_path / "data")}


def test_no_key_is_the_sandbox_profile(tmp_path):
    settings = config.load({"WORKBENCH_DATA_DIR": str(tmp_path)})
    account = settings.account()
    assert account.profile == "sandbox"
    assert account.key.reveal() == "sk_test_workbench"
    assert account.api_base is None


@pytest.mark.parametrize(
    ("key", "profile"),
    [
        ("sk_test_abc123", "test"),
        ("rk_test_abc123", "test"),
        ("sk_live_abc123", "live"),
        ("rk_live_abc123", "live"),
    ],
)
def test_profile_comes_from_the_key_prefix(tmp_path, key, profile):
    settings = config.load({"STRIPE_API_KEY": key, "WORKBENCH_DATA_DIR": str(tmp_path)})
    assert settings.account().profile == profile
    assert settings.account().key.restricted == key.startswith("rk_")


def test_process_environment_wins_over_env_file(tmp_path):
    environ = env_file(tmp_path, f"STRIPE_API_KEY={LIVE}\nSTRIPE_API_BASE=http://file:1\n")
    environ["STRIPE_API_KEY"] = TEST
    settings = config.load(environ)
    assert settings.account().key.reveal() == TEST
    assert settings.account().api_base == "http://file:1"
    assert settings.env_file == tmp_path / "settings.env"


def test_env_file_is_not_searched_upwards(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"STRIPE_API_KEY={LIVE}\n")
    nested = tmp_path / "notebooks"
    nested.mkdir()
    monkeypatch.chdir(nested)
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "elsewhere")
    settings = config.load({"WORKBENCH_DATA_DIR": str(tmp_path / "data")})
    assert settings.account().profile == "sandbox"
    assert settings.env_file is None


def test_project_root_env_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"STRIPE_API_KEY={TEST}\n")
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    settings = config.load({})
    assert settings.account().key.reveal() == TEST
    assert settings.data_dir == tmp_path / ".workbench"


def test_named_accounts(tmp_path):
    settings = config.load(
        {
            "STRIPE_API_KEY": TEST,
            "STRIPE_API_KEY__EU_SHOP": LIVE,
            "WORKBENCH_DATA_DIR": str(tmp_path),
        }
    )
    assert sorted(settings.accounts) == ["default", "eu_shop"]
    assert settings.account("EU_SHOP").profile == "live"


def test_sandbox_accounts_get_derived_keys(tmp_path):
    settings = config.load(
        {"WORKBENCH_SANDBOX_ACCOUNTS": "eu, jp", "WORKBENCH_DATA_DIR": str(tmp_path)}
    )
    assert settings.account("jp").key.reveal() == "sk_test_workbench_jp"
    assert settings.account("jp").profile == "sandbox"


def test_unknown_account_is_a_clear_error(tmp_path):
    settings = config.load({"WORKBENCH_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="unknown account 'shop'.*STRIPE_API_KEY__SHOP"):
        settings.account("shop")


@pytest.mark.parametrize(
    "bad",
    [
        "sk_testZq7Secret",
        "sk_demo_Zq7Secret",
        "pk_test_Zq7Secret",
        "sk_live_Zq7 Secret",
        "'sk_test_Zq7Secret'",
        "Zq7Secret",
    ],
)
def test_malformed_keys_name_the_variable_and_never_echo_it(tmp_path, bad):
    with pytest.raises(ConfigError) as caught:
        config.load({"STRIPE_API_KEY__SHOP": bad, "WORKBENCH_DATA_DIR": str(tmp_path)})
    message = str(caught.value)
    assert "STRIPE_API_KEY__SHOP" in message
    assert "Zq7" not in message
    assert "\n" not in message


def test_unreadable_env_file(tmp_path):
    path = tmp_path / "binary.env"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read the env file"):
        config.load({"WORKBENCH_ENV_FILE": str(path)})
    with pytest.raises(ConfigError, match="cannot read the env file"):
        config.load({"WORKBENCH_ENV_FILE": str(tmp_path / "missing.env")})


def test_data_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = config.load({"WORKBENCH_DATA_DIR": str(blocker / "data")})
    with pytest.raises(ConfigError, match="WORKBENCH_DATA_DIR .* cannot be used"):
        config.ensure_data_dir(settings)
    assert blocker.read_text() == "not a folder"


def test_redaction_shows_only_prefix_and_last_four():
    assert config.redact(LIVE) == "sk_live_..." + LIVE[-4:]
    key = config.ApiKey(LIVE)
    for text in (repr(key), str(key), f"{key}", repr(config.Account("x", key, "live", None))):
        assert LIVE[8:-4] not in text
    settings = config.load({"STRIPE_API_KEY": LIVE, "WORKBENCH_DATA_DIR": "/tmp/x"})
    assert LIVE[8:-4] not in repr(settings)


def test_live_writes_flag(tmp_path):
    assert config.load({"WORKBENCH_DATA_DIR": str(tmp_path)}).allow_live_writes is False
    assert (
        config.load(
            {"WORKBENCH_ALLOW_LIVE_WRITES": "1", "WORKBENCH_DATA_DIR": str(tmp_path)}
        ).allow_live_writes
        is True
    )
    with pytest.raises(ConfigError, match="WORKBENCH_ALLOW_LIVE_WRITES must be 1 or 0"):
        config.load({"WORKBENCH_ALLOW_LIVE_WRITES": "maybe"})


def test_webhook_secret_is_read_checked_and_redacted(tmp_path):
    secret = "whsec_" + "Q1w2E3r4" * 4
    settings = config.load({"STRIPE_WEBHOOK_SECRET": secret, "WORKBENCH_DATA_DIR": str(tmp_path)})
    assert settings.webhook_secret.reveal() == secret
    assert repr(settings.webhook_secret) == "whsec_..." + secret[-4:]
    assert secret[6:-4] not in repr(settings)
    assert config.load({"WORKBENCH_DATA_DIR": str(tmp_path)}).webhook_secret is None
    with pytest.raises(ConfigError, match="not a webhook signing secret") as caught:
        config.load({"STRIPE_WEBHOOK_SECRET": "sk_test_" + "x" * 20})
    assert "x" * 20 not in str(caught.value)
