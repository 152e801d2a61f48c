"""Append-only, hash-chained history. One chain per case ('' for engine-wide events such as deployments).

Each event stores the hash of the previous event of its chain; ``verify`` recomputes the chain, so an edited,
deleted or re-ordered event is detected. A unique (chain, seq) constraint makes two concurrent appends to one
chain conflict (and be retried) instead of forking it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence.models import HistoryEvent, ProcessInstance
from engine.types import ChainReport

GENESIS = "0" * 64


@dataclass
class PendingEvent:
    event_type: str
    instance_id: str | None = None
    actor: str | None = None
    task_id: str | None = None
    activity_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical_payload(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_json_default, separators=(",", ":"))


def event_hash(prev_hash: str, chain: str, seq: int, event_type: str, actor: str | None, timestamp: datetime,
               instance_id: str | None, task_id: str | None, activity_id: str | None, payload: str) -> str:
    material = json.dumps(
        [prev_hash, chain, seq, event_type, actor, timestamp.isoformat(timespec="microseconds"),
         instance_id, task_id, activity_id, payload],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def append(uow: Any, events: list[PendingEvent], now: datetime, cases: dict[str, Any] | None = None) -> None:
    """Append ``events`` to their chains. ``cases`` maps instance id -> its (locked) process_instance row, whose
    ``history_seq``/``history_head`` hold the chain head, so no query is needed for a case's chain."""
    session: Session = uow.session
    cases = cases or {}
    heads: dict[str, tuple[int, str]] = {}
    for ev in events:
        chain = ev.instance_id or ""
        if chain and chain not in cases:
            row = session.get(ProcessInstance, chain)
            if row is not None:
                cases[chain] = row
        if chain not in heads and chain in cases:
            heads[chain] = (cases[chain].history_seq or 0, cases[chain].history_head or GENESIS)
        if chain not in heads:
            last = session.execute(
                select(HistoryEvent.seq, HistoryEvent.hash).where(HistoryEvent.chain == chain)
                .order_by(HistoryEvent.seq.desc()).limit(1)
            ).first()
            heads[chain] = (last[0], last[1]) if last else (0, GENESIS)
        seq, prev = heads[chain]
        seq += 1
        payload = canonical_payload(ev.payload)
        digest = event_hash(prev, chain, seq, ev.event_type, ev.actor, now, ev.instance_id, ev.task_id,
                            ev.activity_id, payload)
        uow.insert(HistoryEvent.__table__, chain=chain, seq=seq, event_type=ev.event_type, actor=ev.actor,
                   timestamp=now, instance_id=ev.instance_id, task_id=ev.task_id, activity_id=ev.activity_id,
                   payload=payload, prev_hash=prev, hash=digest)
        heads[chain] = (seq, digest)
    for chain, (seq, digest) in heads.items():
        if chain in cases:
            cases[chain].history_seq, cases[chain].history_head = seq, digest


def verify_chain(session: Session, chain: str) -> ChainReport:
    rows = session.scalars(select(HistoryEvent).where(HistoryEvent.chain == chain).order_by(HistoryEvent.seq)).all()
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainReport(chain, len(rows), False, row.seq, f"event {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainReport(chain, len(rows), False, row.seq, "previous-hash link broken")
        digest = event_hash(prev, chain, row.seq, row.event_type, row.actor, row.timestamp, row.instance_id,
                            row.task_id, row.activity_id, row.payload)
        if digest != row.hash:
            return ChainReport(chain, len(rows), False, row.seq, "event content does not match its hash")
        prev = row.hash
    return ChainReport(chain, len(rows), True)
