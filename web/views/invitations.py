"""The signed-in user's invitations to groups: accepted or declined from the start page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from groups.services import group_invitation_accept, group_invitation_decline
from web.views.common import not_found_as_404, signed_in_user


@login_required
@not_found_as_404
@require_POST
def invitation_accept_view(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    invitation = group_invitation_accept(user=signed_in_user(request), invitation_id=invitation_id)
    messages.success(request, f"You joined {invitation.group.name} as {invitation.role}.")
    return redirect("web:home")


@login_required
@not_found_as_404
@require_POST
def invitation_decline_view(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    invitation = group_invitation_decline(user=signed_in_user(request), invitation_id=invitation_id)
    messages.success(request, f"Invitation to {invitation.group.name} declined.")
    return redirect("web:home")
