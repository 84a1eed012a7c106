"""The ``broadcast`` flow with a bad number and injected faults: nothing lost, nothing twice.

.venv-prefect/bin/python -m examples.prefect.broadcast_flow
"""

from __future__ import annotations

from examples.prefect._env import TEMPLATE_ID, local_stack, say
from prefect_blocks.flows import broadcast

PHONES = [f"62812345676{i:02d}" for i in range(1, 21)]


def main() -> None:
    with local_stack() as stack:
        recipients: list = [
            {"to": p, "variables": {"name": f"Pelanggan {i}", "order_id": f"B-{i}", "amount": "99.000"}}
            for i, p in enumerate(PHONES)
        ]
        recipients.append({"to": "0812", "variables": {"name": "?", "order_id": "?", "amount": "?"}})
        for fault in ({"fail_next": 2}, {"drop_next": 2}, {"rate_limit_next": 1, "retry_after": 0}):
            stack.ctl.set_fault(method="POST", path="/api/v1/messages", **fault)
        summary = broadcast(stack.credentials, recipients, TEMPLATE_ID, concurrency=4, min_interval=0.01)
        say({k: summary[k] for k in ("total", "sent", "failed", "skipped", "not_tried", "unknown", "passes")})
        say(f"failures: {[(f['to'], f['status']) for f in summary['failed_recipients']]}")
        say(f"messages per phone: {sorted({len(stack.ctl.inbox(p)) for p in PHONES})}")


if __name__ == "__main__":
    main()
