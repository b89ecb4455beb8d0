"""Calls to a configured outside service (Supabase Auth, Supabase Storage): transient failures (5xx, no
connection) are retried with exponential backoff (tenacity), then reported as UpstreamUnavailable."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from studio.errors import UpstreamUnavailable

T = TypeVar("T")
log = logging.getLogger("studio.upstream")
TRY_AGAIN = "Try again in a minute; if it keeps failing, check the Supabase project's status page."


class Transient(Exception):
    """A 5xx or a network failure: worth another try."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}" if status else "no connection")
        self.status = status


def with_retries(service: str, op: str, attempt: Callable[[], T], *, attempts: int, retry_wait: float) -> T:
    """Run ``attempt`` (which raises Transient for what is worth retrying) up to ``attempts`` times."""

    def before_sleep(state: Any) -> None:
        log.warning("%s %s failed (%s); retry %d of %d", service, op, state.outcome.exception(), state.attempt_number,
                    attempts - 1)

    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=retry_wait, max=8),
                        retry=retry_if_exception_type(Transient), before_sleep=before_sleep, reraise=True)
    try:
        return retrying(attempt)
    except Transient as e:
        raise UpstreamUnavailable(f"{service} did not answer ({e}) after {attempts} tries.", TRY_AGAIN) from None
