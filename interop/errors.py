"""What the adapters share: an anonymous caller asking for something it may not see is told
to authenticate (401), whether it exists or not; a signed-in caller gets the same 404 for
missing and hidden. Neither answer says whether the thing exists."""

from __future__ import annotations

from core.errors import ApplicationError, NotFoundError
from core.types import AnyUser


class AuthenticationNeededError(ApplicationError):
    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__("not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})


def hidden_or_missing(*, user: AnyUser, error: NotFoundError, what: str) -> ApplicationError:
    if not user.is_authenticated:
        return AuthenticationNeededError(
            f"Authentication needed: the {what} is not public, or does not exist."
        )
    return error
