"""The sandbox's HTTP parser (httptools, header values read as h11 read them), over a raw socket.

What reaches the sandbox is answered with its envelope naming the header; what breaks HTTP's framing or
a header name is refused by the parser before any route runs, and nothing is stored.
"""

from __future__ import annotations

import json
import socket

import pytest

from .conftest import DEVICE

BODY = json.dumps({"device_id": DEVICE, "to": "6281377666002", "message_type": "text", "text": "p"}).encode()


def _post(sb, extra: bytes) -> tuple[int, bytes]:
    """One raw ``POST /messages`` with ``extra`` header bytes; the status and the answer's body."""
    request = (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: sandbox\r\nX-Api-Key: "
        + sb.api_key.encode()
        + b"\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: "
        + str(len(BODY)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + BODY
    )
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):  # the server closes after answering (Connection: close)
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "value", [b"a\x7fb", b"a\x00b", b"a\x01b", b"cl\xc3\xa9"], ids=["DEL", "NUL", "SOH", "utf8"]
)
def test_a_control_or_non_ascii_byte_in_a_header_value_reaches_the_sandbox(sb, value: bytes) -> None:
    status, body = _post(sb, b"Idempotency-Key: " + value + b"\r\n")
    assert status == 400
    answer = json.loads(body)
    assert answer["field"] == "Idempotency-Key" and answer["code"] == "validation_error"
    assert value.decode("latin-1") not in answer["error"]  # never echoed
    assert sb.control.inbox("6281377666002") == []


@pytest.mark.parametrize(
    "extra",
    [b"Idempotency-Key: a\rb\r\n", b"Idem Key: ab\r\n", b"Idem\x7fKey: ab\r\n", b"Idempotency-Key: ab\n"],
    ids=["bare CR in a value", "space in a name", "DEL in a name", "bare LF"],
)
def test_broken_framing_or_header_names_are_refused_by_the_parser(sb, extra: bytes) -> None:
    status, body = _post(sb, extra)
    assert (status, body) == (400, b"Invalid HTTP request received.")
    assert sb.control.inbox("6281377666002") == []


def test_an_ordinary_send_over_the_raw_socket_is_201(sb) -> None:
    status, body = _post(sb, b"Idempotency-Key: raw-1\r\n")
    assert status == 201 and json.loads(body)["data"]["to"] == "6281377666002"
