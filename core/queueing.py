"""The one way a service queues a task: after its transaction commits, and without failing the
request when the broker is down. Every task queued here belongs to work that the database
already records (a file `uploaded`, a job `pending`, a deadline); a periodic job finds such work
and queues it again, so a lost message delays the work and never loses it (DESIGN rule 5)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task
from django.db import transaction

from core import availability

logger = logging.getLogger(__name__)


def broker_known_down(url: str) -> bool:
    return availability.known_down("broker", url)


def broker_mark(url: str, *, up: bool) -> None:
    if up:
        availability.mark_up("broker", url)
    else:
        availability.mark_down("broker", url)


def enqueue_on_commit(
    task: Task[Any, Any], *args: Any, eta: datetime | None = None, recovered_by: str
) -> None:
    """Queue `task(*args)` once the current transaction commits. If the broker cannot take it,
    the failure is logged and remembered (the next requests skip the broker for a while) and
    the request answers as if it had been queued: `recovered_by`, the periodic job named, queues
    the recorded work again once the broker is back."""

    def send() -> None:
        broker = str(task.app.conf.broker_url)
        if not task.app.conf.task_always_eager and broker_known_down(broker):
            logger.warning("Broker down: %s%r left to %s.", task.name, args, recovered_by)
            return
        try:
            options: dict[str, Any] = {"eta": eta} if eta else {}
            task.apply_async(args, **options)
        except Exception as exc:
            if task.app.conf.task_always_eager:
                raise  # run inline: the task itself failed, not the broker
            broker_mark(broker, up=False)
            logger.warning(
                "Could not queue %s%r (%s: %s); %s will.",
                task.name,
                args,
                type(exc).__name__,
                exc,
                recovered_by,
            )

    transaction.on_commit(send)
