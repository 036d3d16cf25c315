from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from groups.models import GroupInvitation
from groups.selectors import group_list_for_user, invitation_list_for_user
from web.views.groups import group_summary


def home(request: HttpRequest) -> HttpResponse:
    groups: list[dict[str, Any]] = []
    invitations: list[GroupInvitation] = []
    if request.user.is_authenticated:
        groups = [group_summary(request, g) for g in group_list_for_user(user=request.user)[:20]]
        invitations = list(invitation_list_for_user(user=request.user)[:50])
    return render(request, "home.html", {"groups": groups, "invitations": invitations})
