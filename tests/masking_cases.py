"""One hostile received text and what every integration must show of it (the core's masking policy).

Each integration's tests send this text through its own path (the Airflow sensor's XCom, the Prefect
wait's result and bridge event, the MCP tool's output) and compare with :data:`MASKED`: an
integration that went back to its own masking (``******``, no masking, another digit count) fails.
The invisible character sits only inside a code, so the MCP server's removal of invisible
characters does not change the expected text.
"""

HOSTILE = "kodenya 123456, kode:091760 (OTP091760) 12\u200b3456 #1234567 ١٢٣٤٥٦ tahun 2026 dan 12345"
MASKED = "kodenya ••••••, kode:•••••• (OTP••••••) •••••• #1234567 •••••• tahun 2026 dan 12345"
