"""`navigator serve`'s Supervisor with short-lived stand-ins for its processes (`python -c ...`)
and a clock of the test's own: a process that exits after start-up is restarted after its
backoff wait, the others untouched; the wait doubles, is capped, and starts over once a process
stayed up; each exit and restart is one line; nothing restarts once a stop is asked; stop leaves
no process behind; the status file says what /healthz shows."""
from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time

import pytest

from navigator.serve import Backoff, StatusFile, Supervisor, exit_status, wait_for_start_up
from tests.helpers import wait_until

SLEEPS = [sys.executable, "-c", "import time; time.sleep(60)"]
FAILS = [sys.executable, "-c", "raise SystemExit(3)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def made(tmp_path):
    """Supervisors made by the test, each stopped (and its status file removed) at the end."""
    supervisors, files = [], []

    def make(commands, status=False, **options):
        out = io.StringIO()
        file = StatusFile() if status else None
        if file:
            files.append(file)
        supervisor = Supervisor(commands, {"PATH": "/usr/bin:/bin"}, out=out, status=file, **options)
        supervisor.log, supervisor.file = out, file
        supervisors.append(supervisor)
        return supervisor

    yield make
    for supervisor in supervisors:
        supervisor.stop()
    for file in files:
        file.remove()


def pid(supervisor, name):
    return supervisor.children[name].process.pid


def wait_for_exit(supervisor, name):
    supervisor.children[name].process.wait(10)


def lines(supervisor):
    return supervisor.log.getvalue().splitlines()


def test_the_backoff_doubles_from_one_second_up_to_thirty():
    assert [Backoff().delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_dies_after_start_up_is_restarted_after_its_wait_and_the_others_keep_running(made):
    clock = Clock()
    supervisor = made({"actions": SLEEPS, "rasa": SLEEPS}, clock=clock)
    supervisor.start_all()
    supervisor.started()
    rasa, actions = pid(supervisor, "rasa"), pid(supervisor, "actions")
    supervisor.children["actions"].process.send_signal(signal.SIGKILL)
    wait_for_exit(supervisor, "actions")

    supervisor.watch()
    assert lines(supervisor) == ["navigator serve: actions exited (killed by SIGKILL); restarting it in 1 s"]
    assert supervisor.children["actions"].state == "restarting"
    clock.now += 0.9
    supervisor.watch()
    assert supervisor.children["actions"].process is None  # still waiting
    clock.now += 0.1
    supervisor.watch()
    assert lines(supervisor)[-1] == "navigator serve: actions restarted (restart 1 since navigator serve started)"
    assert pid(supervisor, "actions") != actions and supervisor.children["actions"].process.poll() is None
    assert pid(supervisor, "rasa") == rasa and supervisor.children["rasa"].restarts == 0

    supervisor.watch()  # it answers (the test's `ready` says so at once)
    assert supervisor.children["actions"].state == "up"
    assert lines(supervisor)[-1].startswith("navigator serve: actions answers again, 1.0 s after it exited")


def test_the_wait_doubles_while_a_process_keeps_dying_and_starts_over_once_it_stayed_up(made):
    clock = Clock()
    supervisor = made({"actions": FAILS}, clock=clock, backoff=Backoff(first_s=1, cap_s=4, reset_after_s=60))
    supervisor.start_all()
    supervisor.started()
    waits = []
    for _ in range(5):
        wait_for_exit(supervisor, "actions")
        supervisor.watch()
        waits.append(lines(supervisor)[-1].rsplit(" in ", 1)[1])
        clock.now = supervisor.children["actions"].restart_at
        supervisor.watch()
    assert waits == ["1 s", "2 s", "4 s", "4 s", "4 s"]
    assert all("exited (exit status 3)" in line for line in lines(supervisor) if "exited" in line)
    assert supervisor.children["actions"].restarts == 5

    wait_for_exit(supervisor, "actions")
    clock.now += 60  # this time it had been up a minute when it died
    supervisor.watch()
    assert lines(supervisor)[-1].endswith("restarting it in 1 s")


def test_nothing_is_restarted_once_a_stop_is_asked(made):
    clock = Clock()
    supervisor = made({"actions": FAILS}, clock=clock)
    supervisor.start_all()
    supervisor.started()
    wait_for_exit(supervisor, "actions")
    supervisor.request_stop()
    clock.now += 100
    supervisor.watch()
    supervisor.watch()
    assert supervisor.children["actions"].restarts == 0 and lines(supervisor) == []


def test_a_process_that_exits_during_start_up_stops_start_up_with_its_exit_status(made):
    supervisor = made({"actions": FAILS, "rasa": SLEEPS})
    supervisor.start_all()
    failure = wait_for_start_up(supervisor, {"rasa": "http://127.0.0.1:1/"}, started=time.monotonic())
    assert failure.startswith("actions exited during start-up (exit status 3): stopping everything")


def test_stop_ends_every_process_even_one_that_ignores_sigterm(made, tmp_path):
    ready = tmp_path / "ignoring"
    stubborn = [sys.executable, "-c", "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                      f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"]
    supervisor = made({"console": SLEEPS, "actions": stubborn}, grace_s=0.5)
    supervisor.start_all()
    assert wait_until(ready.exists, 10, interval=0.05)
    processes = [child.process for child in supervisor.children.values()]
    supervisor.stop()
    assert [p.returncode for p in processes] == [-signal.SIGTERM, -signal.SIGKILL]
    assert all(_gone(p.pid) for p in processes)


def _gone(pid: int) -> bool:
    """No such process, not even a zombie waiting to be reaped."""
    return subprocess.run(["ps", "-p", str(pid)], capture_output=True).returncode != 0


def test_the_status_file_names_a_restarting_process_and_counts_restarts(made):
    clock = Clock()
    supervisor = made({"actions": SLEEPS, "console": SLEEPS}, status=True, clock=clock)
    read = lambda: json.loads(supervisor.file.path.read_text())["processes"]  # noqa: E731
    supervisor.start_all()
    assert read() == {"actions": {"state": "starting", "restarts": 0}, "console": {"state": "starting", "restarts": 0}}
    supervisor.started()
    supervisor.children["actions"].process.kill()
    wait_for_exit(supervisor, "actions")
    supervisor.watch()
    assert read()["actions"] == {"state": "restarting", "restarts": 0}
    clock.now += 1
    supervisor.watch()
    assert read()["actions"] == {"state": "restarting", "restarts": 1}
    supervisor.watch()
    assert read() == {"actions": {"state": "up", "restarts": 1}, "console": {"state": "up", "restarts": 0}}
    folder = supervisor.file.folder
    supervisor.file.remove()
    assert not folder.exists()


def test_a_restarted_process_stays_restarting_until_it_answers(made):
    clock, answering = Clock(), []
    supervisor = made({"rasa": SLEEPS}, clock=clock, ready=lambda name: bool(answering))
    supervisor.start_all()
    supervisor.started()
    supervisor.children["rasa"].process.kill()
    wait_for_exit(supervisor, "rasa")
    supervisor.watch()
    clock.now += 1
    supervisor.watch()
    supervisor.watch()
    assert supervisor.children["rasa"].state == "restarting"
    answering.append(True)
    supervisor.watch()
    assert supervisor.children["rasa"].state == "up"


def test_exit_statuses_read_as_an_operator_reads_them():
    assert (exit_status(0), exit_status(2), exit_status(-9), exit_status(-15)) == (
        "exit status 0", "exit status 2", "killed by SIGKILL", "killed by SIGTERM")


def test_a_restart_that_cannot_even_start_the_process_is_tried_again_later(made, tmp_path):
    clock = Clock()
    supervisor = made({"actions": SLEEPS}, clock=clock)
    supervisor.start_all()
    supervisor.started()
    supervisor.children["actions"].process.kill()
    wait_for_exit(supervisor, "actions")
    supervisor.watch()
    supervisor.children["actions"].command = [str(tmp_path / "missing")]
    clock.now += 1
    supervisor.watch()
    assert lines(supervisor)[-1] == "navigator serve: actions could not be started (FileNotFoundError); trying again in 2 s"
    supervisor.children["actions"].command = SLEEPS
    clock.now += 2
    supervisor.watch()
    assert supervisor.children["actions"].process.poll() is None and supervisor.children["actions"].restarts == 1
