"""Frontdesk's error tree; adapters translate vendor exceptions into it.

AppError
+-- RetryableError          the same request may succeed later
|   +-- DependencyUnavailable   Redis, RabbitMQ, the LLM ... is down
|   +-- DependencyTimeout       a dependency did not answer in time
+-- PermanentError          retrying cannot help
    +-- InvalidInput            the caller sent something wrong
    +-- NotFound                no such session, turn, document ...
    +-- Conflict                the resource's state forbids it (a ticket another agent holds)
    +-- Unauthorized            missing or wrong credentials
    +-- Forbidden               valid credentials whose role may not do this
    +-- TooManyRequests         a limit was reached; retry after a pause
"""

from __future__ import annotations


class AppError(Exception):
    """Base of every error Frontdesk raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(AppError):
    """The operation may succeed if tried again later."""


class DependencyUnavailable(RetryableError):
    """A backing service is down or unreachable."""


class DependencyTimeout(RetryableError):
    """A backing service did not answer in time."""


class PermanentError(AppError):
    """Trying again with the same input cannot succeed."""


class InvalidInput(PermanentError):
    """The request is malformed or out of bounds."""


class NotFound(PermanentError):
    """The addressed resource does not exist for this tenant."""


class Conflict(PermanentError):
    """The resource is in a state that forbids the request."""


class Unauthorized(PermanentError):
    """Credentials are missing or wrong."""


class Forbidden(PermanentError):
    """The credentials are valid but their role may not do this."""


class TooManyRequests(PermanentError):
    """A rate or concurrency limit was reached."""

    def __init__(
        self, message: str, retry_after: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}
