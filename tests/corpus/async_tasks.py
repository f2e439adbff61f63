"""Coroutines under asyncio: tasks suspended at await and resumed, and an exception across await."""

import asyncio


async def step(name, log):
    log.append(name + ":start")
    await asyncio.sleep(0)  # suspends the task once
    log.append(name + ":end")
    return name


async def failing():
    await asyncio.sleep(0)
    raise ValueError("async failure")


async def orchestrate():
    log = []
    results = await asyncio.gather(step("a", log), step("b", log))
    try:
        await failing()
    except ValueError:
        log.append("caught")
    return results, log


def main():
    return asyncio.run(orchestrate())
