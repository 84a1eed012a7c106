"""The decisions of docs/api-decisions.md by id, and why a short run cannot check some of them.

The page carries each id (`` `D-…` ``); ``tests/sandbox/test_conformance.py`` checks that the page and
this table name the same ids, so a report's citation always leads to the paragraph it means.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DECISIONS", "Decision", "by_id"]

_PERSON = "needs a person on the other phone (a reply, a vote, a list choice)"
_DELIVERY = "webhook delivery needs a receiver the service can reach; a conformance run has none"


@dataclass(frozen=True)
class Decision:
    """One decided point. ``never`` says why no run of the command checks it (None: some probe does)."""

    id: str
    title: str
    never: str | None = None


DECISIONS: tuple[Decision, ...] = (
    Decision("D-envelope", "every answer is the success or error envelope"),
    Decision("D-error-unauthorized", "a missing or unknown key is 401 unauthorized"),
    Decision("D-error-validation", "a missing or invalid field is 400 validation_error naming the field"),
    Decision(
        "D-error-invalid-phone",
        "an unparseable number is 400 invalid_phone_number",
        "the only number a run may use is the one given with --send-to",
    ),
    Decision("D-error-template-variables", "a missing template variable is 400 missing_template_variables"),
    Decision(
        "D-error-not-on-whatsapp",
        "a send to a number not on WhatsApp is 400 not_on_whatsapp",
        "it needs a send to a number that is not on WhatsApp; a run sends only to --send-to",
    ),
    Decision("D-error-not-found", "an unknown id is 404 not_found"),
    Decision(
        "D-error-device-not-connected",
        "a send from a device that is not connected is 409 device_not_connected",
        "it needs a disconnected device and a send",
    ),
    Decision("D-error-idempotency-reused", "a key reused with another body is 409 idempotency_key_reused"),
    Decision(
        "D-error-quota", "a used-up quota is 403 quota_exhausted", "it would use up the account's quota"
    ),
    Decision(
        "D-error-rate-limited",
        "too many requests is 429 rate_limited with Retry-After",
        "a run stays at one request a second on purpose",
    ),
    Decision(
        "D-error-internal", "an unexpected fault is 500 internal_error", "no request provokes a server fault"
    ),
    Decision(
        "D-error-foreign-ids",
        "another account's ids answer 404, never 403",
        "it needs a second account's key",
    ),
    Decision("D-device", "a device's fields and statuses"),
    Decision(
        "D-devices-list-all",
        "GET /devices lists every device, ?status=connected filters",
        "a run cannot tell whether a device is missing from the list",
    ),
    Decision(
        "D-device-create",
        "POST /devices answers 201 with the device and a message",
        "a run creates no device",
    ),
    Decision("D-device-status", "GET /devices/{id}/status gives device_id and status"),
    Decision("D-device-pair", "the pairing QR", "asking for a QR starts pairing"),
    Decision("D-device-sync", "POST /devices/{id}/messages/sync", "a sync changes the stored messages"),
    Decision("D-send-answer", "POST /messages answers 201 with message_id, status sent, ack 1"),
    Decision("D-list-message", "the list message's shape; button messages refused"),
    Decision("D-template-send", "a template send renders on the server"),
    Decision("D-phone-forms", "the accepted forms of to; the answer's to is international digits"),
    Decision("D-status-ack", "status and ack move forward: sent/1, delivered/2, read/3, failed/-1"),
    Decision(
        "D-not-on-whatsapp",
        "a send to a number not on WhatsApp is refused, nothing stored",
        "it needs a number that is not on WhatsApp",
    ),
    Decision("D-stored-message", "a stored message's fields"),
    Decision("D-messages-query", "GET /messages filters, paging and its meta"),
    Decision("D-poll-vote", "a poll vote is an inbound poll_vote message", _PERSON),
    Decision("D-list-choice", "a list choice is an inbound list_response message", _PERSON),
    Decision("D-quoted-reply", "a quoted text reply keeps text and adds content.reply_to", _PERSON),
    Decision("D-unknown-inbound-type", "an unknown message_type is kept and never read as text", _PERSON),
    Decision("D-reply-reference", "reply_to is WACloud's message id", _PERSON),
    Decision(
        "D-question-key",
        "a question's idempotency key carries its expiry and synonyms",
        "the client's own convention, kept in the key the service stores",
    ),
    Decision("D-question-assignment", "which reply answers which question", _PERSON),
    Decision("D-question-expiry", "expiry judged on the server's timestamps", _PERSON),
    Decision("D-idempotency-replay", "the same key and body answer the first answer again, sending nothing"),
    Decision(
        "D-idempotency-window",
        "answers are kept for 24 h",
        "the 24 h window cannot be seen in a run of minutes",
    ),
    Decision(
        "D-idempotency-key-form",
        "a key is 1 to 255 printable ASCII characters",
        "a service that took a bad key would send; a run never risks a send for it",
    ),
    Decision("D-path-utf8", "a path id that is not UTF-8 is 400 validation_error naming it"),
    Decision("D-otp-send", "POST /messages/otp answers otp_id, expires_at, expires_in_minutes, to"),
    Decision("D-otp-verify", "a wrong code is 400 otp_invalid; the right one 200 verified"),
    Decision("D-otp-status", "GET /messages/otp/{id}/status and its statuses"),
    Decision(
        "D-otp-code-hidden",
        "no answer carries the code",
        "a run never learns the code, so it cannot look for it",
    ),
    Decision("D-template", "a template's fields and placeholders"),
    Decision("D-template-update", "PUT /templates/{id} takes any subset of the fields"),
    Decision("D-delete-answer", "DELETE answers 200 with data null"),
    Decision("D-template-preview", "POST /templates/{id}/preview renders; extra variables ignored"),
    Decision("D-webhook", "POST /webhooks answers 201; the secret only in the create answer"),
    Decision("D-webhook-delivery", "the delivery body, its events and data", _DELIVERY),
    Decision("D-webhook-signature", "the delivery headers and HMAC-SHA512 signature", _DELIVERY),
    Decision("D-webhook-retries", "a failed delivery is retried 1, 2, 4, 8, 16 s", _DELIVERY),
    Decision("D-contact", "a contact's fields, WAHA's camelCase names"),
    Decision("D-contacts-list", "GET /devices/{id}/contacts is a bare list"),
    Decision("D-check-exists", "check-exists gives numberExists, chatId, phone"),
    Decision(
        "D-contact-changes",
        "updating, blocking and unblocking a contact",
        "they change the user's address book",
    ),
    Decision(
        "D-profile-picture",
        "a contact's profile picture",
        "it needs a contact id, which a run does not put in its report",
    ),
    Decision("D-lids", "LID mappings and their count"),
    Decision("D-account", "GET /account, its quota and rate limit"),
    Decision(
        "D-quota-units",
        "each accepted message uses one unit; a replay none",
        "other traffic on the account moves the quota during a run",
    ),
)

_BY_ID = {d.id: d for d in DECISIONS}


def by_id(decision_id: str) -> Decision:
    """The decision with this id (KeyError for an unknown one: a probe citing a typo fails its test)."""
    return _BY_ID[decision_id]
