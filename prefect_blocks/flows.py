"""Ready-made flows: ``broadcast`` (a template to many recipients) and ``otp_verification``."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.context import FlowRunContext

from wacloud_integrations import derive_key

from ._plans import CredentialsLike
from .tasks import bulk_send, send_otp, wait_for_otp_verification

__all__ = ["broadcast", "otp_verification"]

STATUSES = ("sent", "failed", "skipped", "unknown")


def _recipient_to(recipient: dict[str, Any] | str) -> str:
    # The core reports each recipient by the number as given; this maps a report back to its input.
    if isinstance(recipient, str):
        return recipient
    return str(recipient.get("to") or recipient.get("phone") or "")


def _merge(summary: dict[str, Any], again: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with its unknown recipients replaced by their results in ``again``."""
    merged = {**summary, "failed_recipients": []}
    merged["unknown"] = summary["unknown"] - again["total"]
    for status in STATUSES:
        merged[status] += again[status]
    kept = [r for r in summary["failed_recipients"] if r["status"] != "unknown"]
    merged["failed_recipients"] = kept + again["failed_recipients"]
    return merged


def _table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "to": r["to"],
            "phone": r.get("phone") or "",
            "status": r["status"],
            "reason": r.get("reason") or "",
        }
        for r in summary["failed_recipients"]
    ]


@flow(name="wacloud-broadcast")
def broadcast(
    credentials: CredentialsLike,
    recipients: list[dict[str, Any] | str],
    template_id: str,
    *,
    batch_key: str | None = None,
    device_id: str | None = None,
    concurrency: int = 8,
    min_interval: float = 0.0,
    jitter: float = 0.0,
    daily_cap: int | None = None,
    passes: int = 3,
    artifact_key: str = "wacloud-broadcast",
) -> dict[str, Any]:
    """Send a stored template to many recipients (``{"to": …, "variables": {…}}`` or numbers).

    Sends go through the core's ``send_many`` with bounded ``concurrency`` and optional pacing
    (``min_interval``, ``jitter``, ``daily_cap``). Recipients whose outcome stayed unknown (the answer was
    lost and the lookup found nothing) are tried again, up to ``passes`` in all, with the same per-recipient
    idempotency keys, so nobody gets the message twice. The batch key defaults to one derived from the
    flow run, so a flow retry resumes the batch. Ends with a table artifact of the failed recipients
    (counts in its description) and returns the counts and failures.
    """
    if batch_key is None:
        context = FlowRunContext.get()
        run_id = context.flow_run.id if context and context.flow_run else None
        batch_key = derive_key("prefect", run_id, "broadcast", template_id) if run_id else None
    by_number: dict[str, dict[str, Any] | str] = {}
    for recipient in recipients:
        by_number.setdefault(_recipient_to(recipient), recipient)
    options: dict[str, Any] = {
        "template_id": template_id,
        "device_id": device_id,
        "concurrency": concurrency,
        "min_interval": min_interval,
        "jitter": jitter,
        "daily_cap": daily_cap,
        "progress_key": f"{artifact_key}-progress",
    }
    summary = bulk_send(credentials, recipients, batch_key=batch_key, **options)
    batch_key = summary["batch_key"]
    summary["passes"] = 1
    for _ in range(passes - 1):
        unknown = [by_number[r["to"]] for r in summary["failed_recipients"] if r["status"] == "unknown"]
        if not unknown:
            break
        summary = {**_merge(summary, bulk_send(credentials, unknown, batch_key=batch_key, **options))}
        summary["passes"] += 1
    counts = ", ".join(f"{status}: {summary[status]}" for status in STATUSES)
    create_table_artifact(  # type: ignore[call-arg]
        _table(summary),
        key=artifact_key,
        description=f"WhatsApp broadcast of template {template_id} to {summary['total']} recipients. "
        f"{counts}. The table lists every recipient that failed or whose outcome is unknown.",
        _sync=True,
    )
    return summary


@flow(name="wacloud-otp-verification")
def otp_verification(
    credentials: CredentialsLike,
    to: str,
    *,
    template_id: str | None = None,
    expiry_minutes: int = 10,
    device_id: str | None = None,
    timeout: float = 600.0,
    poll_interval: float = 3.0,
) -> dict[str, Any]:
    """Send a one-time code to ``to`` and wait until the user verifies it (or it expires).

    Your application checks the code the user types (``verify_otp`` or the core client); this flow
    only sees the OTP's status, never the code. Returns ``{"otp_id", "to", "status", "verified"}``.
    """
    sent = send_otp(
        credentials, to, template_id=template_id, expiry_minutes=expiry_minutes, device_id=device_id
    )
    info = wait_for_otp_verification(
        credentials, sent["otp_id"], timeout=timeout, poll_interval=poll_interval
    )
    return {
        "otp_id": sent["otp_id"],
        "to": sent.get("to"),
        "status": info["status"],
        "verified": info["status"] == "verified",
    }
