"""A task cancelled while suspended in asyncio.sleep(0): CancelledError is thrown in from C."""

import asyncio


async def sleeper(log):
    log.append("sleeping")
    await asyncio.sleep(0)
    log.append("woke")  # never reached: cancelled while suspended above


async def canceller():
    log = []
    task = asyncio.ensure_future(sleeper(log))
    await asyncio.sleep(0)  # sleeper starts and suspends
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        log.append("cancelled")
    return log


def main():
    return asyncio.run(canceller())
