from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiToken
from core.errors import NotFoundError
from core.types import AnyUser


def token_list_for_user(*, user: AnyUser) -> QuerySet[ApiToken]:
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def token_get_for_user(*, token_id: int, user: AnyUser) -> ApiToken:
    try:
        return token_list_for_user(user=user).get(pk=token_id)
    except ApiToken.DoesNotExist:
        raise NotFoundError("token", token_id) from None
