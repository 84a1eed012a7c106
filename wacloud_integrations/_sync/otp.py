"""Generated from ``_async/otp.py`` by ``scripts/generate_sync.py``: do not edit."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequestError, NotFoundError
from ..models import OTPSent, OTPStatusInfo, OTPVerification, SendOTPRequest, VerifyOTPRequest
from ..waits import Wait, otp_settled
from ..wire import Call, path
from ._base import _one, _Resource, _validated

_OTP_RESULT_CODES = ("otp_invalid", "otp_expired", "otp_attempts_exceeded")


class OTP(_Resource):
    """One-time passwords over WhatsApp: ``client.otp``. Never retried blindly; never returns the code."""

    def send(
        self,
        to: str,
        *,
        device_id: str | None = None,
        template_id: str | None = None,
        expiry_minutes: int = 10,
        idempotency_key: str | None = None,
    ) -> OTPSent:
        """Send a 6-digit code to ``to``; keep ``otp_id`` to check or wait for verification."""
        body = _validated(
            SendOTPRequest,
            device_id=self._device(device_id),
            to=self._phone(to),
            template_id=template_id,
            expiry_minutes=expiry_minutes,
        ).body()
        return self._client.request(
            Call(
                "POST",
                "messages/otp",
                _one(OTPSent),
                json=body,
                is_send=True,
                idempotency_key=idempotency_key,
            )
        )

    def verify(self, to: str, *, code: str, otp_id: str | None = None) -> OTPVerification:
        """Check the code the user typed, for the number the OTP went ``to``.

        A wrong or expired code is ``verified=False`` with a ``reason``, not an error.
        """
        body = _validated(
            VerifyOTPRequest, phone_number=self._phone(to), code=str(code).strip(), otp_id=otp_id
        ).body()

        def parse(data: Any) -> OTPVerification:
            data = data if isinstance(data, dict) else {}
            return OTPVerification(
                verified=True, otp_id=data.get("otp_id") or otp_id, message="OTP verified successfully"
            )

        try:
            return self._client.request(Call("POST", "messages/verify-otp", parse, json=body))
        except NotFoundError:
            # No pending OTP: an earlier verify whose answer was lost may have used it up. Look, don't guess.
            if otp_id and (self.status(otp_id)).status == "verified":
                return OTPVerification(
                    verified=True,
                    otp_id=otp_id,
                    reason="already_verified",
                    message="OTP was already verified",
                )
            raise
        except BadRequestError as exc:
            if exc.code not in _OTP_RESULT_CODES:
                raise
            body = exc.body if isinstance(exc.body, dict) else {}
            remaining = body.get("attempts_remaining")
            return OTPVerification(
                verified=False,
                otp_id=otp_id,
                reason=exc.code,
                message=str(body["error"]) if "error" in body else None,
                attempts_remaining=remaining
                if isinstance(remaining, int) and not isinstance(remaining, bool) and remaining >= 0
                else None,
            )

    def status(self, otp_id: str) -> OTPStatusInfo:
        """``pending``, ``verified`` or ``expired``."""
        return self._client.request(_status_call(otp_id))

    def wait_until_verified(
        self, otp_id: str, *, timeout: float = 600.0, poll_interval: float = 3.0
    ) -> OTPStatusInfo:
        """Wait until the OTP is verified and return its status (the rules of every wait:
        :mod:`wacloud_integrations.waits`).

        Raises :class:`~wacloud_integrations.errors.OTPExpiredError` when the code expired first,
        :class:`~wacloud_integrations.errors.WaitTimeoutError` when ``timeout`` ran out first, and a
        permanent API error (bad key, unknown id) at once; transient errors only delay the wait.
        """
        wait = Wait(timeout, poll_interval, what=f"OTP {otp_id}")
        call = _status_call(otp_id, max_retries=0)  # the wait decides when to try again
        while True:
            try:
                info = self._client.request(call)
            except Exception as exc:
                pause = wait.pause(exc)
            else:
                if otp_settled(info, otp_id):
                    return info
                pause = wait.pause()
            self._client.sleep(pause)


def _status_call(otp_id: str, max_retries: int | None = None) -> Call[OTPStatusInfo]:
    return Call(
        "GET",
        path("messages/otp/{otp_id}/status", otp_id=otp_id),
        _one(OTPStatusInfo),
        max_retries=max_retries,
    )
