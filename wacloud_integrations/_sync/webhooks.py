"""Generated from ``_async/webhooks.py`` by ``scripts/generate_sync.py``: do not edit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .. import webhooks as webhook_receiving
from ..models import CreateWebhookRequest, Webhook
from ..wire import Call, path
from ._base import _many, _one, _Resource, _validated


class Webhooks(_Resource):
    """Webhook registrations, plus verifying and parsing deliveries: ``client.webhooks``."""

    verify = staticmethod(webhook_receiving.verify_signature)
    parse = staticmethod(webhook_receiving.parse_event)

    def create(
        self,
        url: str,
        *,
        events: Sequence[str] = ("message", "status"),
        device_id: str | None = None,
        secret: str | None = None,
    ) -> Webhook:
        """Register ``url`` for ``events``; the answer carries the signing secret (shown only now)."""
        body = _validated(
            CreateWebhookRequest, url=url, events=list(events), device_id=device_id, secret=secret
        ).body()
        return self._client.request(Call("POST", "webhooks", _one(Webhook), json=body))

    def list(self) -> Iterator[Webhook]:
        """Every webhook of the account (one request)."""
        for webhook in self._client.request(Call("GET", "webhooks", _many(Webhook))):
            yield webhook

    def delete(self, webhook_id: str) -> None:
        """Remove a webhook."""
        self._client.request(Call("DELETE", path("webhooks/{webhook_id}", webhook_id=webhook_id)))
