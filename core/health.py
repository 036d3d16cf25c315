"""Liveness of the three parts seqvault needs: database, object store, task broker. Each probe
answers within a couple of seconds (S3_HEALTH_TIMEOUT_SECONDS), and its answer starts or ends the
outage memo that requests consult (core.availability)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_storage() -> str:
    from filesharing import s3

    s3.bucket_probe()
    return "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "inline"
    import redis

    from core.queueing import broker_mark

    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    except redis.RedisError:
        broker_mark(settings.CELERY_BROKER_URL, up=False)
        raise
    finally:
        client.close()
    broker_mark(settings.CELERY_BROKER_URL, up=True)
    return "ok"


CHECKS = {"database": check_database, "storage": check_storage, "broker": check_broker}


def health_report() -> tuple[bool, dict[str, str]]:
    report: dict[str, str] = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as exc:
            healthy = False
            report[name] = f"down: {type(exc).__name__}"
    return healthy, report


def storage_capabilities() -> dict[str, object] | None:
    """What the object store checks and the integrity path taken there; None when unknown."""
    from filesharing.services.storage import storage_capabilities_report

    try:
        return storage_capabilities_report()
    except Exception:
        return None
