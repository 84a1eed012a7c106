"""``client.messages``: sending every message type, listing stored messages, reading replies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from ..errors import InputError
from ..ids import check_key
from ..inbound import InboundCursor, InboundFilter
from ..message_types import MEDIA_TYPES
from ..models import ListContent, Message, SentMessage, build_message
from ..questions import Answer, Question, QuestionKind
from ..wire import Call
from . import asking
from ._base import _every, _many, _offset, _one, _page_size, _Resource
from .devices import AsyncDevices
from .templates import AsyncTemplates

if TYPE_CHECKING:
    from .. import bulk

# Alias: "list" is also a method name inside the class.
MessageList = list[Message]
# find_sent reads at most this many messages to the recipient before it says "not found".
_FIND_SENT_SCAN = 500


class AsyncMessages(_Resource):
    """Sending and listing messages: ``client.messages``."""

    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["text"],
        text: str,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["image"],
        image_url: str,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["video"],
        video_url: str,
        caption: str | None = None,
        as_note: bool = False,
        convert: bool = False,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["document"],
        document_url: str,
        filename: str | None = None,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["poll"],
        poll_name: str,
        poll_options: Sequence[str],
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["list"],
        message: ListContent | Mapping[str, Any],
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: Literal["template"] = "template",
        template_id: str,
        variables: Mapping[str, Any] | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
    ) -> SentMessage: ...
    @overload
    async def send(
        self,
        to: str,
        *,
        message_type: str,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
        **fields: Any,
    ) -> SentMessage: ...

    async def send(
        self,
        to: str,
        *,
        message_type: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
        reconcile: bool = False,
        **fields: Any,
    ) -> SentMessage:
        """Send any message type: ``message_type`` plus that type's fields (the API's names).

        ``to`` is normalised and ``device_id`` defaults to the client's device. Bad fields raise
        :class:`InputError` naming the field before anything is sent. With ``reconcile=True`` (for a
        retry after an uncertain outcome) a message already sent with ``idempotency_key`` is looked up
        and returned (``reconciled=True``) instead of sending again.
        """
        if message_type is not None:
            fields["message_type"] = message_type
        if isinstance(fields.get("message"), ListContent):
            fields["message"] = fields["message"].body()
        elif isinstance(fields.get("message"), Mapping):
            fields["message"] = dict(fields["message"])
        if isinstance(fields.get("poll_options"), (list, tuple)):
            fields["poll_options"] = list(fields["poll_options"])
        if isinstance(fields.get("variables"), Mapping):
            fields["variables"] = dict(fields["variables"])
        fields["device_id"] = self._device(device_id)
        # A Phone stays a Phone: str() of it would be re-read under the region.
        fields["to"] = phone = self._phone(to if isinstance(to, str) else str(to or ""))
        message = build_message(fields)
        if idempotency_key is not None:
            check_key("idempotency_key", idempotency_key)  # before the lookup, not only at the send
        if reconcile:
            if not idempotency_key:
                raise InputError("idempotency_key", "reconcile=True needs the key of the earlier attempt")
            # phone is the Phone; the model's copy is a plain str that a region would re-read.
            found = await self.find_sent(phone, idempotency_key=idempotency_key, device_id=message.device_id)
            if found is not None:
                return SentMessage(
                    message_id=found.id,
                    whatsapp_message_id=found.whatsapp_message_id,
                    status=found.status or "sent",
                    ack=found.ack,
                    to=found.to,
                    reconciled=True,
                )
        # Media sends make WhatsApp fetch the file first: they get the longer media timeout.
        timeout = self._client.config.media_timeout if message.message_type in MEDIA_TYPES else None
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
        self, to: str, *, text: str, device_id: str | None = None, idempotency_key: str | None = None
    ) -> SentMessage:
        """Send a text message."""
        return await self.send(
            to, message_type="text", text=text, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_image(
        self,
        to: str,
        *,
        image_url: str,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send an image from a publicly reachable URL."""
        return await self.send(
            to,
            message_type="image",
            image_url=image_url,
            caption=caption,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_video(
        self,
        to: str,
        *,
        video_url: str,
        caption: str | None = None,
        as_note: bool = False,
        convert: bool = False,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a video from a publicly reachable URL (``as_note`` for a round video note)."""
        return await self.send(
            to,
            message_type="video",
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
        *,
        document_url: str,
        filename: str | None = None,
        caption: str | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a document from a publicly reachable URL."""
        return await self.send(
            to,
            message_type="document",
            document_url=document_url,
            filename=filename,
            caption=caption,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_poll(
        self,
        to: str,
        *,
        poll_name: str,
        poll_options: Sequence[str],
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a poll with 2 to 12 options."""
        return await self.send(
            to,
            message_type="poll",
            poll_name=poll_name,
            poll_options=list(poll_options),
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def send_list(
        self,
        to: str,
        *,
        message: ListContent | Mapping[str, Any],
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send an interactive list (a button opening sections of rows)."""
        return await self.send(
            to, message_type="list", message=message, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        """Send a stored template; the server fills ``variables`` and refuses a missing one."""
        return await self.send(
            to,
            message_type="template",
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
    ) -> MessageList:
        """One page of stored messages (``limit`` 1 to 100), newest first by default.

        ``phone`` keeps the conversation with that number (messages to it and from it).
        ``idempotency_key`` narrows the page where the API supports that filter (the sandbox does);
        callers must still check each message's key, since a server may ignore it.
        """
        params = {
            "device_id": device_id,
            "direction": direction,
            "phone": self._phone(phone, "phone") if phone else None,
            "status": status,
            "since": since.isoformat() if since else None,
            "limit": _page_size(limit),
            "offset": _offset(offset),
            "sort_order": sort_order,
            "idempotency_key": idempotency_key,
        }
        return await self._client.request(Call("GET", "messages", _many(Message), params=params))

    def list(
        self,
        *,
        device_id: str | None = None,
        direction: str | None = None,
        phone: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        max_items: int | None = None,
        sort_order: str = "desc",
        idempotency_key: str | None = None,
    ) -> AsyncIterator[Message]:
        """Every stored message matching the filters (see :meth:`list_page`), fetching pages of ``limit``
        (1 to 100) as needed, at most ``max_items`` in all. Arguments are checked here, at the call."""
        number = self._phone(phone, "phone") if phone else None

        async def page(size: int, offset: int) -> MessageList:
            return await self.list_page(
                device_id=device_id,
                direction=direction,
                phone=number,
                status=status,
                since=since,
                limit=size,
                offset=offset,
                sort_order=sort_order,
                idempotency_key=idempotency_key,
            )

        return _every(page, _page_size(limit), max_items)

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
        else by ``text`` contained in the body; give at least one of them. ``None`` means no such
        message was found.
        """
        if not idempotency_key and text is None:
            raise InputError(
                "idempotency_key", "give the idempotency_key of the send, or the text it sent, to look for"
            )
        if idempotency_key:
            check_key("idempotency_key", idempotency_key)  # a key HTTP cannot carry was never sent
        # Filter by key on the server where it can (one short page); the loop still checks every message.
        by_key = idempotency_key if text is None else None
        async for message in self.list(
            device_id=device_id,
            direction="outbound",
            phone=to,
            since=since,
            max_items=_FIND_SENT_SCAN,
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
        self, *, device_id: str | None = None, from_number: str | None = None
    ) -> InboundCursor:
        """A cursor past the newest stored inbound message: what arrives from now on (the API's clock)."""
        newest = await self.list_page(device_id=device_id, direction="inbound", phone=from_number, limit=1)
        return InboundCursor.after(newest)

    async def reply_cursor(
        self,
        *,
        after: SentMessage | Mapping[str, Any] | None = None,
        since: datetime | str | None = None,
        device_id: str | None = None,
        from_number: str | None = None,
    ) -> InboundCursor:
        """Where a wait for a reply starts: where the intent started, so a quick reply is never lost.

        ``after``: the sent message the reply answers (a :class:`SentMessage`, or the dict a send task
        returns: ``message_id`` and ``to``); the wait reads from its server time. ``since``: a moment on
        the server's clock (a ``datetime`` or ISO 8601). With neither: just past the newest stored
        inbound message (:meth:`inbound_cursor`), what arrives from now on.
        """
        if after is not None and since is not None:
            raise InputError("after", "give after= or since=, not both")
        if since is not None:
            if isinstance(since, str):
                try:
                    since = datetime.fromisoformat(since)
                except ValueError:
                    raise InputError("since", "give a date and time in ISO 8601") from None
            if not isinstance(since, datetime) or since.tzinfo is None:
                raise InputError("since", "give a date and time with its UTC offset (ISO 8601)")
            return InboundCursor.starting_at(since)
        if after is None:
            return await self.inbound_cursor(device_id=device_id, from_number=from_number)
        data = after.model_dump() if isinstance(after, SentMessage) else dict(after)
        message_id, to = data.get("message_id"), from_number or data.get("to")
        if not isinstance(message_id, str) or not message_id or not to:
            raise InputError("after", "give the sent message (its message_id and to), as a send returns it")
        async for message in self.list(
            device_id=device_id, direction="outbound", phone=str(to), max_items=_FIND_SENT_SCAN
        ):
            if message_id in (message.id, message.message_id) and message.created_at is not None:
                return InboundCursor.starting_at(message.created_at)
        raise InputError("after", "that message is not among the messages sent to this number")

    async def poll_inbound(
        self,
        cursor: InboundCursor,
        *,
        device_id: str | None = None,
        from_number: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
    ) -> MessageList:
        """Inbound messages after ``cursor`` that match, oldest first; the cursor moves past all it read."""
        wanted = InboundFilter(contains, pattern)
        read = [
            m
            async for m in self.list(
                device_id=device_id,
                direction="inbound",
                phone=from_number,
                since=cursor.since,
                sort_order="asc",
            )
        ]
        return [m for m in cursor.take(read) if wanted.matches(m)]

    async def ask(
        self,
        to: str,
        *,
        text: str,
        choices: Mapping[str, str],
        kind: QuestionKind = "list",
        synonyms: Mapping[str, Sequence[str]] | None = None,
        device_id: str | None = None,
        expires_in: int | None = None,
        idempotency_key: str | None = None,
    ) -> Question:
        """Ask ``to`` a question and return it (wait for the answer with :meth:`wait_for_answer`).

        ``choices`` maps the ids your code branches on to the titles the person sees (unique in any
        case; at most 10); ``kind`` sends them as a ``"list"``, a ``"poll"`` or a numbered ``"text"``.
        ``synonyms`` adds words a person may type for a choice (``{"approve": ["ya", "yes", "✅"]}``).
        ``expires_in``: seconds after which the question takes no answer. Give ``idempotency_key`` (for
        example from a task's identity) so that a retry, a resume or a call after the server's 24 h
        window finds the question already asked instead of asking again.
        """
        return await asking.ask(
            self,
            to,
            text=text,
            choices=choices,
            kind=kind,
            synonyms=synonyms,
            device_id=device_id,
            expires_in=expires_in,
            idempotency_key=idempotency_key,
        )

    async def wait_for_answer(
        self,
        question: Question | Mapping[str, Any],
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 3.0,
    ) -> Answer:
        """Wait for the answer to ``question`` (a :class:`Question`, or its ``model_dump(mode="json")``).

        An answer given before this call is found too. Each reply answers one question only: the one it
        refers to (a vote, a list choice), else the newest open question to that number; a reply that
        matches no choice is not an answer and the wait goes on (:mod:`wacloud_integrations.questions`).
        Raises :class:`~wacloud_integrations.errors.QuestionExpiredError` when the question expired first,
        :class:`~wacloud_integrations.errors.WaitTimeoutError` when ``timeout`` ran out first, and a
        permanent API error at once (:mod:`wacloud_integrations.waits`).
        """
        return await asking.wait_for_answer(self, question, timeout=timeout, poll_interval=poll_interval)

    async def send_many(self, recipients: Sequence[bulk.RecipientLike], **options: Any) -> bulk.BulkReport:
        """Send to many recipients through this client; see :func:`wacloud_integrations.bulk.send_many`."""
        from .. import bulk  # here, not at the top: a client that never sends in bulk does not load it

        parts = bulk.AsyncBulkParts(
            self._client.config, self, AsyncTemplates(self._client), AsyncDevices(self._client)
        )
        return await bulk.send_many(parts, recipients, **options)
