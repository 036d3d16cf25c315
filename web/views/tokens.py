"""Personal API tokens: create (the token is shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import token_get_for_user, token_list_for_user
from accounts.services import token_create, token_revoke
from core.errors import ApplicationError
from web.forms import TokenCreateForm
from web.views.common import not_found_as_404, signed_in_user

# The raw token waits in the (server-side) session for the one page that shows it; never in a
# message, whose default storage is a cookie.
NEW_TOKEN_KEY = "web.new_token"  # noqa: S105 - a session key, not a secret


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = token_create(
            user=signed_in_user(request),
            name=form.cleaned_data["name"],
            lifetime=timedelta(days=form.cleaned_data["expires_in_days"]),
        )
        request.session[NEW_TOKEN_KEY] = {"id": issued.token.pk, "raw": issued.raw}
        return redirect("web:tokens")
    context = {
        "form": form,
        "tokens": token_list_for_user(user=request.user),
        "new_token": request.session.pop(NEW_TOKEN_KEY, None),
    }
    return render(request, "web/tokens.html", context)


@login_required
@not_found_as_404
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = token_get_for_user(token_id=token_id, user=request.user)
    try:
        token_revoke(token=token, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token {token.prefix}… revoked; it no longer works.")
    return redirect("web:tokens")
