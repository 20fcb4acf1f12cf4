"""Joining cases and analysts' decisions by case id, on the worker that holds the partition.

The case topic and the feedback topic are co-partitioned (both keyed by case id, the same
number of partitions), so a case and every decision on it land on the same worker. Each case's
review (alerts/feedback.py: its rules, its decisions, how many were counted) is kept in the
review table. A batch's changed reviews go to the table's changelog and are delivered before
the decisions they made due are counted and the batch is acked: a replay after a crash finds
them counted and counts nothing twice.
"""

import logging
from typing import Any

from pydantic import ValidationError

from alerts.feedback import DecisionRefused, Review
from schemas.case import Case
from schemas.control import InvalidControlRecord, decode_control
from schemas.feedback import MAX_FEEDBACK_BYTES, Decision, Feedback
from streams.metrics import Metrics
from streams.outbox import Outbox
from streams.window_store import read_store, write_store

log = logging.getLogger("tradewatch.reviews")


class ReviewAgent:
    """>>> agent = ReviewAgent(table.data, metrics, outbox, changelog, "customs.cases")
    >>> await agent.apply(event)      # a batch of one partition of either topic"""

    def __init__(
        self, data: Any, metrics: Metrics, outbox: Outbox, changelog_topic: str, cases_topic: str
    ) -> None:
        self.data = data
        self.metrics = metrics
        self.outbox = outbox
        self.changelog_topic = changelog_topic
        self.cases_topic = cases_topic

    async def apply(self, event: Any) -> None:
        message = event.message
        partition = message.partition
        is_case = message.topic == self.cases_topic
        reviews: dict[bytes, Review] = {}
        changed: set[bytes] = set()
        due: list[tuple[str, Decision]] = []
        for record in event.value:
            key = record.key
            if not key or not record.value:
                continue
            review = reviews.get(key)
            if review is None:
                review = reviews[key] = Review.decode(read_store(self.data, partition, key))
            before = (review.rules, len(review.decisions), review.counted)
            try:
                if is_case:
                    due += review.with_case(Case.model_validate_json(record.value))
                else:
                    feedback = decode_control(record.value, Feedback, MAX_FEEDBACK_BYTES)
                    due += review.with_feedback(feedback)
            except (ValidationError, InvalidControlRecord):
                continue  # counted and logged by every worker's feedback reader
            except DecisionRefused as exc:
                log.warning("refusing a decision on %s: %s", self.cases_topic, exc)
                self.metrics.control_refused.labels(topic="feedback", reason="too_many").inc()
                continue
            if (review.rules, len(review.decisions), review.counted) != before:
                changed.add(key)
        if changed:
            records = [(key, reviews[key].encode()) for key in sorted(changed)]
            await self.outbox.send_records(self.changelog_topic, partition, records)
            await self.outbox.delivered()
            for key, value in records:
                write_store(self.data, partition, key, value)
        for rule, decision in due:
            self.metrics.decisions.labels(rule=rule, decision=decision.value).inc()
