"""Re-sealing every sealed row under the current secret (`navigator rekey`, navigator.rekey), so
that a previous secret (NAVIGATOR_SECRET_KEY_PREVIOUS, infra.secret_key) can be dropped.

Which columns are sealed is declared where each table is declared, on the column itself
(SQLAlchemy's `Column.info`): `{"sealed_with": LABEL}` for a value sealed by
`secret_key.fernet(LABEL)`, and `{"keyed_hash_of": (COLUMN, LABEL)}` for a keyed hash of the
opened value of a sealed column of the same row. So a new sealed column is re-keyed without
anyone remembering to add it here, and the module that owns a table stays its only author.

A row no secret opens is never deleted here or anywhere for that reason: it is counted (an ERROR
log line with counts, never content) and kept, so that bringing the missing secret back in
NAVIGATOR_SECRET_KEY_PREVIOUS makes it usable again. `navigator.schema.create_schema` runs
`navigator.rekey.rekey_at_start_up` (so `make setup` and each start re-key while previous secrets
are set), and `navigator purge` reports `scan`'s counts.

In the bottom layer because it reads only `Base` and the keys: the purge (conversations.retention)
counts with `scan` what no secret opens, and must not import the operations layer to do so.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Optional

from cryptography.fernet import InvalidToken
from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Engine

from infra import secret_key
from infra.db import Base, get_engine

logger = logging.getLogger(__name__)

SEALED_WITH = "sealed_with"
KEYED_HASH_OF = "keyed_hash_of"
PAGE = 500


@dataclass
class RekeyReport:
    resealed: dict[str, int] = field(default_factory=dict)  # rows moved to the current secret (or due to, on a scan)
    unreadable: dict[str, int] = field(default_factory=dict)  # rows no secret opens: kept
    superseded: dict[str, int] = field(default_factory=dict)  # hash taken by a newer row of the same value

    @property
    def unreadable_total(self) -> int:
        return sum(self.unreadable.values())

    def lines(self, scan: bool = False) -> list[str]:
        moved = "still under a previous secret" if scan else "re-sealed under the current secret"
        out = [f"{moved}: {sum(self.resealed.values())}" + _per_table(self.resealed),
               f"no secret opens (kept): {self.unreadable_total}" + _per_table(self.unreadable)]
        if any(self.superseded.values()):
            out.append(f"kept under a previous secret's hash (a newer record has the same value): "
                       f"{sum(self.superseded.values())}" + _per_table(self.superseded))
        return out


def _per_table(counts: dict[str, int]) -> str:
    shown = [f"{table} {count}" for table, count in counts.items() if count]
    return f" ({', '.join(shown)})" if shown else ""


def sealed_tables():
    """(table, {sealed column: label}, {hash column: (sealed column, label)}) of every table declaring one."""
    for table in Base.metadata.sorted_tables:
        sealed = {column.name: column.info[SEALED_WITH] for column in table.columns if SEALED_WITH in column.info}
        if sealed:
            hashed = {column.name: column.info[KEYED_HASH_OF] for column in table.columns
                      if KEYED_HASH_OF in column.info}
            yield table, sealed, hashed


def rekey(engine: Optional[Engine] = None, dry_run: bool = False) -> RekeyReport:
    """Re-seal (and re-hash) every row sealed under a previous secret with the current one;
    with `dry_run`, only count. Rows no secret opens are counted and kept."""
    engine = engine or get_engine()
    inspector = inspect(engine)
    report = RekeyReport()
    for table, sealed, hashed in sealed_tables():
        if not inspector.has_table(table.name):
            continue
        key = list(table.primary_key.columns)[0]
        resealed = unreadable = superseded = 0
        last = None
        while True:
            with engine.begin() as connection:
                query = select(key, *(table.c[name] for name in (*sealed, *hashed))).order_by(key).limit(PAGE)
                rows = connection.execute(query if last is None else query.where(key > last)).mappings().all()
                for row in rows:
                    changes, lost = {}, False
                    for name, label in sealed.items():
                        token = (row[name] or "").encode()
                        try:
                            new_token = secret_key.reseal(label, token)
                        except InvalidToken:
                            lost = True
                            continue
                        if new_token is not None:
                            changes[name] = new_token.decode()
                        for hash_name, (source, hash_label) in hashed.items():
                            if source != name:
                                continue
                            value = secret_key.fernet(label).decrypt(token).decode()
                            current = secret_key.keyed_hash(hash_label, value)
                            if row[hash_name] == current:
                                continue
                            if connection.execute(select(key).where(table.c[hash_name] == current)).first():
                                superseded += 1  # the texter came back under the new secret alone
                            else:
                                changes[hash_name] = current
                    unreadable += lost
                    if changes:
                        resealed += 1
                        if not dry_run:  # only if nobody changed the row meanwhile
                            connection.execute(update(table).where(key == row[key.name], *(
                                table.c[name] == row[name] for name in changes)).values(**changes))
            if len(rows) < PAGE:
                break
            last = rows[-1][key.name]
        report.resealed[table.name] = resealed
        report.unreadable[table.name] = unreadable
        report.superseded[table.name] = superseded
    if report.unreadable_total:
        logger.error("sealed rows that no secret opens, kept (NAVIGATOR_SECRET_KEY changed without "
                     "NAVIGATOR_SECRET_KEY_PREVIOUS?): %s", _per_table(report.unreadable).strip(" ()"))
    return report


def scan(engine: Optional[Engine] = None) -> RekeyReport:
    """Counts only: rows still under a previous secret, rows no secret opens."""
    return rekey(engine, dry_run=True)
