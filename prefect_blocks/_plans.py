"""One implementation per task, driven by a sync or an async client.

A task's work is written once as a *plan*: a generator that yields :class:`Call` (a core client
method to call), :class:`Shared` (a wait run in the process's shared loop, where every wait of the
process shares the core's watchers and request budget) or :class:`Pause` (a wait) and receives the
call's result. :func:`run_plan` drives it
with the sync ``WACloud`` client, :func:`arun_plan` with ``AsyncWACloud``; the core gives both the same
surface, so the sync task and its async twin differ only in the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wacloud_integrations.waiting import arun_shared, run_shared

from ._keys import aresolve_root
from .credentials import WACloudCredentials

__all__ = ["Call", "CredentialsLike", "Pause", "Plan", "Shared", "arun_plan", "run_plan"]

R = TypeVar("R")
CredentialsLike = WACloudCredentials | str
"""A credentials block, or the name of a saved one (handy as a deployment parameter)."""


@dataclass(frozen=True)
class Call:
    """Call ``client.<resource>.<method>(*args, **kwargs)``."""

    resource: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def target(self, client: Any) -> Any:
        """The bound client method."""
        return getattr(getattr(client, self.resource), self.method)


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` (with the client's own sleep)."""

    seconds: float


@dataclass(frozen=True)
class Shared:
    """Run the core's ``func(client.config, *args, **kwargs)`` in the process's shared loop.

    Prefect runs sync tasks in worker threads and may run mapped async tasks in loops of their own;
    the shared loop (:mod:`wacloud_integrations.waiting`) makes every wait of the process, sync or
    async, subscribe to the same watchers and take turns in the same request budget.
    """

    func: Callable[..., Coroutine[Any, Any, Any]]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Step = Call | Pause | Shared
Plan = Generator[Step, Any, R]


def _checked(name: str, block: Any) -> WACloudCredentials:
    if not isinstance(block, WACloudCredentials):
        raise TypeError(f"block {name!r} is a {type(block).__name__}, not WACloudCredentials")
    return block


def _credentials(credentials: CredentialsLike) -> WACloudCredentials:
    if isinstance(credentials, WACloudCredentials):
        return credentials
    return _checked(credentials, WACloudCredentials.load(credentials, _sync=True))  # type: ignore[call-arg]


async def _acredentials(credentials: CredentialsLike) -> WACloudCredentials:
    if isinstance(credentials, WACloudCredentials):
        return credentials
    return _checked(credentials, await WACloudCredentials.aload(credentials))


def run_plan(credentials: CredentialsLike, plan: Plan[R]) -> R:
    """Run ``plan`` with a sync client built from ``credentials``."""
    with _credentials(credentials).get_client() as client:
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Pause):
                        client.sleep(step.seconds)
                        reply = None
                    elif isinstance(step, Shared):
                        reply = run_shared(step.func(client.config, *step.args, **step.kwargs))
                    else:
                        reply = step.target(client)(*step.args, **step.kwargs)
                except Exception as exc:
                    step = plan.throw(exc)  # the plan decides: handle it or let it propagate
                else:
                    step = plan.send(reply)
        except StopIteration as done:
            return done.value


async def arun_plan(credentials: CredentialsLike, plan: Plan[R]) -> R:
    """Run ``plan`` with an async client built from ``credentials``."""
    await aresolve_root()  # the plan's key derivation then finds the root flow run without blocking
    async with (await _acredentials(credentials)).get_async_client() as client:
        try:
            step = next(plan)
            while True:
                try:
                    if isinstance(step, Pause):
                        await client.sleep(step.seconds)
                        reply = None
                    elif isinstance(step, Shared):
                        reply = await arun_shared(step.func(client.config, *step.args, **step.kwargs))
                    else:
                        reply = await step.target(client)(*step.args, **step.kwargs)
                except Exception as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(reply)
        except StopIteration as done:
            return done.value
