"""`erase_conversation` (an SMS texter's DELETE, then YES): one conversation and every record of
it go at once, from every store, the same way `navigator purge` deletes them; nothing else goes."""
import time

from sqlalchemy import text

from bot.channels.sms import outbox as sms_outbox
from bot.channels.sms import store as sms_store
from console.audit import record
from conversations.alerts import Alert
from conversations.handoffs import list_handoffs, open_handoff
from conversations.retention import erase_conversation
from infra import db
from tests.privacy.test_purge import file_bytes, save_conversation, sqlite_without_secure_delete, stores


def test_one_conversation_and_all_its_records_are_erased_and_its_words_are_in_no_file(tmp_path, monkeypatch):
    store, tracker_path, directory_path = stores(tmp_path, monkeypatch)
    engine = db.get_engine()
    gone = sms_store.texter_for_phone("+15555550123", engine).conversation_id
    kept = sms_store.texter_for_phone("+15555550124", engine).conversation_id
    save_conversation(store, gone, "zebra-erase-me he hurt me", time.time())
    save_conversation(store, kept, "zebra-keep-me need a lawyer", time.time())
    with db.session_scope() as session:
        handoff = open_handoff(session, gone, "twilio", "emergency", "danger")
        open_handoff(session, kept, "twilio", "request", "request")
        session.add(Alert(handoff_id=handoff.id, priority="emergency", recipients=1, delivered=1))
        record(session, "sam", "claimed", handoff.id)
    sms_outbox.queue_replies(gone, ["waiting for Twilio"], sms_store.utcnow(), engine)

    report = erase_conversation(gone, tracker_engine=sqlite_without_secure_delete(tracker_path))

    assert report.conversations == 1 and report.records["sms_contact"] == 1 and report.records["sms_outbox"] == 1
    assert sms_store.texter_for_conversation(gone, engine) is None
    assert not sms_outbox.has_queued(gone, engine)
    with db.session_scope() as session:
        assert [h.conversation_id for h in list_handoffs(session)] == [kept]
        assert session.query(Alert).count() == 0
        assert session.execute(text("SELECT COUNT(*) FROM audit_log")).scalar() == 0
    tracker_files = file_bytes(tracker_path)
    assert b"zebra-erase-me" not in tracker_files and b"zebra-keep-me" in tracker_files
    assert sms_store.texter_for_conversation(kept, engine).phone == "+15555550124"

