"""The Prefect act of ``make demo``: the broadcast and OTP flows against a local sandbox.

    .venv-prefect/bin/python -m examples.prefect.demo_act

It starts its own sandbox and a throwaway Prefect server (temporary home, removed at the end; the only
example that does, so a demo never touches your Prefect server), stores the credentials as a block, runs the
``broadcast`` flow (one bad number, a lost answer and a server error injected) and the
``otp_verification`` flow (a simulated user reads the code on the sandbox phone and types it into the
app), prints a short transcript and stops everything it started.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from examples.prefect._env import TEMPLATE_ID, local_stack, say, throwaway_prefect, until
from prefect_blocks import WACloudCredentials
from prefect_blocks.flows import broadcast, otp_verification

CUSTOMERS = [
    ("0812-3456-7101", "Ani", "A-101", "150.000"),
    ("0812-3456-7102", "Budi", "A-102", "89.000"),
    ("+62 812-3456-7103", "Citra", "A-103", "240.000"),
    ("6281234567104", "Dewi", "A-104", "35.000"),
]
USER_PHONE = "6281234567199"


def main() -> int:
    print("Prefect act: blocks, a broadcast and an OTP verification, against a local sandbox")
    with throwaway_prefect(), local_stack() as stack:
        ctl = stack.ctl
        say(f"sandbox at {stack.sandbox.base_url}; a temporary Prefect server is running")
        block_id = stack.credentials.save("wacloud-demo", overwrite=True)
        credentials = WACloudCredentials.load("wacloud-demo")
        say(f"saved the credentials block {block_id} → {credentials!r}")

        print("1. Broadcast an order confirmation to 4 customers and 1 bad number")
        recipients: list[dict[str, Any] | str] = [
            {"to": to, "variables": {"name": name, "order_id": order, "amount": amount}}
            for to, name, order, amount in CUSTOMERS
        ]
        recipients.insert(2, {"to": "12", "variables": {"name": "?", "order_id": "?", "amount": "?"}})
        ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)  # sent, answer lost
        ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=1)  # 500 before sending
        say("injected faults: one answer dropped after sending, one 500 before sending")
        summary = broadcast("wacloud-demo", recipients, TEMPLATE_ID, concurrency=2)
        ctl.clear_faults()
        say(
            f"sent {summary['sent']}, failed {summary['failed']}, unknown {summary['unknown']}"
            f" in {summary['passes']} pass(es)"
        )
        for failure in summary["failed_recipients"]:
            say(f"failed: {failure['to']!r} — {failure['reason'][:70]}")
        received = [len(ctl.inbox(to)) for to, *_ in CUSTOMERS]
        say(f"messages per customer phone: {received} (exactly one each, nobody twice)")
        say(f"first customer reads: {ctl.inbox(CUSTOMERS[0][0])[0]['body']!r}")
        ok = received == [1, 1, 1, 1] and summary["failed"] == 1

        print("2. OTP verification flow")
        box: dict[str, Any] = {}
        flow_thread = threading.Thread(
            target=lambda: box.update(result=otp_verification("wacloud-demo", USER_PHONE, poll_interval=0.2))
        )
        flow_thread.start()
        code = until(lambda: ctl.last_code(USER_PHONE), between=lambda: flow_thread.join(0.05))
        say(f"the user's phone shows a {len(code)}-digit code (kept out of Prefect: not logged, not stored)")
        with credentials.get_client() as app:
            checked = app.otp.verify(USER_PHONE, code=code)
        say(f"the user typed it into the app: verified={checked.verified}")
        flow_thread.join(90)
        result = box.get("result", {})
        say(f"the flow saw the OTP {result.get('status')!r} → verified={result.get('verified')}")
        ok = ok and result.get("verified") is True
    print("Prefect act done: everything it started is stopped." if ok else "Prefect act FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
