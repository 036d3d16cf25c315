"""The upload page: the browser sends the bytes straight to S3 through the multipart API."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from web.views.common import group_for, not_found_as_404
from web.views.groups import group_summary


def uploader_config(request: HttpRequest, group_id: int) -> dict[str, object]:
    """What static/web/upload.js needs to know, handed over as JSON in the page."""
    return {
        "groupId": group_id,
        "api": reverse("request-uploads").rsplit("/files/", 1)[0],
        "submitUrl": reverse("web:submit", kwargs={"group_id": group_id}),
        "fileUrl": reverse("web:file", kwargs={"file_id": "00000000-0000-0000-0000-000000000000"}),
        "partsInFlight": settings.WEB_UPLOAD_PARTS_IN_FLIGHT,
        "filesInFlight": settings.WEB_UPLOAD_FILES_IN_FLIGHT,
        "singlePutMaxBytes": settings.WEB_UPLOAD_SINGLE_PUT_MAX_BYTES,
        "maxAttempts": settings.WEB_UPLOAD_MAX_ATTEMPTS,
    }


@login_required
@not_found_as_404
def upload_page(request: HttpRequest, group_id: int) -> HttpResponse:
    group = group_for(request, group_id)
    context = group_summary(request, group) | {"uploader": uploader_config(request, group.pk)}
    return render(request, "web/upload.html", context)
