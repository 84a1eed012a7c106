"""Resources of the async client, one class per group of endpoints.

This file is the source of the sync client too: ``scripts/generate_sync.py`` writes ``_sync/resources.py``
from it (``async``/``await`` removed, ``Async`` prefixes dropped). Edit here, then regenerate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from .. import bulk
from .. import webhooks as webhook_receiving
from ..config import MEDIA_TIMEOUT
from ..errors import BadRequestError, ConfigurationError, InputError, NotFoundError, WaitTimeoutError
from ..inbound import InboundCursor, InboundFilter
from ..models import (
    Account,
    Contact,
    CreateDeviceRequest,
    CreateTemplateRequest,
    CreateWebhookRequest,
    Device,
    DeviceStatusInfo,
    LidCount,
    LidMapping,
    ListContent,
    Message,
    NumberExists,
    OTPSent,
    OTPStatusInfo,
    OTPVerification,
    PairingQR,
    PreviewTemplateRequest,
    ProfilePicture,
    SendOTPRequest,
    SentMessage,
    SyncResult,
    Template,
    TemplatePreview,
    UpdateContactRequest,
    UpdateTemplateRequest,
    VerifyOTPRequest,
    Webhook,
    build_message,
)
from ..models.messages import input_error_from
from ..phone import normalize_phone
from ..templating import extract_placeholders, render_template
from ..wire import Call, path

if TYPE_CHECKING:
    from .client import AsyncWACloud

M = TypeVar("M", bound=BaseModel)
# Aliases: "list" is also a method name inside the resource classes.
LidMappings = list[LidMapping]
MessageList = list[Message]
_MEDIA_TYPES = ("image", "video", "document")
_OTP_RESULT_CODES = ("otp_invalid", "otp_expired", "otp_attempts_exceeded")


def _one(model: type[M]) -> Callable[[Any], M]:
    return model.model_validate


def _many(model: type[M]) -> Callable[[Any], list[M]]:
    return lambda data: [model.model_validate(item) for item in (data or [])]


def _validated(model: type[M], **fields: Any) -> M:
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        raise input_error_from(exc) from None


class _Resource:
    def __init__(self, client: AsyncWACloud) -> None:
        self._client = client

    def _device(self, device_id: str | None) -> str:
        chosen = device_id or self._client.config.default_device_id
        if not chosen:
            raise ConfigurationError(
                "device_id: no device given and no default; set "
                f"{self._client.config.where('default_device_id')} (devices.list() shows your devices)"
            )
        return chosen

    def _phone(self, value: str, field: str = "to") -> str:
        return normalize_phone(value, region=self._client.config.region, field=field)


class AsyncDevices(_Resource):
    """Paired WhatsApp numbers: ``client.devices``."""

    async def list(self, *, status: str | None = None) -> list[Device]:
        """The account's devices, optionally only those with ``status``."""
        return await self._client.request(Call("GET", "devices", _many(Device), params={"status": status}))

    async def create(self, name: str, phone_number: str | None = None) -> Device:
        """Create a device; it starts in ``pairing`` until its QR code is scanned."""
        number = self._phone(phone_number, "phone_number") if phone_number else None
        body = _validated(CreateDeviceRequest, name=name, phone_number=number).body()
        return await self._client.request(Call("POST", "devices", _one(Device), json=body))

    async def get(self, device_id: str) -> Device:
        """One device in full."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}", device_id=device_id), _one(Device))
        )

    async def status(self, device_id: str) -> DeviceStatusInfo:
        """The device's connection status: ``connected``, ``pairing`` or ``disconnected``."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}/status", device_id=device_id), _one(DeviceStatusInfo))
        )

    async def pair(self, device_id: str) -> PairingQR:
        """A fresh pairing QR code (``.png_bytes()``, ``.save(path)``), valid about two minutes."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}/pair", device_id=device_id), _one(PairingQR))
        )

    async def sync_messages(self, device_id: str) -> SyncResult:
        """Pull incoming messages from the WhatsApp engine into WACloud's store."""
        return await self._client.request(
            Call(
                "POST",
                path("devices/{device_id}/messages/sync", device_id=device_id),
                _one(SyncResult),
                safe=True,
            )
        )

    async def wait_until_connected(
        self,
        device_id: str,
        *,
        timeout: float = 120.0,
        poll_interval: float = 2.0,
        on_qr: Callable[[PairingQR], object] | None = None,
    ) -> DeviceStatusInfo:
        """Poll until the device is connected; ``on_qr`` gets each new QR while it is pairing."""
        deadline = time.monotonic() + timeout
        last_qr = None
        while True:
            info = await self.status(device_id)
            if info.status == "connected":
                return info
            if on_qr is not None and info.status == "pairing":
                qr = await self.pair(device_id)
                if qr.qr_code != last_qr:
                    last_qr = qr.qr_code
                    on_qr(qr)
            if time.monotonic() + poll_interval > deadline:
                raise WaitTimeoutError(f"device {device_id} is still {info.status} after {timeout:.0f}s")
            await self._client.sleep(poll_interval)


