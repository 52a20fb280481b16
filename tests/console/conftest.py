"""Fixtures for the console: a running console process on its own database, with a stand-in for
Rasa's HTTP API that records every call (`rasa`, tests/conftest.py), and browser-like clients
(cookies, CSRF tokens). The classes behind them are in tests/helpers.py."""
from __future__ import annotations

import pytest
from sqlalchemy import delete

from console.accounts import LoginFailure
from tests.helpers import Browser, console_with_advocates


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    """A console whose unclaimed-handoff notice is far away (tests of it start their own)."""
    process = console_with_advocates(tmp_path_factory.mktemp("console"), rasa, ("maria", "jun"),
                                     HANDOFF_UNCLAIMED_MINUTES="600",
                                     CONSOLE_LOCKOUT_ATTEMPTS="3", CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS="6")
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_earlier_failures(request):
    """Each test starts with no failed sign-ins counted (all tests come from one address)."""
    if "console" in request.fixturenames:
        with request.getfixturevalue("console").session() as session:
            session.execute(delete(LoginFailure))
    yield


@pytest.fixture
def browser(console):
    return Browser(console.base)


@pytest.fixture
def maria(console, rasa):
    """A browser signed in as the advocate maria; Rasa's call log starts empty."""
    browser = Browser(console.base)
    status, _ = browser.sign_in("maria")
    assert status == 303
    assert browser.get("/")[0] == 200  # the session's CSRF token, for the forms
    rasa.take_calls()
    return browser
