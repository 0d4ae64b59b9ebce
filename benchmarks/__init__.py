"""Benchmarks of the real ``failover-otp serve`` process, with targets (``make bench``).

Each benchmark starts the service as a subprocess on a loopback port, drives it with the
asyncio + aiohttp load generator in :mod:`benchmarks.loadgen`, and measures in the same run a
bare ASGI app on the same server stack (uvicorn + uvloop + httptools) as the ceiling that our
figure is reported against. ``python -m benchmarks --help`` lists the options; results land in
``artifacts/bench/`` and, for a full run, in ``docs/benchmarks.md``.
"""
