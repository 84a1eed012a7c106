"""``wacloud-sandbox serve …``: run the sandbox from a shell or a CI job; ``conformance``: check a service."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .settings import DEFAULT_API_KEY, DEFAULT_QUOTA, SEED_DEVICE_ID, SandboxSettings


def _ack_delays(text: str) -> tuple[float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 2 or min(parts) < 0:
        raise argparse.ArgumentTypeError("give two non-negative seconds, e.g. 1,3")
    return parts[0], parts[1]


def _number(text: str) -> int | float | str:
    """A flag value as the number it spells (the fault fields are strict numbers), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _fault(text: str) -> dict[str, Any]:
    """``'[METHOD] [PATH] key=value …'``: a fault rule with the control API's fields."""
    from pydantic import ValidationError

    from .schemas import FaultRequest

    words = text.split()
    where = [w for w in words if "=" not in w]
    if len(where) > 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give METHOD PATH then key=value pairs")
    spec: dict[str, Any] = {k: _number(v) for k, v in (w.split("=", 1) for w in words if "=" in w)}
    if where:
        spec["path"] = where[-1]
    if len(where) == 2:
        spec["method"] = where[0]
    try:
        return FaultRequest.model_validate(spec).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        raise argparse.ArgumentTypeError(f"{text!r}: {name}: {err['msg']}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="wacloud-sandbox", description="A local WACloud-compatible API.")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the sandbox (the default command)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default 8080)")
    serve.add_argument(
        "--db", default=":memory:", help="SQLite file to keep data across restarts (default in memory)"
    )
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"an accepted key, each its own account; repeatable (default {DEFAULT_API_KEY})",
    )
    serve.add_argument(
        "--seed", action="store_true", help="create the vendor docs' device, template and contacts"
    )
    serve.add_argument("--quota", type=int, default=DEFAULT_QUOTA, help="messages per account per month")
    serve.add_argument("--rate-limit", type=int, default=0, help="requests per key per minute (0 = off)")
    serve.add_argument(
        "--ack-delays",
        type=_ack_delays,
        default=(1.0, 3.0),
        metavar="DELIVERED,READ",
        help="seconds until delivered and read (default 1,3)",
    )
    serve.add_argument(
        "--fault",
        type=_fault,
        action="append",
        dest="faults",
        default=[],
        metavar="'[METHOD] [PATH] KEY=VALUE…'",
        help="a fault rule on the routes under PATH, as POST /_sandbox/faults takes it, e.g. "
        "'POST /api/v1/messages drop_rate=0.1' or 'GET /api/v1/account rate_limit_next=3 retry_after=7'; "
        "repeatable. Keys: latency_ms, error_rate, error_status, fail_next, rate_limit_next, retry_after, "
        "drop_next, drop_rate",
    )
    serve.add_argument("--latency-ms", type=int, default=0, help="added to every /api/v1 request")
    serve.add_argument("--error-rate", type=float, default=0.0, help="share of /api/v1 requests that fail")
    serve.add_argument("--error-status", type=int, default=500, help="status of those failures (default 500)")
    serve.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of /api/v1 requests processed whose answer is lost",
    )
    serve.add_argument(
        "--rate-limit-next",
        type=int,
        default=0,
        metavar="N",
        help="the first N /api/v1 requests get 429 rate_limited (a burst)",
    )
    serve.add_argument(
        "--retry-after", type=int, default=1, metavar="S", help="Retry-After of those 429s (default 1)"
    )
    serve.add_argument("--webhook-timeout", type=float, default=5.0, help="seconds to wait for a receiver")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.add_argument("--no-ui", action="store_true", help="do not serve the browser view at /")
    from .conformance.command import add_parser

    add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wacloud-sandbox`` and ``python -m wacloud_integrations.sandbox``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    args = build_parser().parse_args(args_list)
    if args.command == "conformance":
        from .conformance.command import run_from_args

        return run_from_args(args)
    if args.command != "serve":
        build_parser().print_help()
        return 2
    settings = SandboxSettings(
        api_keys=args.api_keys or [DEFAULT_API_KEY],
        db=args.db,
        seed=args.seed,
        quota=args.quota,
        rate_limit_per_minute=args.rate_limit,
        ack_delays=args.ack_delays,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        error_status=args.error_status,
        drop_rate=args.drop_rate,
        rate_limit_next=args.rate_limit_next,
        retry_after=args.retry_after,
        faults=args.faults,
        webhook_timeout=args.webhook_timeout,
        ui=not args.no_ui,
        host=args.host,
    )

    from .server import READY_PREFIX, bind_socket, build_server, run, serve

    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    server = build_server(settings, log_level=args.log_level, access_log=not args.no_access_log)
    root = f"http://{args.host}:{port}"

    def ready() -> None:
        info = {
            "base_url": f"{root}/api/v1",
            "root_url": root,
            "port": port,
            "api_keys": settings.api_keys,
            "device_id": SEED_DEVICE_ID if settings.seed else None,
            "ui_url": f"{root}/" if settings.ui else None,
        }
        print(f"WACloud sandbox listening on {root}/api/v1", flush=True)
        if settings.ui:
            print(f"  in the browser: {root}/", flush=True)
        for key in settings.api_keys:
            print(f"  API key: {key}", flush=True)
        if settings.seed:
            print(f"  seeded device: {SEED_DEVICE_ID} (connected)", flush=True)
        print(f"  control API: {root}/_sandbox   OpenAPI: {root}/openapi.json", flush=True)
        print(READY_PREFIX + json.dumps(info), flush=True)

    try:
        run(serve(server, sock, ready))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
