"""The console's /healthz with `navigator serve`'s status file: a process being restarted makes
it 503 and is named; the restarts are counted in every answer; a console without the file (or
with one it cannot read) answers as it always did."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from navigator.serve import StatusFile
from tests.helpers import free_port, http


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    from tests.helpers import ConsoleProcess

    status = StatusFile()
    process = ConsoleProcess(tmp_path_factory.mktemp("healthz"), SimpleNamespace(port=free_port()),
                             NAVIGATOR_STATUS_FILE=str(status.path))
    yield process, status
    process.stop()
    status.remove()


def healthz(console):
    process, _status = console
    return http("GET", process.base + "/healthz", timeout=10)


def test_without_the_status_file_healthz_answers_as_it_always_did(console):
    console[1].path.unlink(missing_ok=True)
    assert healthz(console) == (200, {"status": "ok"})


def test_every_answer_counts_the_restarts(console):
    console[1].write({"rasa": {"state": "up", "restarts": 0}, "actions": {"state": "up", "restarts": 2},
                      "console": {"state": "up", "restarts": 1}})
    assert healthz(console) == (200, {"status": "ok", "restarts": {"rasa": 0, "actions": 2, "console": 1}})


def test_a_process_being_restarted_is_named_with_a_503(console):
    console[1].write({"rasa": {"state": "up", "restarts": 0}, "actions": {"state": "restarting", "restarts": 3},
                      "console": {"state": "up", "restarts": 0}})
    assert healthz(console) == (503, {"status": "unavailable", "actions": "restarting",
                                      "restarts": {"rasa": 0, "actions": 3, "console": 0}})


def test_an_unreadable_status_file_is_ignored(console):
    console[1].path.write_text("{not json")
    assert healthz(console) == (200, {"status": "ok"})
