from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import ApiToken
from core.errors import NotFoundError


def token_list_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk)


def token_get_for_user(*, token_id: int, user: AbstractBaseUser) -> ApiToken:
    try:
        return token_list_for_user(user=user).get(pk=token_id)
    except ApiToken.DoesNotExist:
        raise NotFoundError("token", token_id) from None
