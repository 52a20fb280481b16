"""The one secret (NAVIGATOR_SECRET_KEY, else var/secret_key) and the keys derived from it."""
import stat

import pytest

from infra import secret_key


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("NAVIGATOR_SECRET_KEY", raising=False)
    path = tmp_path / "var" / "secret_key"
    monkeypatch.setattr(secret_key, "KEY_FILE", path)
    return path


def test_without_the_variable_a_secret_is_made_once_kept_private_and_reused(key_file):
    first = secret_key.secret_key()
    assert not secret_key.secret_key_is_configured()
    assert key_file.read_text().strip().encode() == first and len(first) >= secret_key.MIN_CHARS
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret_key._kept_secret.cache_clear()  # as a new process would
    assert secret_key.secret_key() == first


def test_the_variable_wins_and_must_be_long_enough(key_file, monkeypatch):
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "x" * 32)
    assert secret_key.secret_key_is_configured() and secret_key.secret_key() == b"x" * 32
    assert not key_file.exists()
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "too-short")
    with pytest.raises(secret_key.SecretKeyError, match="at least 32"):
        secret_key.secret_key()


def test_each_use_gets_its_own_key_and_a_new_secret_changes_them_all(key_file, monkeypatch):
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "s" * 40)
    hmac_key, fernet_key = secret_key.derived_key("use one"), secret_key.derived_key("use two")
    assert hmac_key != fernet_key and len(hmac_key) == 32
    assert secret_key.keyed_hash("use one", "+15555550123") == secret_key.keyed_hash("use one", "+15555550123")
    sealed = secret_key.fernet("use two").encrypt(b"+15555550123")
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "t" * 40)
    assert secret_key.derived_key("use one") != hmac_key
    with pytest.raises(Exception):
        secret_key.fernet("use two").decrypt(sealed)


def test_previous_secrets_open_and_find_but_only_the_current_one_seals_and_hashes(key_file, monkeypatch):
    old, new = "o" * 40, "n" * 40
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", old)
    sealed_old, hash_old = secret_key.fernet("use").encrypt(b"+15555550123"), secret_key.keyed_hash("h", "x")
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", new)
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY_PREVIOUS", f"  {'p' * 40},\n{old} ")  # commas and/or white space
    assert secret_key.previous_secrets() == [b"p" * 40, old.encode()]
    assert secret_key.fernet("use").decrypt(sealed_old) == b"+15555550123"
    assert secret_key.keyed_hashes("h", "x")[0] == secret_key.keyed_hash("h", "x") != hash_old
    assert hash_old in secret_key.keyed_hashes("h", "x")
    resealed = secret_key.reseal("use", sealed_old)
    assert resealed is not None and secret_key.reseal("use", resealed) is None  # now under the current one
    monkeypatch.delenv("NAVIGATOR_SECRET_KEY_PREVIOUS")
    assert secret_key.fernet("use").decrypt(resealed) == b"+15555550123"
    with pytest.raises(Exception):
        secret_key.fernet("use").decrypt(sealed_old)
    with pytest.raises(Exception):
        secret_key.reseal("use", sealed_old)
