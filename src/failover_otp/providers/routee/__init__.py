"""The real Routee provider: Routee's SMS and Viber APIs over aiohttp.

Everything that knows Routee's JSON lives in this package: ``bodies`` (what we send),
``wire`` (what we read), ``errors`` (how failed answers map onto the provider error tree),
``auth`` (token caching) and ``client`` (the I/O).
"""

from failover_otp.providers.routee.client import RouteeProvider
from failover_otp.providers.routee.wire import MalformedBody, parse_callback

__all__ = ["MalformedBody", "RouteeProvider", "parse_callback"]
