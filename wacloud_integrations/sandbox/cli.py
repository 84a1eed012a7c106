"""``wacloud-sandbox serve …``: run the sandbox from a shell or a CI job."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from .settings import DEFAULT_API_KEY, DEFAULT_QUOTA, SEED_DEVICE_ID, SandboxSettings


def _ack_delays(text: str) -> tuple[float, float]:
    parts = [float(p) for p in text.split(",")]
    if len(parts) != 2 or min(parts) < 0:
        raise argparse.ArgumentTypeError("give two non-negative seconds, e.g. 1,3")
    return parts[0], parts[1]


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
    serve.add_argument("--latency-ms", type=int, default=0, help="added to every /api/v1 request")
    serve.add_argument("--error-rate", type=float, default=0.0, help="share of /api/v1 requests that fail")
    serve.add_argument("--error-status", type=int, default=500, help="status of those failures (default 500)")
    serve.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of /api/v1 requests processed whose answer is lost",
    )
    serve.add_argument("--webhook-timeout", type=float, default=5.0, help="seconds to wait for a receiver")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wacloud-sandbox`` and ``python -m wacloud_integrations.sandbox``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    args = build_parser().parse_args(args_list)
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
        webhook_timeout=args.webhook_timeout,
    )

    from .server import READY_PREFIX, bind_socket, build_server, serve

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
        }
        print(f"WACloud sandbox listening on {root}/api/v1", flush=True)
        for key in settings.api_keys:
            print(f"  API key: {key}", flush=True)
        if settings.seed:
            print(f"  seeded device: {SEED_DEVICE_ID} (connected)", flush=True)
        print(f"  control API: {root}/_sandbox   OpenAPI: {root}/openapi.json", flush=True)
        print(READY_PREFIX + json.dumps(info), flush=True)

    try:
        asyncio.run(serve(server, sock, ready))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
