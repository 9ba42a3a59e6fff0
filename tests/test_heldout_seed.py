"""The held-out seed: public by default, the instructor's from the environment or a private file, never argv."""
from __future__ import annotations

import os

import pytest

from autograder.errors import UsageError
from autograder.heldout_seed import PUBLIC_SEED, SEED_ENV, read_secret_file, resolve_seed


def _secret(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "seed.txt"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_seed_comes_from_the_file_or_the_environment_else_it_is_public(tmp_path):
    assert resolve_seed(environ={}).value == PUBLIC_SEED and not resolve_seed(environ={}).secret
    from_env = resolve_seed(environ={SEED_ENV: " 2718281828459045\n"})
    assert from_env.value == 2718281828459045 and from_env.secret and from_env.warnings() == []
    assert resolve_seed(secret_file=_secret(tmp_path, "1234567890\n"), environ={}).value == 1234567890
    assert resolve_seed(seed=5, environ={}).warnings(), "a small secret seed is guessable"


@pytest.mark.parametrize("text, fragment", [("seven", "non-negative integer"), ("-3", "not a negative"),
                                            ("", "non-negative integer")])
def test_a_bad_seed_is_a_clear_error_that_does_not_echo_it(tmp_path, text, fragment):
    path = _secret(tmp_path, text)
    with pytest.raises(UsageError, match=fragment) as info:
        read_secret_file(path)
    assert not text or text not in str(info.value).replace(str(path), "<path>")  # the path may hold "-3" by chance
    with pytest.raises(UsageError, match=fragment):
        resolve_seed(environ={SEED_ENV: text or "x"})


def test_a_secret_file_must_be_private_and_not_doubled(tmp_path):
    with pytest.raises(UsageError, match="chmod 600"):
        read_secret_file(_secret(tmp_path, "2718281828459045", mode=0o640))
    with pytest.raises(UsageError, match="cannot be read"):
        read_secret_file(tmp_path / "missing.txt")
    with pytest.raises(UsageError, match="not a regular file"):
        read_secret_file(tmp_path)
    with pytest.raises(UsageError, match="use one"):
        resolve_seed(secret_file=_secret(tmp_path, "2718281828459045"), environ={SEED_ENV: "1"})
    if os.geteuid() == 0:
        path = _secret(tmp_path, "2718281828459045")
        os.chown(path, 65534, 65534)
        with pytest.raises(UsageError, match="must belong to you"):
            read_secret_file(path)
