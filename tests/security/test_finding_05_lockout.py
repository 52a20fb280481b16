"""Finding 5: one address locked every advocate out.

The attack: a stranger who knows (or guesses) an advocate's sign-in name types wrong passwords
for it, from one address or from many. Sign-in used to lock the NAME after 5 failures from
anywhere, with no way around it, so five requests kept any advocate out of the console for 15
minutes, and again and again; behind a proxy without Sanic's proxy setting every request also
seemed to come from the proxy, so one address's failures counted against everyone.

What must happen: the guesser's own (name, address) pair is locked, and an address spraying
many names is locked; the name itself is only slowed (each attempt waits a little longer),
so the advocate, with the right password from an address that has not failed, still signs in.
And production mode does not start without knowing how clients' addresses are told apart
(Sanic's proxy setting, or NAVIGATOR_NO_PROXY=1 for clients that connect directly).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from console.accounts import LockoutPolicy, sign_in_delay
from infra import production
from infra.config import ROOT
from tests.helpers import Browser, console_with_advocates

WRONG = "not the password at all"
ADVOCATES_OWN_ADDRESS = "198.51.100.7"


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    """A console behind a proxy it is told of (SANIC_PROXIES_COUNT=1), so addresses come from
    X-Forwarded-For; 3 failures lock a pair, 6 an address; a name is slowed after 3 failures,
    by at most 0.01 s here (the waits themselves are not what these tests measure)."""
    process = console_with_advocates(tmp_path_factory.mktemp("lockout"), rasa, ("maria",), SANIC_PROXIES_COUNT="1",
                                     CONSOLE_LOCKOUT_ATTEMPTS="3", CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS="6",
                                     CONSOLE_SIGN_IN_SLOW_AFTER="3", CONSOLE_SIGN_IN_MAX_DELAY_SECONDS="0.01",
                                     RATE_LIMIT_SIGN_IN_BURST="100", RATE_LIMIT_SIGN_IN_PER_MINUTE="100")
    yield process
    process.stop()


class From(Browser):
    """A browser at one address (as the proxy says, in X-Forwarded-For)."""

    def __init__(self, base: str, address: str):
        super().__init__(base)
        self.address = address

    def request(self, method, path, form=None, headers=None):
        return super().request(method, path, form, {"X-Forwarded-For": self.address, **(headers or {})})


def advocate_signs_in(console) -> bool:
    advocate = From(console.base, ADVOCATES_OWN_ADDRESS)
    status, _ = advocate.sign_in("maria")
    return status == 303 and advocate.get("/")[0] == 200


def test_a_strangers_failures_from_one_address_lock_only_that_address_for_that_name(console):
    stranger = From(console.base, "203.0.113.66")
    answers = [stranger.sign_in("maria", WRONG)[0] for _ in range(3)]
    assert answers == [401, 401, 429]
    status, page = stranger.sign_in("maria")  # even the right password, from there: locked
    assert status == 429 and "Too many tries" in page
    assert advocate_signs_in(console)


def test_a_strangers_failures_from_many_addresses_only_slow_the_name_down(console):
    for number in range(1, 6):  # 10 failures for the name, none of the 5 addresses locked yet
        stranger = From(console.base, f"203.0.113.{number}")
        assert [stranger.sign_in("maria", WRONG)[0] for _ in range(2)] == [401, 401]
    with console.session() as session:  # each attempt for the name now waits, up to the maximum set
        assert sign_in_delay(session, "maria", LockoutPolicy(slow_after=3, max_delay_seconds=10)) == 10
    assert advocate_signs_in(console)


def test_an_address_spraying_many_names_is_locked_and_the_advocate_is_not(console):
    sprayer = From(console.base, "203.0.113.99")
    answers = [sprayer.sign_in(name, WRONG)[0] for name in ("ana", "ben", "cleo", "dev", "eli", "fay")]
    assert answers[-1] == 429 and sprayer.sign_in("maria")[0] == 429
    assert advocate_signs_in(console)


def test_the_advocates_own_typos_lock_only_their_own_pair_for_a_while(console):
    advocate = From(console.base, "198.51.100.8")
    assert [advocate.sign_in("maria", WRONG)[0] for _ in range(3)] == [401, 401, 429]
    assert From(console.base, "198.51.100.9").sign_in("maria")[0] == 303  # their phone, say


PRODUCTION = {"NAVIGATOR_ENV": "production", "NAVIGATOR_SECRET_KEY": "s" * 43, "RASA_API_TOKEN": "r" * 43,
              "CONSOLE_PUBLIC_URL": "https://console.example.org"}


def test_production_does_not_start_behind_a_proxy_it_was_not_told_of(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SANIC_") and k not in ("NAVIGATOR_NO_PROXY", "CONSOLE_COOKIE_SECURE")}
    env.update(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/navigator.db")
    result = subprocess.run([sys.executable, "-m", "console"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("console: not starting")]
    assert "no proxy setting" in line and "SANIC_PROXIES_COUNT" in line and "NAVIGATOR_NO_PROXY=1" in line
    for told in ({"SANIC_PROXIES_COUNT": "1"}, {"SANIC_REAL_IP_HEADER": "X-Real-IP"}, {"NAVIGATOR_NO_PROXY": "1"}):
        assert production.problems({**PRODUCTION, **told}) == []  # told either way, it starts
