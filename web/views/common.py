"""What every page view shares: the acting user, 404s for hidden objects, service errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from core.errors import NotFoundError
from groups.models import Group
from groups.selectors import group_get_for_user

View = TypeVar("View", bound=Callable[..., HttpResponse])
PAGE_SIZE = 50


def not_found_as_404(view: View) -> View:
    """Selectors answer NotFoundError for missing and hidden objects alike; pages answer 404."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as exc:
            raise Http404(exc.message) from exc

    return cast(View, wrapper)


def signed_in_user(request: HttpRequest) -> User:
    """The user of a view behind login_required."""
    return cast(User, request.user)


def group_for(request: HttpRequest, group_id: int) -> Group:
    return group_get_for_user(group_id=group_id, user=request.user)


def paginate(request: HttpRequest, items: QuerySet[Any] | list[Any]) -> Page[Any]:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
