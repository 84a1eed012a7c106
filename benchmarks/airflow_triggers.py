"""1,000 concurrent ``WACloudOTPVerifiedSensor`` triggers in one event loop, as in a triggerer.

    .venv-airflow/bin/python -m benchmarks.airflow_triggers [--triggers 1000] [--poll 5] [--verify 50]

The sandbox runs in a child process (its CPU is not counted). Measured here, in the loop's process:
memory per waiting trigger (RSS growth / triggers, after every trigger has polled at least once),
CPU per trigger per poll, and the delay between an OTP being verified and its trigger firing
(expected: about half the poll interval plus one request). Bounded: about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time

import psutil

from examples.airflow import _env

KEY = "waha_bench_airflow_triggers"


def _numbers(n: int) -> list[str]:
    return [f"62815{i:08d}" for i in range(n)]


async def _bench(base_url: str, device_id: str, triggers: int, poll: float, verify: int) -> dict[str, float]:
    from airflow_provider.triggers.wacloud import WACloudOTPVerifiedTrigger
    from wacloud_integrations import WACloud
    from wacloud_integrations.sandbox import SandboxControl

    phones = _numbers(triggers)
    with WACloud(KEY, base_url=base_url, default_device_id=device_id) as client:
        otps = [client.otp.send(p, expiry_minutes=60).otp_id for p in phones]
    me = psutil.Process()
    rss0, cpu0 = me.memory_info().rss, me.cpu_times()
    fired: dict[int, float] = {}

    async def wait(i: int) -> None:
        trigger = WACloudOTPVerifiedTrigger(otp_id=otps[i], poll_interval=poll)
        await trigger.run().__anext__()
        fired[i] = time.perf_counter()

    started = time.perf_counter()
    tasks = [asyncio.create_task(wait(i)) for i in range(triggers)]
    # Two full poll rounds: every trigger has opened its client and polled at least once.
    await asyncio.sleep(2 * poll + 1)
    rss1, cpu1 = me.memory_info().rss, me.cpu_times()
    window = time.perf_counter() - started
    polls = triggers * (window / poll)
    verified_at: dict[int, float] = {}

    def user() -> None:
        # Verifications spread evenly over one poll interval: the triggers all started together and
        # poll in phase, so verifying at one instant would measure that phase, not the mean delay.
        with WACloud(KEY, base_url=base_url) as app, SandboxControl(base_url, KEY) as ctl:
            codes = [ctl.last_code(phones[i]) for i in range(verify)]
            begin = time.perf_counter()
            for i, code in enumerate(codes):
                assert code is not None
                time.sleep(max(0.0, begin + poll * i / verify - time.perf_counter()))
                app.otp.verify(phones[i], code=code)
                verified_at[i] = time.perf_counter()

    await asyncio.to_thread(user)
    done, _ = await asyncio.wait(tasks[:verify], timeout=poll * 3 + 10)
    delays = [fired[i] - verified_at[i] for i in range(verify) if i in fired]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    return {
        "triggers": triggers,
        "poll_interval_s": poll,
        "rss_per_trigger_kib": (rss1 - rss0) / triggers / 1024,
        "cpu_ms_per_trigger_poll": cpu / polls * 1000,
        "cpu_share_of_one_core": cpu / window,
        "fired": len(done),
        "delay_mean_s": statistics.mean(delays),
        "delay_median_s": statistics.median(delays),
        "delay_p95_s": sorted(delays)[int(len(delays) * 0.95) - 1],
        "delay_max_s": max(delays),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=5.0)
    parser.add_argument("--verify", type=int, default=50)
    args = parser.parse_args()
    _env.configure(tempfile.mkdtemp(prefix="wacloud-bench-"))
    from wacloud_integrations.sandbox import SandboxProcess

    with SandboxProcess(api_keys=[KEY], seed=True) as sandbox:
        _env.use_sandbox(sandbox.base_url, KEY, sandbox.info.get("device_id") or _env_device())
        result = asyncio.run(_bench(sandbox.base_url, _env_device(), args.triggers, args.poll, args.verify))
    for name, value in result.items():
        print(f"{name:>26}: {value:.3f}" if isinstance(value, float) else f"{name:>26}: {value}")
    print(f"{'threads':>26}: {threading.active_count()}  (pid {os.getpid()})")


def _env_device() -> str:
    return "550e8400-e29b-41d4-a716-446655440000"


if __name__ == "__main__":
    main()
