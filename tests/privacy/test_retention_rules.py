"""Every table that holds conversation data declares its retention rule beside it (infra.retention),
and a purge or an erase refuses to run in a process that has not loaded them all: each process
entry of the navigator loads them (navigator.schema), checked here in a fresh interpreter each."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from infra import retention
from infra.config import ROOT
from infra.db import Base
from navigator import schema

# What survivors said, or what points at it: the tables a purge and an erase must reach.
CONVERSATION_TABLES = {"handoff", "alert", "alert_summary", "audit_log", "sms_contact", "sms_handled_message",
                       "sms_outbox", "sms_twilio_message", "webchat_session"}
ENTRIES = ("navigator.cli", "navigator.serve", "navigator.rasa_server", "navigator.action_server",
           "navigator.console_server")

REPORT = """
import json, sys
import {module}
from infra import retention
from infra.db import Base
print(json.dumps({{"complete": retention.is_complete(),
                   "declared": sorted(rule.name for rule in retention.rules()),
                   "tracker": sorted(rule.name for rule in retention.rules(retention.TRACKER)),
                   "exempt": sorted(retention.exemptions()), "tables": sorted(Base.metadata.tables)}}))
"""


def loaded_by(module: str) -> dict:
    result = subprocess.run([sys.executable, "-c", REPORT.format(module=module)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ENTRIES)
def test_each_process_entry_loads_the_rule_of_every_table_holding_conversation_data(module):
    loaded = loaded_by(module)
    assert loaded["complete"]
    assert set(loaded["declared"]) == CONVERSATION_TABLES and CONVERSATION_TABLES <= set(loaded["tables"])
    assert loaded["tracker"] == ["events"]
    assert set(loaded["declared"]) | set(loaded["exempt"]) == set(loaded["tables"])  # each table said which it is
    assert not set(loaded["declared"]) & set(loaded["exempt"])


def test_a_process_without_the_schema_refuses_to_purge_or_erase(tmp_path):
    """conversations.retention alone (or the console alone) has not loaded the SMS line's tables:
    a purge there would leave texters' numbers, so it raises instead of deleting part."""
    probe = f"""
import sqlalchemy
import console.__main__
from conversations import retention
from infra import retention as rules
engine = sqlalchemy.create_engine("sqlite:///{tmp_path}/x.db")
refused = []
for run in (lambda: retention.purge(30, engine, engine), lambda: retention.erase_conversation("c", engine, engine)):
    try:
        run()
    except rules.RetentionIncomplete:
        refused.append(True)
print(rules.is_complete(), len(refused))
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "2"]


def test_a_table_with_no_rule_and_no_exemption_stops_the_schema():
    notes = sa.MetaData()
    sa.Table("advocate_notes", notes, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("conversation_id", sa.String(64)))
    assert retention.undeclared(notes) == ["advocate_notes"]
    with pytest.raises(retention.RetentionIncomplete, match="advocate_notes"):
        retention.mark_complete(notes)
    assert retention.undeclared(Base.metadata) == []


def test_every_table_naming_a_conversation_or_a_handoff_has_a_rule():
    """A new table keyed by conversation or handoff cannot be exempted by mistake unnoticed."""
    pointing = {table.name for table in Base.metadata.tables.values()
                if {"conversation_id", "handoff_id"} & set(table.columns.keys())}
    assert pointing <= {rule.name for rule in retention.rules()}


def test_the_tracker_rule_reads_columns_rasa_s_own_table_has():
    from rasa.core.tracker_store import SQLTrackerStore

    (rule,) = retention.rules(retention.TRACKER)
    rasa_table = SQLTrackerStore.SQLEvent.__table__
    assert rule.table.name == rasa_table.name
    for column in (rule.time_column, rule.conversation_column):
        assert type(rasa_table.c[column.name].type) is type(column.type)
    assert rule.table.metadata is not Base.metadata  # never created in DATABASE_URL


def test_rows_handed_on_come_first_and_a_handoff_goes_before_the_alerts_it_cascades_to():
    names = [rule.name for rule in retention.rules()]
    assert names[0] == "sms_twilio_message" and retention.rule_for("sms_twilio_message").handler is not None
    assert names.index("handoff") < names.index("alert")


def test_the_console_entry_creates_the_schema_before_the_console_starts(tmp_path, monkeypatch):
    from navigator import console_server

    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    started = []
    monkeypatch.setattr(console_server.console_main, "main",
                        lambda: started.append(set(sa.inspect(sa.create_engine(url)).get_table_names())))
    console_server.main()
    assert started and CONVERSATION_TABLES <= started[0]


def test_serve_starts_the_console_through_its_navigator_entry(tmp_path):
    from navigator import serve

    env = {"ACTION_PORT": "1", "RASA_PORT": "2", "CONSOLE_PORT": "3"}
    try:
        command = serve.commands(tmp_path / "model.tar.gz", env)["console"]
    except KeyError as missing:  # the Rasa command may want more of the environment
        pytest.skip(f"serve.commands needs {missing}")
    assert command == [sys.executable, "-m", "navigator.console_server"]


def test_the_cli_says_when_the_database_cannot_be_set_up(tmp_path, monkeypatch, capsys):
    from navigator.cli import main

    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder}")
    assert main(["tokens", "list"]) == 1
    err = capsys.readouterr().err
    assert "navigator tokens: error: the database could not be set up" in err and "Nothing was changed" in err


def test_schema_is_the_operation_and_infra_db_has_none():
    from infra import db

    assert not hasattr(db, "create_schema") and callable(schema.create_schema)
