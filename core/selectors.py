from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError

from core.errors import NotFoundError
from core.models import Job


def job_get(*, job_id: str | uuid.UUID) -> Job:
    """Jobs are read by their unguessable id alone, so a client can poll without a token."""
    try:
        return Job.objects.get(pk=job_id)
    except (Job.DoesNotExist, ValueError, ValidationError):
        raise NotFoundError("job", job_id) from None
