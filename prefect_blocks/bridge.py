"""``wacloud-prefect-bridge``: a small receiver that turns WACloud webhook deliveries into Prefect events.

Prefect webhooks are a Prefect Cloud feature; on a self-hosted server this bridge takes their place.
It verifies each delivery's HMAC signature with the core (``parse_event``), answers 401 to anything
unsigned, tampered with or stale, and emits:

- ``wacloud.message.received`` for an inbound message, on resource ``wacloud.contact.<number>``;
- ``wacloud.message.status`` for a status change, on resource ``wacloud.message.<message_id>``.

Both name the device as a related resource (role ``device``). An inbound message from a number that a
paused flow run is waiting on (:func:`prefect_blocks.interactive.pause_for_answer`) also names that flow
run (``prefect.flow-run.<id>``, role ``flow-run``), so automations and the run's page follow it. With
``--credentials BLOCK`` the bridge also runs the resumer (:class:`prefect_blocks.interactive.Resumer`)
that resumes those runs with the answer as their run input. The signature covers only the body, so
everything the bridge trusts comes from the body: ``parse_event`` refuses a delivery whose signed
``timestamp`` is too old (a captured delivery replayed later), and the Prefect event id derives from
the body's signed ``id``, so a redelivery (or a replay with forged headers) is the same event; the
bridge skips one it has already queued. Automations and deployment triggers then react to these
events (``match`` on the resource, ``{{ event.payload.body }}`` in parameters).

A 200 means the event was queued to Prefect's event client in this process, which sends it to the
server in the background. If queuing fails the answer is 503 and WACloud delivers again later.

Run it with ``WACLOUD_WEBHOOK_SECRET`` set (the secret never goes on the command line, where ``ps``
would show it) and ``PREFECT_API_URL`` pointing at the server::

    wacloud-prefect-bridge --host 0.0.0.0 --port 8787 --path /wacloud/webhook
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from prefect.events import emit_event
from prefect.settings import PREFECT_API_URL
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wacloud_integrations import InvalidWebhookSignatureError, WebhookPayloadError, parse_event
from wacloud_integrations.masking import mask_codes, mask_phone
from wacloud_integrations.models import MessageEvent, StatusEvent, WebhookEvent

from ._logging import configure_logging, run_logger
from .interactive import Resumer, check_credentials, waiting_runs

__all__ = ["RECEIVED", "STATUS", "configure_logging", "create_app", "event_for", "event_id", "main"]

RECEIVED = "wacloud.message.received"
STATUS = "wacloud.message.status"
SECRET_ENV = "WACLOUD_WEBHOOK_SECRET"
_SEEN_LIMIT = 10_000
Emit = Callable[..., Any]
WaitingRuns = Callable[[str, str | None], Awaitable[list[str]]]
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _digits(chat_id: str | None) -> str:
    return (chat_id or "").split("@", 1)[0]


def event_id(event: WebhookEvent, raw: bytes) -> uuid.UUID:
    """The Prefect event id: from the body's signed ``id`` (headers are not signed), else the body."""
    source = event.id or "sha256:" + hashlib.sha256(raw).hexdigest()
    return uuid.uuid5(uuid.NAMESPACE_URL, f"wacloud-webhook:{source}")


def event_for(event: WebhookEvent, raw: bytes, flow_runs: Sequence[str] = ()) -> dict[str, Any] | None:
    """The Prefect event (``emit_event`` arguments) for a WACloud webhook event; ``None`` to ignore it.

    ``flow_runs``: the flow runs waiting for this inbound message (named as related resources).
    """
    related = [
        {"prefect.resource.id": f"wacloud.device.{event.device_id}", "prefect.resource.role": "device"}
    ]
    event_id_ = event_id(event, raw)
    if isinstance(event, MessageEvent):
        data = event.data
        sender = _digits(data.from_)
        runs = [
            {"prefect.resource.id": f"prefect.flow-run.{run}", "prefect.resource.role": "flow-run"}
            for run in flow_runs
        ]
        return {
            "event": RECEIVED,
            "resource": {"prefect.resource.id": f"wacloud.contact.{sender}", "prefect.resource.name": sender},
            "related": [*related, *runs],
            "payload": {
                "message_id": data.message_id,
                "from": sender,
                "to": _digits(data.to),
                "body": mask_codes(data.body) if data.body else data.body,
                "message_type": data.message_type,
                "timestamp": data.timestamp,
                "device_id": event.device_id,
            },
            "id": event_id_,
        }
    if isinstance(event, StatusEvent):
        status = event.data
        recipient = _digits(status.to)
        return {
            "event": STATUS,
            "resource": {
                "prefect.resource.id": f"wacloud.message.{status.message_id}",
                "prefect.resource.name": status.status or "unknown",
            },
            "related": [
                *related,
                {"prefect.resource.id": f"wacloud.contact.{recipient}", "prefect.resource.role": "contact"},
            ],
            "payload": {
                "message_id": status.message_id,
                "whatsapp_message_id": status.whatsapp_message_id,
                "to": recipient,
                "status": status.status,
                "ack": status.ack,
                "timestamp": status.timestamp,
                "device_id": event.device_id,
            },
            "id": event_id_,
        }
    return None