class AsyncMessages(_Resource):
    """Sending and listing messages: ``client.messages``."""

    async def send(
        self, *, idempotency_key: str | None = None, reconcile: bool = False, **fields: Any
    ) -> SentMessage:
        """Send any message type from its API fields (``message_type`` plus that type's fields).

        ``to`` is normalised and ``device_id`` defaults to the client's device. Bad fields raise
        :class:`InputError` naming the field before anything is sent. With ``reconcile=True`` (for a
        retry after an uncertain outcome) a message already sent with ``idempotency_key`` is looked up
        and returned (``reconciled=True``) instead of sending again.
        """
        fields["device_id"] = self._device(fields.get("device_id"))
        to = fields.get("to")  # a Phone stays a Phone: str() of it would be re-read under the region
        fields["to"] = self._phone(to if isinstance(to, str) else str(to or ""))
        message = build_message(fields)
        if reconcile:
            if not idempotency_key:
                raise InputError("idempotency_key", "reconcile=True needs the key of the earlier attempt")
            # fields["to"] is the Phone; the model's copy is a plain str that a region would re-read.
            found = await self.find_sent(
                fields["to"], idempotency_key=idempotency_key, device_id=message.device_id
            )
            if found is not None:
                return SentMessage(
                    message_id=found.id,
                    whatsapp_message_id=found.whatsapp_message_id,
                    status=found.status or "sent",
                    ack=found.ack,
                    to=found.to,
                    reconciled=True,
                )
        timeout = MEDIA_TIMEOUT if message.message_type in _MEDIA_TYPES else None
        return await self._client.request(
            Call(
                "POST",
                "messages",
                _one(SentMessage),
                json=message.body(),
                is_send=True,
                timeout=timeout,
                idempotency_key=idempotency_key,
            )
        )

    async def send_text(
        self, to: str, text: str, *, device_id: str | None = None, idempotency_key: str | None = None
    ) -> SentMessage:
        """Send a text message."""
        return await self.send(
            message_type="text", to=to, text=text, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_image(
        self,
        to: str,
        image_url: str,
        *,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send an image from a publicly reachable URL."""
        return await self.send(
            message_type="image",
            to=to,
            image_url=image_url,
            caption=caption,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_video(
        self,
        to: str,
        video_url: str,
        *,
        caption: str | None = None,
        as_note: bool = False,
        convert: bool = False,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a video from a publicly reachable URL (``as_note`` for a round video note)."""
        return await self.send(
            message_type="video",
            to=to,
            video_url=video_url,
            caption=caption,
            as_note=as_note,
            convert=convert,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_document(
        self,
        to: str,
        document_url: str,
        *,
        filename: str | None = None,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a document from a publicly reachable URL."""
        return await self.send(
            message_type="document",
            to=to,
            document_url=document_url,
            filename=filename,
            caption=caption,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_poll(
        self,
        to: str,
        poll_name: str,
        poll_options: Sequence[str],
        *,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a poll with 2 to 12 options."""
        return await self.send(
            message_type="poll",
            to=to,
            poll_name=poll_name,
            poll_options=list(poll_options),
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_list(
        self,
        to: str,
        message: ListContent | Mapping[str, Any],
        *,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send an interactive list (a button opening sections of rows)."""
        content = message.body() if isinstance(message, ListContent) else dict(message)
        return await self.send(
            message_type="list", to=to, message=content, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_template(
        self,
        to: str,
        template_id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a stored template; the server fills ``variables`` and refuses a missing one."""
        return await self.send(
            message_type="template",
            to=to,
            template_id=template_id,
            variables=dict(variables or {}),
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def list_page(
        self,
        *,
        device_id: str | None = None,
        direction: str | None = None,
        phone: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
        sort_order: str = "desc",
        idempotency_key: str | None = None,
    ) -> list[Message]:
        """One page of stored messages (``limit`` 1 to 100), newest first by default.

        ``idempotency_key`` narrows the page where the API supports that filter (the sandbox does);
        callers must still check each message's key, since a server may ignore it.
        """
        if not 1 <= limit <= 100:
            raise InputError("limit", f"must be between 1 and 100, got {limit}")
        params = {
            "device_id": device_id,
            "direction": direction,
            "phone": self._phone(phone, "phone") if phone else None,
            "status": status,
            "since": since.isoformat() if since else None,
            "limit": limit,
            "offset": offset,
            "sort_order": sort_order,
            "idempotency_key": idempotency_key,
        }
        return await self._client.request(Call("GET", "messages", _many(Message), params=params))

    async def list(
        self,
        *,
        device_id: str | None = None,
        direction: str | None = None,
        phone: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        sort_order: str = "desc",
        idempotency_key: str | None = None,
    ) -> AsyncIterator[Message]:
        """Every stored message matching the filters, fetching pages as needed."""
        offset, seen = 0, 0
        while True:
            page = await self.list_page(
                device_id=device_id,
                direction=direction,
                phone=phone,
                status=status,
                since=since,
                limit=page_size,
                offset=offset,
                sort_order=sort_order,
                idempotency_key=idempotency_key,
            )
            for item in page:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield item
            # Stop on an empty page, not a short one: a server may cap the page size below ours.
            if not page:
                return
            offset += len(page)

    async def find_sent(
        self,
        to: str,
        *,
        idempotency_key: str | None = None,
        since: datetime | None = None,
        text: str | None = None,
        device_id: str | None = None,
    ) -> Message | None:
        """Find an already-sent message, to reconcile after an :class:`AmbiguousSendError`.

        Matches outbound messages to ``to`` (since ``since``) by idempotency key when the API stores it,
        else by ``text`` contained in the body. ``None`` means no such message was found.
        """
        # Filter by key on the server where it can (one short page); the loop still checks every message.
        by_key = idempotency_key if text is None else None
        async for message in self.list(
            device_id=device_id,
            direction="outbound",
            phone=to,
            since=since,
            max_items=500,
            idempotency_key=by_key,
        ):
            if idempotency_key and message.idempotency_key == idempotency_key:
                return message
            if (
                text is not None
                and message.idempotency_key in (None, idempotency_key)
                and text in (message.body or "")
            ):
                return message
        return None

    async def inbound_cursor(
        self, *, device_id: str | None = None, phone: str | None = None
    ) -> InboundCursor:
        """A cursor past the newest stored inbound message: what arrives from now on (the API's clock)."""
        newest = await self.list_page(device_id=device_id, direction="inbound", phone=phone, limit=1)
        return InboundCursor.after(newest)

    async def poll_inbound(
        self,
        cursor: InboundCursor,
        *,
        device_id: str | None = None,
        phone: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
    ) -> MessageList:
        """Inbound messages after ``cursor`` that match, oldest first; the cursor moves past all it read."""
        wanted = InboundFilter(contains, pattern)
        read = [
            m
            async for m in self.list(
                device_id=device_id, direction="inbound", phone=phone, since=cursor.since, sort_order="asc"
            )
        ]
        return [m for m in cursor.take(read) if wanted.matches(m)]

    async def send_many(self, recipients: Sequence[bulk.RecipientLike], **options: Any) -> bulk.BulkReport:
        """Send to many recipients; see :func:`wacloud_integrations.bulk.send_many` for the options."""
        return await bulk.send_many(self._client, recipients, **options)


class AsyncOTP(_Resource):
    """One-time passwords over WhatsApp: ``client.otp``. Never retried blindly; never returns the code."""

    async def send(
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
        return await self._client.request(
            Call(
                "POST",
                "messages/otp",
                _one(OTPSent),
                json=body,
                is_send=True,
                idempotency_key=idempotency_key,
            )
        )

    async def verify(self, phone_number: str, code: str, *, otp_id: str | None = None) -> OTPVerification:
        """Check a code the user typed. A wrong or expired code is ``verified=False`` with a ``reason``."""
        body = _validated(
            VerifyOTPRequest,
            phone_number=self._phone(phone_number, "phone_number"),
            code=str(code).strip(),
            otp_id=otp_id,
        ).body()

        def parse(data: Any) -> OTPVerification:
            data = data if isinstance(data, dict) else {}
            return OTPVerification(
                verified=True, otp_id=data.get("otp_id") or otp_id, message="OTP verified successfully"
            )

        try:
            return await self._client.request(Call("POST", "messages/verify-otp", parse, json=body))
        except NotFoundError:
            # No pending OTP: an earlier verify whose answer was lost may have used it up. Look, don't guess.
            if otp_id and (await self.status(otp_id)).status == "verified":
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
            return OTPVerification(
                verified=False,
                otp_id=otp_id,
                reason=exc.code,
                message=str(exc.body.get("error")) if isinstance(exc.body, dict) else None,
            )

    async def status(self, otp_id: str) -> OTPStatusInfo:
        """``pending``, ``verified`` or ``expired``."""
        return await self._client.request(
            Call("GET", path("messages/otp/{otp_id}/status", otp_id=otp_id), _one(OTPStatusInfo))
        )

    async def wait_until_verified(
        self, otp_id: str, *, timeout: float = 600.0, poll_interval: float = 3.0
    ) -> OTPStatusInfo:
        """Poll until the OTP is verified or expired (see ``.status``); WaitTimeoutError if time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            info = await self.status(otp_id)
            if info.status in ("verified", "expired"):
                return info
            if time.monotonic() + poll_interval > deadline:
                raise WaitTimeoutError(f"OTP {otp_id} is still {info.status} after {timeout:.0f}s")
            await self._client.sleep(poll_interval)


class AsyncTemplates(_Resource):
    """Message templates with ``{{name}}`` placeholders: ``client.templates``."""

    placeholders = staticmethod(extract_placeholders)
    render = staticmethod(render_template)

    async def create(
        self,
        name: str,
        content: str,
        *,
        message_type: str = "text",
        variables: Sequence[str] | None = None,
        description: str | None = None,
    ) -> Template:
        """Create a template; ``variables`` defaults to the placeholders in ``content``."""
        body = _validated(
            CreateTemplateRequest,
            name=name,
            content=content,
            message_type=message_type,
            variables=list(variables) if variables is not None else None,
            description=description,
        ).body()
        return await self._client.request(Call("POST", "templates", _one(Template), json=body))

    async def list(self) -> list[Template]:
        """Every template of the account."""
        return await self._client.request(Call("GET", "templates", _many(Template)))

    async def get(self, template_id: str) -> Template:
        """One template."""
        return await self._client.request(
            Call("GET", path("templates/{template_id}", template_id=template_id), _one(Template))
        )

    async def update(
        self,
        template_id: str,
        *,
        name: str | None = None,
        content: str | None = None,
        message_type: str | None = None,
        variables: Sequence[str] | None = None,
        description: str | None = None,
    ) -> Template:
        """Change the given fields only."""
        body = _validated(
            UpdateTemplateRequest,
            name=name,
            content=content,
            message_type=message_type,
            variables=list(variables) if variables is not None else None,
            description=description,
        ).body()
        return await self._client.request(
            Call("PUT", path("templates/{template_id}", template_id=template_id), _one(Template), json=body)
        )

    async def delete(self, template_id: str) -> None:
        """Delete a template."""
        await self._client.request(Call("DELETE", path("templates/{template_id}", template_id=template_id)))

    async def preview(self, template_id: str, variables: Mapping[str, Any]) -> TemplatePreview:
        """The text the template gives with ``variables``, rendered by the server."""
        body = _validated(PreviewTemplateRequest, variables=dict(variables)).body()
        return await self._client.request(
            Call(
                "POST",
                path("templates/{template_id}/preview", template_id=template_id),
                _one(TemplatePreview),
                json=body,
                safe=True,
            )
        )


class AsyncWebhooks(_Resource):
    """Webhook registrations, plus verifying and parsing deliveries: ``client.webhooks``."""

    verify = staticmethod(webhook_receiving.verify_signature)
    parse = staticmethod(webhook_receiving.parse_event)

    async def create(
        self,
        url: str,
        events: Sequence[str] = ("message", "status"),
        *,
        device_id: str | None = None,
        secret: str | None = None,
    ) -> Webhook:
        """Register ``url`` for ``events``; the answer carries the signing secret (shown only now)."""
        body = _validated(
            CreateWebhookRequest, url=url, events=list(events), device_id=device_id, secret=secret
        ).body()
        return await self._client.request(Call("POST", "webhooks", _one(Webhook), json=body))

    async def list(self) -> list[Webhook]:
        """Every webhook of the account."""
        return await self._client.request(Call("GET", "webhooks", _many(Webhook)))

    async def delete(self, webhook_id: str) -> None:
        """Remove a webhook."""
        await self._client.request(Call("DELETE", path("webhooks/{webhook_id}", webhook_id=webhook_id)))


class AsyncContacts(_Resource):
    """A device's contacts, number checks and LID mappings: ``client.contacts``."""

    def _base(self, device_id: str | None) -> str:
        return path("devices/{device_id}", device_id=self._device(device_id))

    async def list(
        self,
        *,
        device_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> list[Contact]:
        """One page of contacts (``sort_by``: ``id`` or ``name``; ``sort_order``: ``asc`` or ``desc``)."""
        params = {"limit": limit, "offset": offset, "sortBy": sort_by, "sortOrder": sort_order}
        return await self._client.request(
            Call("GET", f"{self._base(device_id)}/contacts", _many(Contact), params=params)
        )

    async def get(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """One contact by phone number, ``…@c.us`` or ``…@lid``."""
        return await self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}", contact_id=contact_id),
                _one(Contact),
            )
        )

    async def update(
        self,
        chat_id: str,
        *,
        first_name: str,
        last_name: str | None = None,
        device_id: str | None = None,
    ) -> Contact:
        """Change a contact's name in the device's address book."""
        body = _validated(UpdateContactRequest, firstName=first_name, lastName=last_name).body()
        return await self._client.request(
            Call(
                "PUT",
                f"{self._base(device_id)}/" + path("contacts/{chat_id}", chat_id=chat_id),
                _one(Contact),
                json=body,
            )
        )

    async def check_exists(self, phone: str, *, device_id: str | None = None) -> NumberExists:
        """Whether WhatsApp knows ``phone``. Rate-limited by WhatsApp: do not loop over thousands."""
        return await self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/contacts/check-exists",
                _one(NumberExists),
                params={"phone": self._phone(phone, "phone")},
            )
        )

    async def profile_picture(
        self, contact_id: str, *, refresh: bool = False, device_id: str | None = None
    ) -> ProfilePicture:
        """The contact's profile picture URL (cached 24 h unless ``refresh``)."""
        return await self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/"
                + path("contacts/{contact_id}/profile-picture", contact_id=contact_id),
                _one(ProfilePicture),
                params={"refresh": str(refresh).lower()},
            )
        )

    async def block(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """Block a contact."""
        return await self._client.request(
            Call(
                "POST",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}/block", contact_id=contact_id),
                _one(Contact),
                safe=True,
            )
        )

    async def unblock(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """Unblock a contact."""
        return await self._client.request(
            Call(
                "POST",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}/unblock", contact_id=contact_id),
                _one(Contact),
                safe=True,
            )
        )

    async def lids(self, *, device_id: str | None = None, limit: int = 100, offset: int = 0) -> LidMappings:
        """Known LID ↔ phone mappings."""
        return await self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/lids",
                _many(LidMapping),
                params={"limit": limit, "offset": offset},
            )
        )

    async def lid_count(self, *, device_id: str | None = None) -> int:
        """How many LID mappings the device knows."""
        result = await self._client.request(
            Call("GET", f"{self._base(device_id)}/lids/count", _one(LidCount))
        )
        return result.count

    async def phone_for_lid(self, lid: str, *, device_id: str | None = None) -> LidMapping:
        """The phone number behind a LID (``pn`` is ``None`` when unknown)."""
        return await self._client.request(
            Call("GET", f"{self._base(device_id)}/" + path("lids/{lid}", lid=lid), _one(LidMapping))
        )

    async def lid_for_phone(self, phone: str, *, device_id: str | None = None) -> LidMapping:
        """The LID of a phone number (``lid`` is ``None`` when unknown)."""
        return await self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/" + path("lids/pn/{phone}", phone=self._phone(phone, "phone")),
                _one(LidMapping),
            )
        )


class AsyncAccountResource(_Resource):
    """The account behind the key: ``client.account``."""

    async def get(self) -> Account:
        """Account details and message quota."""
        return await self._client.request(Call("GET", "account", _one(Account)))
