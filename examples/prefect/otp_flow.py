"""The ``otp_verification`` flow while a user verifies the code in your app.

.venv-prefect/bin/python -m examples.prefect.otp_flow
"""

from __future__ import annotations

import threading

from examples.prefect._env import local_stack, say, until
from prefect_blocks.flows import otp_verification

USER = "6281234567501"


def main() -> None:
    with local_stack() as stack:
        result: dict = {}
        runner = threading.Thread(
            target=lambda: result.update(otp_verification(stack.credentials, USER, poll_interval=0.5))
        )
        runner.start()
        code = until(lambda: stack.ctl.last_code(USER), between=lambda: runner.join(0.05))  # their phone
        with stack.credentials.get_client() as app:  # ...and types into your app
            say(f"app verifies the code: {app.otp.verify(USER, code=code).verified}")
        runner.join()
        say(f"flow result: {result}")


if __name__ == "__main__":
    main()