def create_app(
    secret: str,
    *,
    path: str = "/wacloud/webhook",
    emit: Emit = emit_event,
    tolerance_seconds: float | None = 300,
    waiting: WaitingRuns | None = waiting_runs,
    resumer: Resumer | None = None,
) -> Starlette:
    """The ASGI app: ``POST path`` receives deliveries, ``GET /healthz`` answers ``ok``.

    ``waiting`` finds the flow runs that wait for a sender's answer (``None``: name none); ``resumer``
    runs alongside the app while it is served.
    """
    if not secret:
        raise ValueError(f"the webhook secret is empty; set {SECRET_ENV}")
    seen: OrderedDict[str, None] = OrderedDict()
    logger = run_logger()

    async def receive(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            event = parse_event(raw, request.headers, secret=secret, tolerance_seconds=tolerance_seconds)
        except InvalidWebhookSignatureError as exc:
            logger.warning("WACloud webhook refused: %s", exc)
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=401)
        except WebhookPayloadError as exc:  # names the field, never echoes the body
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        except ValueError:  # anything else the parser refuses
            return JSONResponse({"ok": False, "error": "the body is not a WACloud event"}, status_code=400)
        runs: list[str] = []
        if waiting is not None and isinstance(event, MessageEvent):
            try:
                runs = await waiting(_digits(event.data.from_), event.device_id)
            except Exception as exc:  # the event still goes out, without the flow runs
                logger.warning("waiting flow runs not read: %s", type(exc).__name__)
        spec = event_for(event, raw, runs)
        if spec is None:
            return JSONResponse({"ok": True, "ignored": event.event})
        delivery = str(spec["id"])
        if delivery in seen:
            return JSONResponse({"ok": True, "event": spec["event"], "id": delivery, "duplicate": True})
        try:
            emit(**spec)
        except Exception as exc:  # not queued: a 5xx makes WACloud deliver it again later
            logger.error("WACloud %s not handed to Prefect: %s: %s", event.event, type(exc).__name__, exc)
            return JSONResponse({"ok": False, "error": "the event could not be queued"}, status_code=503)
        seen[delivery] = None
        while len(seen) > _SEEN_LIMIT:
            seen.popitem(last=False)
        who = spec["payload"].get("from") or spec["payload"].get("to") or ""
        logger.info("WACloud %s for %s queued as %s", event.event, mask_phone(who), spec["event"])
        return JSONResponse({"ok": True, "event": spec["event"], "id": delivery})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if resumer is None:
            yield
            return
        stop = asyncio.Event()
        running = asyncio.create_task(resumer.run(stop))
        try:
            yield
        finally:
            stop.set()
            await running

    return Starlette(
        routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health)], lifespan=lifespan
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: serve the bridge with uvicorn until stopped."""
    parser = argparse.ArgumentParser(
        prog="wacloud-prefect-bridge",
        description="Receive WACloud webhooks, verify their signatures and emit Prefect events. "
        f"The webhook secret is read from ${SECRET_ENV}.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    parser.add_argument("--path", default="/wacloud/webhook", help="webhook path (default /wacloud/webhook)")
    parser.add_argument(
        "--tolerance", type=float, default=300, help="refuse deliveries older than this many seconds"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=LEVELS,
        help="lowest level logged to stderr, with timestamps (default INFO: one line per delivery)",
    )
    parser.add_argument(
        "--credentials",
        default=None,
        help="name of a saved WACloudCredentials block: also resume flow runs paused by pause_for_answer "
        "when their WhatsApp answer arrives",
    )
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        parser.error(f"set {SECRET_ENV} to the webhook's signing secret (shown when it was created)")
    if not PREFECT_API_URL.value():
        parser.error(
            "set PREFECT_API_URL to the Prefect server's API (e.g. http://prefect:4200/api); without it "
            "Prefect has nowhere to send the events and every delivery would be acknowledged and lost"
        )
    if args.credentials:
        check_credentials(parser, args.credentials)
    import uvicorn

    log_config = configure_logging(args.log_level)
    uvicorn.run(
        create_app(
            secret,
            path=args.path,
            tolerance_seconds=args.tolerance,
            resumer=Resumer(args.credentials) if args.credentials else None,
        ),
        host=args.host,
        port=args.port,
        log_config=log_config,
        log_level=args.log_level.lower(),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
