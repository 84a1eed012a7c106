"""Ready-made flows: ``broadcast`` (a template to many recipients) and ``otp_verification``."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from wacloud_integrations import InputError, OTPExpiredError, bulk

from ._keys import batch_fingerprint, flow_key
from ._plans import CredentialsLike
from .tasks import bulk_send, send_otp, wait_for_otp_verification

__all__ = ["BroadcastStoppedError", "broadcast", "otp_verification"]


def _recipient_to(recipient: dict[str, Any] | str) -> str:
    # The core reports each recipient by the number as given; this maps a report back to its input.
    if isinstance(recipient, str):
        return recipient
    return str(recipient.get("to") or recipient.get("phone") or "")


def _merge(summary: dict[str, Any], again: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with its unknown recipients replaced by their results in ``again``.

    ``again`` retried only recipients whose outcome was unknown; one it reports as already sent (the
    server answered the same key with the first answer) went out in the earlier pass: it is sent.
    Counts are merged for every status either pass reports.
    """
    resent = len(again["already_sent"])
    counts = {
        name: summary["counts"].get(name, 0) + again["counts"].get(name, 0)
        for name in {**summary["counts"], **again["counts"]}
    }
    counts["unknown"] -= again["total"]  # every recipient of ``again`` was unknown before
    counts["sent"] += resent
    counts["skipped"] -= resent
    kept = [r for r in summary["failed_recipients"] if r["status"] != "unknown"]
    return {
        **summary,
        **counts,
        "counts": counts,
        "by_device": _merge_by_device(summary, again),
        "devices_down": {**summary.get("devices_down", {}), **again.get("devices_down", {})},
        "stopped": again["stopped"],
        "failed_recipients": kept + again["failed_recipients"],
        "not_tried_recipients": summary["not_tried_recipients"] + again["not_tried_recipients"],
    }


def _merge_by_device(summary: dict[str, Any], again: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per-device counts: the retried unknown recipients counted by their second pass only."""
    merged = {device: dict(counts) for device, counts in summary.get("by_device", {}).items()}
    for row in summary["failed_recipients"]:
        per = merged.get(row.get("device_id") or "")
        if row["status"] == "unknown" and per and per.get("unknown"):
            per["unknown"] -= 1
    for device, counts in again.get("by_device", {}).items():
        per = merged.setdefault(device, {})
        for status, n in counts.items():
            per[status] = per.get(status, 0) + n
    return {d: {s: n for s, n in c.items() if n} for d, c in merged.items() if any(c.values())}


class BroadcastStoppedError(RuntimeError):
    """The batch stopped before every recipient was tried (bad key, quota used up, device offline)."""


def _table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "to": r["to"],
            "phone": r.get("phone") or "",
            "status": r["status"],
            "reason": r.get("reason") or "",
        }
        for r in [*summary["failed_recipients"], *summary["not_tried_recipients"]]
    ]


@flow(name="wacloud-broadcast")
def broadcast(
    credentials: CredentialsLike,
    recipients: list[dict[str, Any] | str],
    template_id: str,
    *,
    batch_key: str | None = None,
    device_id: str | None = None,
    device_ids: list[str] | None = None,
    concurrency: int = 8,
    min_interval: float = 0.0,
    jitter: float = 0.0,
    daily_cap: int | None = None,
    passes: int = 3,
    artifact_key: str = "wacloud-broadcast",
) -> dict[str, Any]:
    """Send a stored template to many recipients (``{"to": …, "variables": {…}}`` or numbers).

    Sends go through the core's ``send_many`` with bounded ``concurrency`` and optional pacing
    (``min_interval``, ``jitter``, ``daily_cap``, each per device); ``device_ids`` spreads them over
    several devices (the summary's ``by_device`` counts each one's recipients). Recipients whose
    outcome stayed unknown (the answer was lost and the lookup found nothing) are tried again, up to
    ``passes`` in all, with the same per-recipient idempotency keys, so nobody gets the message twice.
    The batch key defaults to one derived from the root flow run and the template, so a flow retry (or
    a parent flow's retry, with ``broadcast`` as a subflow) resumes the batch. Ends with a table
    artifact of the failed recipients (counts in its description) and returns the counts and failures.
    If the batch stopped early (bad key, quota used up, every device down) the run fails with
    :class:`BroadcastStoppedError` after the artifact.
    """
    if passes < 1:
        raise InputError("passes", "must be at least 1")
    batch_key = batch_key or flow_key(
        "broadcast", {"template_id": template_id, "recipients": batch_fingerprint(recipients)}
    )
    by_number: dict[str, dict[str, Any] | str] = {}
    for recipient in recipients:
        by_number.setdefault(_recipient_to(recipient), recipient)
    options: dict[str, Any] = {
        "template_id": template_id,
        "device_id": device_id,
        "device_ids": device_ids,
        "concurrency": concurrency,
        "min_interval": min_interval,
        "jitter": jitter,
        "daily_cap": daily_cap,
        "progress_key": f"{artifact_key}-progress",
    }
    summary = bulk_send(credentials, recipients, batch_key=batch_key, **options)
    batch_key = summary["batch_key"]
    done = 1
    while summary["unknown"] and not summary["stopped"] and done < passes:
        unknown = [by_number[r["to"]] for r in summary["failed_recipients"] if r["status"] == "unknown"]
        summary = _merge(summary, bulk_send(credentials, unknown, batch_key=batch_key, **options))
        done += 1
    summary["passes"] = done
    counts = bulk.summary(summary["counts"])  # the core's words, as Airflow shows them
    left = summary["unknown"] + len(summary["not_tried_recipients"])
    create_table_artifact(  # type: ignore[call-arg]
        _table(summary),
        key=artifact_key,
        description=f"WhatsApp broadcast of template {template_id} to {summary['total']} recipients. "
        f"{counts}. The table lists every recipient that failed, whose outcome is unknown, or that "
        "was never tried."
        + (f" The batch STOPPED EARLY: {summary['stopped']}." if summary["stopped"] else "")
        + (
            f" Run the broadcast again with batch_key={batch_key!r} to send the rest: nobody gets "
            "the message twice."
            if left or summary["stopped"]
            else ""
        ),
        _sync=True,
    )
    if summary["stopped"]:
        raise BroadcastStoppedError(
            f"the broadcast stopped early ({summary['stopped']}); {counts}. Run it again with "
            f"batch_key={batch_key!r} to send the rest: nobody gets the message twice."
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
    try:
        info = wait_for_otp_verification(
            credentials, sent["otp_id"], timeout=timeout, poll_interval=poll_interval
        )
    except OTPExpiredError:  # the flow reports the outcome: an expired code is an answer, not a crash
        status = "expired"
    else:
        status = info["status"]
    return {
        "otp_id": sent["otp_id"],
        "to": sent.get("to"),
        "status": status,
        "verified": status == "verified",
    }
