"""Joining cases and analysts' decisions by case id, on the worker that holds the partition.

The case topic and the feedback topic are co-partitioned (both keyed by case id, the same
number of partitions), so a case and every decision on it land on the same worker. Each case's
review (alerts/feedback.py: its rules, scope and listed entries, its decisions, its
suppressions) is kept in the review table, and it is the gate every suppression passes: only
here is it known whether the case exists and what it found. Its rulings (a suppression in
force, held for a supervisor, revoked or refused) go to the decisions topic, keyed by the
decision's id, which every worker reads whole (streams/feedback_reader.py).

A batch's rulings and changed reviews are delivered before the decisions they made due are
counted and the batch is acked: a replay after a crash finds them counted and counts nothing
twice, and rules again as it did (the same keys, the same values).
"""

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from alerts.errors import StateDecodeError
from alerts.feedback import DecisionRefused, Review, Ruling, Status
from alerts.state.formats import REVIEW
from schemas.case import Case
from schemas.control import InvalidControlRecord, decode_control
from schemas.feedback import MAX_FEEDBACK_BYTES, Decision, Feedback
from streams.outbox import Outbox
from streams.sensors import Sensor
from streams.window_store import delete_store, partition_keys, read_store, write_store

log = logging.getLogger("tradewatch.reviews")


def stored_review(raw: bytes | None) -> Review:
    """A case's review as the table holds it; a new one if none is, or if it is unreadable (a
    bug or a foreign writer: logged, and never a reason to stop the worker)."""
    if not raw:
        return Review()
    try:
        return REVIEW.decode(raw)
    except StateDecodeError as exc:
        log.error("a case's review is unreadable, starting it over: %s", exc)
        return Review()


class ReviewAgent:
    """>>> agent = ReviewAgent(table.data, sensor, outbox, changelog, "customs.cases")
    >>> await agent.apply(event)      # a batch of one partition of either topic"""

    def __init__(
        self,
        data: Any,
        sensor: Sensor,
        outbox: Outbox,
        changelog_topic: str,
        cases_topic: str,
        decisions_topic: str,
    ) -> None:
        self.data = data
        self.sensor = sensor
        self.outbox = outbox
        self.changelog_topic = changelog_topic
        self.cases_topic = cases_topic
        self.decisions_topic = decisions_topic
        self.lock = asyncio.Lock()

    async def sweep(self, partitions: set[int], older_than_ms: int) -> int:
        """Let go of the reviews of these partitions untouched since `older_than_ms` (a
        tombstone each to the changelog, delivered before the store forgets them). Returns how
        many went. A case that old has no suppression left in force: they last a year."""
        removed = 0
        async with self.lock:
            for partition in sorted(partitions):
                stale = []
                for key in partition_keys(self.data, partition):
                    raw = read_store(self.data, partition, key)
                    if raw is not None and stored_review(raw).touched_ms < older_than_ms:
                        stale.append(key)
                if not stale:
                    continue
                await self.outbox.send_records(
                    self.changelog_topic, partition, [(key, None) for key in stale]
                )
                await self.outbox.delivered()
                for key in stale:
                    delete_store(self.data, partition, key)
                removed += len(stale)
        if removed:
            log.info("case reviews: let go of %d untouched since their retention", removed)
        return removed

    async def apply(self, event: Any) -> None:
        async with self.lock:
            await self._apply(event)

    async def _apply(self, event: Any) -> None:
        message = event.message
        partition = message.partition
        is_case = message.topic == self.cases_topic
        reviews: dict[bytes, Review] = {}
        changed: set[bytes] = set()
        due: list[tuple[str, Decision]] = []
        rulings: list[Ruling] = []
        for record in event.value:
            key = record.key
            if not key or not record.value:
                continue
            review = reviews.get(key)
            if review is None:
                review = reviews[key] = stored_review(read_store(self.data, partition, key))
            before = review.encode()
            try:
                if is_case:
                    due += review.with_case(Case.model_validate_json(record.value))
                else:
                    feedback = decode_control(record.value, Feedback, MAX_FEEDBACK_BYTES)
                    self.sensor.on_feedback_read("applied")
                    due += review.with_feedback(feedback)
            except ValidationError:
                continue  # a case the worker itself wrote: not of an older release
            except InvalidControlRecord as exc:
                log.warning("refusing a record on the feedback topic: %s", exc)
                self.sensor.on_feedback_read("invalid")
                self.sensor.on_control_refused("feedback", exc.reason)
                continue
            except DecisionRefused as exc:
                log.warning("refusing a decision on %s: %s", self.cases_topic, exc)
                self.sensor.on_control_refused("feedback", "too_many")
                continue
            taken = review.take_rulings()
            rulings += taken
            if taken or review.encode() != before:
                changed.add(key)
        sent = [r for r in rulings if r.status is not Status.WAITING]
        if sent:
            await self.outbox.send_records(
                self.decisions_topic,
                partition,
                [(r.feedback.feedback_id.encode(), r.encode()) for r in sent],
            )
        records = [(key, REVIEW.encode(reviews[key])) for key in sorted(changed)]
        if records:
            await self.outbox.send_records(self.changelog_topic, partition, records)
        if rulings or records:
            await self.outbox.delivered()
            for key, value in records:
                write_store(self.data, partition, key, value)
        for ruling in rulings:
            log.info(
                "suppression %s: decision=%s case=%s analyst=%s by=%s%s",
                ruling.status.value, ruling.feedback.feedback_id, ruling.feedback.case_id,
                ruling.feedback.analyst, ruling.by,
                f" ({ruling.reason})" if ruling.reason else "",
            )  # fmt: skip
            self.sensor.on_ruling(ruling.status.value)
        for rule, decision in due:
            self.sensor.on_decision(rule, decision.value)
