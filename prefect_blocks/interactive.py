"""A flow run paused (or suspended) until a person answers on WhatsApp, and the resumer that resumes it.

:func:`pause_for_answer` asks with the :func:`~prefect_blocks.tasks.ask_question` task (the key comes
from the run, so a re-run finds the question instead of asking again), records the waiting run in a
Prefect **Variable** ``wacloud_question_<flow run id>`` (the question's JSON and the flow run id), then
pauses the run (``pause_flow_run``) or suspends it (``suspend_flow_run``, which holds no worker) with
``wait_for_input=`` :class:`WhatsAppAnswer`.

:class:`Resumer` reads those Variables, waits for each question's answer on the core's shared watchers
(one inbound read per device and interval for every waiting run, then the one rule of
``wacloud_integrations.questions``), and calls ``resume_flow_run(id, run_input=answer)``: the flow gets
the answer as its typed run input. It then deletes the Variable. It runs inside the webhook bridge
(``wacloud-prefect-bridge --credentials BLOCK``) or on its own (``wacloud-prefect-resumer --credentials
BLOCK``). Why Variables: a paused run's state carries no data of ours, labels can't be searched from a
client, and a Variable is readable by any process that can reach the server, survives restarts of
the resumer, and is visible in the UI.

Outcomes (docs/waiting.md): answered → the :class:`WhatsAppAnswer`; expired → the pause ends at the
question's expiry and the helper raises the core's ``QuestionExpiredError``; timed out → the helper
raises :class:`~prefect_blocks.errors.WaitTimedOutError`. Both end the run ``Failed``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.variables import Variable

from wacloud_integrations import QuestionExpiredError, WaitTimeoutError
from wacloud_integrations.masking import mask_phone
from wacloud_integrations.questions import Question, QuestionKind
from wacloud_integrations.waiting import run_shared, wait_for_answer
from wacloud_integrations.watchers import at_most

from ._logging import configure_logging, run_logger
from ._plans import CredentialsLike, _acredentials, _credentials
from .errors import WaitTimedOutError
from .tasks import ask_question

__all__ = [
    "VARIABLE_PREFIX",
    "Resumer",
    "WhatsAppAnswer",
    "check_credentials",
    "main",
    "pause_for_answer",
    "pending",
    "waiting_runs",
]

VARIABLE_PREFIX = "wacloud_question_"
_SCAN_LIMIT = 200  # Variables read per page


class WhatsAppAnswer(RunInput):
    """The WhatsApp answer as a paused flow run's typed input (the fields of the core's ``Answer``).

    ``choice`` is the chosen id (a key of the question's ``choices``); ``text`` is what the person
    sent: untrusted input, with one-time codes masked.
    """

    question_id: str
    choice: str
    text: str
    from_number: str
    answered_at: datetime
    message_id: str

    def __repr__(self) -> str:
        return (
            f"WhatsAppAnswer(question_id={self.question_id!r}, choice={self.choice!r}, "
            f"from_number={mask_phone(self.from_number)!r})"
        )

    __str__ = __repr__


def variable_name(flow_run_id: UUID | str) -> str:
    """The Variable that records the question a flow run waits for."""
    return VARIABLE_PREFIX + UUID(str(flow_run_id)).hex


def pause_for_answer(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    timeout: int = 3600,
    suspend: bool = False,
    poll_interval: int = 10,
) -> WhatsAppAnswer:
    """Ask ``to`` on WhatsApp, then pause this flow run until the answer comes; return the answer.

    Call it from a (sync) flow. ``suspend=True`` suspends instead of pausing: the process exits and
    holds no worker; the run needs a deployment and persisted results, and runs again from the start
    when resumed (the question is then found, not asked again, and the answer is returned). The run is
    resumed by :class:`Resumer` (the bridge with ``--credentials``, or ``wacloud-prefect-resumer``);
    from the UI it can be resumed by hand with the same fields. ``timeout`` (seconds) bounds the pause;
    with ``expires_in`` the pause ends at the question's expiry at the latest. ``poll_interval`` (seconds,
    Prefect's ``pause_flow_run`` default of 10) is how often the paused run checks whether it was
    resumed, one read of the flow run each: the answer continues the run at most that long after the
    resumer resumed it.

    Raises the core's ``QuestionExpiredError`` when the question expired unanswered and
    :class:`~prefect_blocks.errors.WaitTimedOutError` when ``timeout`` ran out.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("pause_for_answer pauses a flow run: call it inside a flow")
    asked = ask_question(
        credentials,
        to,
        text=text,
        choices=choices,
        kind=kind,
        synonyms=synonyms,
        device_id=device_id,
        expires_in=expires_in,
    )
    question = Question.model_validate(asked)
    flow_run_id = context.flow_run.id
    name = variable_name(flow_run_id)
    record = {"flow_run_id": str(flow_run_id), "question": question.model_dump(mode="json")}
    # overwrite: a re-run of a suspended flow writes the same record again
    Variable.set(name, record, tags=["wacloud"], overwrite=True, _sync=True)  # type: ignore[call-arg]
    limit = min(timeout, expires_in) if expires_in else timeout
    key = f"wacloud-{question.message_id}"
    run_logger().info(
        "Waiting for the WhatsApp answer of %s to question %s (%s)",
        mask_phone(question.to),
        question.message_id,
        "suspended" if suspend else "paused",
    )
    try:
        if suspend:
            answer = suspend_flow_run(wait_for_input=WhatsAppAnswer, timeout=limit, key=key)
        else:
            answer = pause_flow_run(
                wait_for_input=WhatsAppAnswer, timeout=limit, poll_interval=poll_interval, key=key
            )
    except FlowPauseTimeout:
        _forget(name)
        if expires_in and limit == expires_in:
            raise QuestionExpiredError(f"question {question.message_id} expired unanswered") from None
        raise WaitTimedOutError(f"question {question.message_id} was not answered within {limit}s") from None
    _forget(name)
    if not isinstance(answer, WhatsAppAnswer):  # pragma: no cover - Prefect returns the typed input
        answer = WhatsAppAnswer.model_validate(answer)
    run_logger().info(
        "WhatsApp question %s answered %r by %s",
        question.message_id,
        answer.choice,
        mask_phone(answer.from_number),
    )
    return answer


def _forget(name: str) -> None:
    Variable.unset(name, _sync=True)  # type: ignore[call-arg]


async def pending() -> list[dict[str, Any]]:
    """Every recorded waiting run: ``{"flow_run_id": …, "question": {…}}`` (the Variables' values)."""
    found: list[dict[str, Any]] = []
    async with get_client() as client:
        offset = 0
        while True:
            response = await client._client.post(
                "/variables/filter",
                json={
                    "variables": {"name": {"like_": VARIABLE_PREFIX + "%"}},
                    "offset": offset,
                    "limit": _SCAN_LIMIT,
                },
            )
            page = response.json()
            for item in page:
                value = item.get("value")
                if isinstance(value, dict) and "flow_run_id" in value and "question" in value:
                    found.append(value)
            if len(page) < _SCAN_LIMIT:
                return found
            offset += len(page)


async def _ended_runs(run_ids: list[str]) -> list[str]:
    """Those of ``run_ids`` whose flow run is gone or final: one read per page of runs, not one per run."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    alive: set[str] = set()
    async with get_client() as client:
        for start in range(0, len(run_ids), _SCAN_LIMIT):
            page = [UUID(run_id) for run_id in run_ids[start : start + _SCAN_LIMIT]]
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=len(page)
            )
            alive.update(str(run.id) for run in runs if run.state is not None and not run.state.is_final())
    return [run_id for run_id in run_ids if run_id not in alive]


def _digits(number: str | None) -> str:
    return "".join(ch for ch in (number or "") if ch.isdigit())


async def waiting_runs(from_number: str, device_id: str | None = None) -> list[str]:
    """The ids of the flow runs waiting for an answer from ``from_number`` (on ``device_id``)."""
    sender = _digits(from_number)
    runs = []
    for entry in await pending():
        question = entry["question"]
        if _digits(question.get("to")) != sender:
            continue
        if device_id and question.get("device_id") and question["device_id"] != device_id:
            continue
        runs.append(str(entry["flow_run_id"]))
    return runs


class Resumer:
    """Resumes flow runs paused by :func:`pause_for_answer` when their WhatsApp answer arrives.

    :meth:`scan` reads the recorded waiting runs and starts one wait per new question on the core's
    shared watchers; :meth:`run` scans every ``rescan`` seconds until ``stop`` is set. A run that is
    not paused yet (the answer beat the pause) is tried again at the next scan; a run that ended
    another way (cancelled, timed out, crashed) has its record deleted at the next scan, answered or not.
    """

    def __init__(self, credentials: CredentialsLike, *, interval: float = 3.0, rescan: float = 5.0) -> None:
        self.credentials = credentials
        self.interval = interval
        self.rescan = rescan
        self.resumed: list[str] = []
        self._answers: dict[str, dict[str, Any]] = {}  # flow run id → answer, found but not yet resumed
        self._watching: dict[str, asyncio.Task[None]] = {}
        self._expired: set[str] = set()  # flow runs whose question expired unanswered
        # A run's watch and a scan may both try to resume it: one resume at a time per run.
        self._resuming: set[str] = set()
        # (run, question) whose resume request was sent but its answer lost (Prefect's API failed):
        # the next try looks the run up instead of trusting "not paused" to mean "not paused yet".
        self._unknown: set[tuple[str, str]] = set()
        self._done: set[tuple[str, str]] = set()  # (run, question) resumed: never resumed again
        self._logger = run_logger()

    async def scan(self) -> None:
        """One pass: start waits for new questions, resume runs whose answer came, drop stale records."""
        config = (await _acredentials(self.credentials)).client_config()
        entries = {str(e["flow_run_id"]): e for e in await pending()}
        # A run cancelled, timed out or crashed while it waited never deletes its record (its process
        # is gone): drop it now, or the bridge would name it on the approver's messages forever.
        for run_id in await _ended_runs(list(entries)):
            self._logger.info("flow run %s ended before its answer came; its record is dropped", run_id)
            self._answers.pop(run_id, None)
            self._expired.discard(run_id)
            del entries[run_id]
            await Variable.aunset(variable_name(run_id))
        for run_id, task in list(self._watching.items()):
            if run_id not in entries:
                task.cancel()
                del self._watching[run_id]
        for run_id, entry in entries.items():
            asked = str(entry["question"].get("message_id"))
            if (run_id, asked) in self._done:  # resumed; only forgetting its record failed
                await Variable.aunset(variable_name(run_id))
                continue
            if self._answers.get(run_id, {}).get("question_id") not in (None, asked):
                del self._answers[run_id]  # the run paused again, for another question
            if run_id in self._answers:
                await self._resume(run_id, self._answers[run_id])
            elif run_id in self._expired:  # no answer can come: the record goes once the run ended
                continue
            elif run_id not in self._watching or self._watching[run_id].done():
                self._watching[run_id] = asyncio.create_task(self._watch(config, run_id, entry["question"]))

    async def _watch(self, config: Any, run_id: str, question: dict[str, Any]) -> None:
        try:
            answer = await wait_for_answer(config, question, interval=self.interval, timeout=None)
        except (QuestionExpiredError, WaitTimeoutError):
            self._logger.info(
                "question %s expired: flow run %s ends at its pause timeout",
                question.get("message_id"),
                run_id,
            )
            self._expired.add(run_id)
            return
        except Exception as exc:  # a permanent error: try again at the next scan
            self._logger.warning(
                "waiting for question %s failed: %s", question.get("message_id"), type(exc).__name__
            )
            return
        self._answers[run_id] = answer.model_dump(mode="json")
        await self._resume(run_id, self._answers[run_id])

    async def _ended(self, run_id: str) -> bool:
        """Whether the flow run is gone or in a final state."""
        from prefect.exceptions import ObjectNotFound

        async with get_client() as client:
            try:
                run = await client.read_flow_run(UUID(run_id))
            except ObjectNotFound:
                return True
        return run.state is None or run.state.is_final()

    async def _resume(self, run_id: str, answer: dict[str, Any]) -> None:
        """Resume the run with ``answer`` once: a second caller meanwhile (the watch and a scan) returns,
        and a run already resumed with it is never resumed again."""
        key = (run_id, str(answer.get("question_id")))
        if run_id in self._resuming or key in self._done:
            return
        self._resuming.add(run_id)
        try:
            if not await self._resume_once(run_id, answer, key):
                return  # not paused yet, or the outcome is unknown: the next scan tries again
        finally:
            self._resuming.discard(run_id)
        self._done.add(key)
        self._unknown.discard(key)
        self._answers.pop(run_id, None)
        await Variable.aunset(variable_name(run_id))

    async def _resume_once(self, run_id: str, answer: dict[str, Any], key: tuple[str, str]) -> bool:
        """One try; True when the run is done with (resumed, or no longer waiting)."""
        from prefect.client.schemas import SetStateStatus
        from prefect.exceptions import ObjectNotFound

        async with get_client() as client:
            try:
                run = await client.read_flow_run(UUID(run_id))
            except ObjectNotFound:
                run = None
            if run is not None and run.state is not None and run.state.is_paused():
                try:
                    response = await client.resume_flow_run(UUID(run_id), run_input=answer)
                except Exception as exc:  # sent, answer lost: it may have been resumed
                    self._unknown.add(key)
                    self._logger.warning(
                        "resuming flow run %s: outcome unknown (%s); looked up at the next scan",
                        run_id,
                        type(exc).__name__,
                    )
                    return False
                if response.status == SetStateStatus.ACCEPT:
                    self._resumed(run_id, answer)
                else:
                    reason = getattr(response.details, "reason", None)
                    self._logger.warning("flow run %s could not be resumed: %s", run_id, reason)
                return True
        if key in self._unknown and run is not None:
            # Our resume was sent and the run has left its pause since: that resume took.
            self._resumed(run_id, answer)
            return True
        if run is not None and run.state is not None and not run.state.is_final():
            return False  # not paused yet (the answer beat the pause): the next scan tries again
        self._logger.info("flow run %s is no longer waiting; its record is dropped", run_id)
        return True

    def _resumed(self, run_id: str, answer: dict[str, Any]) -> None:
        self.resumed.append(run_id)
        self._logger.info("flow run %s resumed with answer %r", run_id, answer.get("choice"))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Scan every ``rescan`` seconds until ``stop`` is set (forever without one)."""
        stop = stop or asyncio.Event()
        # Said once at the start: until a run is resumed the resumer is otherwise silent, and a user
        # cannot tell it is running (or with which intervals).
        self._logger.info(
            "resumer started: waiting runs read every %ss, answers checked every %ss",
            self.rescan,
            self.interval,
        )
        try:
            while not stop.is_set():
                try:
                    await self.scan()
                except Exception as exc:  # the server restarting: try again at the next scan
                    self._logger.warning("resumer scan failed: %s", type(exc).__name__)
                with contextlib.suppress(asyncio.TimeoutError):
                    await at_most(stop.wait(), self.rescan)
        finally:
            for task in self._watching.values():
                task.cancel()


def check_credentials(parser: argparse.ArgumentParser, name: str) -> None:
    """Stop the command at once when ``--credentials`` names no saved ``WACloudCredentials`` block.

    Without this a mistyped name gave a resumer that logged a failed scan every few seconds and resumed
    nothing. A server that does not answer yet is not refused here: the resumer waits for it (scans
    go on), as it does when the server restarts.
    """
    try:
        _credentials(name)
    except (TypeError, ValueError):  # Prefect: no block of that name and type, or its fields are invalid
        parser.error(
            "--credentials: no valid WACloudCredentials block is saved under that name on the Prefect "
            "server at PREFECT_API_URL; save one first: WACloudCredentials(api_key=...).save(NAME)"
        )
    except Exception:  # the server not answering (yet): the resumer's scans wait for it
        return


def main(argv: Sequence[str] | None = None) -> int:
    """``wacloud-prefect-resumer``: run :class:`Resumer` until stopped."""
    parser = argparse.ArgumentParser(
        prog="wacloud-prefect-resumer",
        description="Resume Prefect flow runs paused by pause_for_answer when the WhatsApp answer arrives.",
    )
    parser.add_argument("--credentials", required=True, help="name of a saved WACloudCredentials block")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between inbound checks")
    parser.add_argument("--rescan", type=float, default=5.0, help="seconds between reads of waiting runs")
    args = parser.parse_args(argv)
    check_credentials(parser, args.credentials)

    configure_logging("INFO")
    # the process's shared loop (the core's), where every wait of the process shares the watchers
    run_shared(Resumer(args.credentials, interval=args.interval, rescan=args.rescan).run())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
