"""Rate limits of the public endpoints: token buckets in memory, per sender and per address.

They stop one client (a script, a stuck integration) from taking a server's whole CPU (every
message runs NLU and a directory search), flooding the handoff queue or guessing passwords. No
survivor ever meets them: the defaults (20 messages a minute per sender with bursts of 10, 120 a
minute per address with bursts of 60) are far above anyone typing, and a shelter or agency whose
people share one address (one NAT) stays under the per-address limit. Each limit is set by
`RATE_LIMIT_<NAME>_PER_MINUTE` and `RATE_LIMIT_<NAME>_BURST` (see LIMITS; 0 per minute: no limit).

In memory and per process, on purpose: nothing to run or configure, and no record of who wrote
when is kept anywhere. With several servers (or Sanic workers) each counts on its own, so a
client spread over N of them gets up to N times a limit: still a bound on what any one server
does, which is what the limits are for. Exact global limits would need a shared store (Redis).

Memory is bounded: at most `RATE_LIMIT_MAX_KEYS` keys per limit (default 100,000, a few MB),
each hashed to 16 bytes (a caller-chosen sender id of any length costs the same, and no id or
address is kept in clear). Past the cap the least recently seen key is forgotten; a forgotten
key starts again with a full bucket, so a flood of new keys can make the limiter forget but
never makes it refuse someone it has not counted.

Addresses (`client_address`): the address counted is the client's as the proxy tells it (Sanic's
`SANIC_PROXIES_COUNT` or `SANIC_REAL_IP_HEADER`), else the peer's. An IPv6 address counts as its
/64: one subscriber, one host or one cloud machine gets a whole /64 and can rotate through 2^64
addresses, so counting single addresses would not limit anyone (an IPv4-mapped IPv6 address
counts as its IPv4 address).

A loopback peer that names no client is the local TLS proxy speaking for everyone (the proxy
setting is missing; production mode refuses to start that way, infra.production). It is
neither trusted as one address (that would put every survivor in one bucket and let one person
slow everyone) nor left unlimited: every request without a client address shares ONE bucket per
limit, the whole server's, whose rate is the limit's per-address rate times
`RATE_LIMIT_LOOPBACK_SHARE` (default 20: 2,400 messages a minute for ADDRESS, more than one Rasa
server answers on the project's machine, so no real night meets it; a script on the proxy's side
does). The safety function has its own global budgets, which count everyone wherever they come
from (conversations.flood_budget: new handoffs, advocates' alert texts).

Each channel answers a refusal with the kind `utter_rate_limited` (bot.dialogue), which names 911
and the 24/7 lines: a survivor who is slowed down is never left without them.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import ipaddress
import math
import time
from typing import Any, Callable, Dict, Optional

from infra.config import number_setting

DEFAULT_MAX_KEYS = 100_000
DEFAULT_LOOPBACK_SHARE = 20  # the bucket of requests without a client address: this many addresses' worth
IPV6_PREFIX = 64


@dataclasses.dataclass(frozen=True)
class Rate:
    """`per_minute` on average, up to `burst` at once. `per_minute` 0 means no limit."""

    per_minute: float
    burst: int

    @classmethod
    def from_env(cls, name: str, per_minute: float, burst: int) -> "Rate":
        """RATE_LIMIT_{name}_PER_MINUTE and RATE_LIMIT_{name}_BURST, or the defaults given."""
        return cls(number_setting(f"RATE_LIMIT_{name}_PER_MINUTE", per_minute),
                   max(1, int(number_setting(f"RATE_LIMIT_{name}_BURST", burst))))

    @property
    def unlimited(self) -> bool:
        return self.per_minute <= 0

    def times(self, share: float) -> "Rate":
        return Rate(self.per_minute * share, max(1, int(self.burst * share)))


# name: (per minute, burst); the environment names are RATE_LIMIT_{name}_PER_MINUTE / _BURST.
LIMITS = {
    "SENDER": (20, 10),                 # messages of one conversation (REST sender, web chat session, SMS texter)
    "ADDRESS": (120, 60),               # messages from one address (REST, web chat)
    "WEBCHAT_CONNECTIONS": (30, 20),    # web chat connections opened from one address
    "SIGN_IN": (10, 10),                # console sign-in attempts from one address
    "CONSOLE_API": (120, 60),           # console /api/ requests from one address
}


def rate(name: str) -> Rate:
    per_minute, burst = LIMITS[name]
    return Rate.from_env(name, per_minute, burst)




def max_keys() -> int:
    return max(1, int(number_setting("RATE_LIMIT_MAX_KEYS", DEFAULT_MAX_KEYS)))


def loopback_share() -> float:
    """RATE_LIMIT_LOOPBACK_SHARE: how many addresses' worth the shared bucket of requests without
    a client address gets (see the module docstring)."""
    return number_setting("RATE_LIMIT_LOOPBACK_SHARE", DEFAULT_LOOPBACK_SHARE)


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether a request may go on; if not, in how many whole seconds it could (`Retry-After`),
    and whether this is the first refusal of a streak (a channel that pays per reply, SMS, tells
    the person once, not at every message). A streak ends only when the key's bucket is full
    again, when the person has paused long enough: a message let through in the middle of a burst
    (a token refilled) does not start a new streak, so the person is not told twice."""

    allowed: bool
    retry_after: int = 0
    first_refusal: bool = False


ALLOWED = Decision(True)


class TokenBuckets:
    """One rate, for many keys."""

    def __init__(self, rate: Rate, max_keys: int = DEFAULT_MAX_KEYS, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        # hashed key -> [tokens, when counted, told in this streak]; oldest first
        self.buckets: "collections.OrderedDict[bytes, list]" = collections.OrderedDict()

    def _state(self, key: bytes, now: float) -> list:
        state = self.buckets.pop(key, None)
        if state is None:
            state = [float(self.rate.burst), now, False]
        else:
            state[0] = min(float(self.rate.burst), state[0] + (now - state[1]) * self.rate.per_minute / 60)
            state[1] = now
            if state[0] >= self.rate.burst:
                state[2] = False  # full again: the streak is over
        self.buckets[key] = state  # now the most recently seen
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return state

    def peek(self, key: bytes) -> Decision:
        """Would a request of `key` be let through now? Counts nothing."""
        if self.rate.unlimited:
            return ALLOWED
        state = self._state(key, self.clock())
        if state[0] >= 1:
            return ALLOWED
        wait = (1 - state[0]) * 60 / self.rate.per_minute
        return Decision(False, max(1, math.ceil(wait)), not state[2])

    def take(self, key: bytes) -> None:
        """Count one request of `key` (after `peek` let it through)."""
        if not self.rate.unlimited:
            state = self._state(key, self.clock())
            state[0] = max(0.0, state[0] - 1)

    def refused(self, key: bytes) -> None:
        if not self.rate.unlimited:
            self._state(key, self.clock())[2] = True


class Limiter:
    """Several limits checked together, each on its own key (say `sender` and `address`): a
    request is counted only when every limit lets it through, so a refusal costs nothing."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, keys: Optional[int] = None,
                 share: Optional[float] = None, **rates: Rate):
        size = keys or max_keys()
        share = loopback_share() if share is None else share
        self.limits: Dict[str, TokenBuckets] = {name: TokenBuckets(r, size, clock) for name, r in rates.items()}
        # Requests with no key for a limit (no client address): one shared bucket per limit.
        self.shared: Dict[str, TokenBuckets] = {name: TokenBuckets(r.times(share), 1, clock)
                                                for name, r in rates.items()}

    def check(self, **keys: Optional[Any]) -> Decision:
        """Count one request of these keys, or refuse it. A limit not named does not apply; one
        named with `None` (no client address) counts in that limit's shared bucket."""
        counted = [(self.shared[name] if key is None else self.limits[name],
                    SHARED_KEY if key is None else _hash(name, key)) for name, key in keys.items()]
        refusals = []
        for buckets, key in counted:
            decision = buckets.peek(key)
            if not decision.allowed:
                refusals.append(decision)
                buckets.refused(key)
        if refusals:
            return Decision(False, max(d.retry_after for d in refusals), any(d.first_refusal for d in refusals))
        for buckets, key in counted:
            buckets.take(key)
        return ALLOWED


SHARED_KEY = b"\0" * 16


def _hash(name: str, key: Any) -> bytes:
    return hashlib.blake2b(str(key).encode("utf-8", "replace"), digest_size=16, person=name.encode()[:16]).digest()


def survivor_limits() -> Limiter:
    """For a channel's messages: per conversation (`sender`) and per `address`."""
    return Limiter(sender=rate("SENDER"), address=rate("ADDRESS"))


def address_limit(name: str) -> Limiter:
    """One per-address limit of LIMITS (WEBCHAT_CONNECTIONS, SIGN_IN, CONSOLE_API)."""
    return Limiter(address=rate(name))


def client_address(request: Any, *, local_peer_counts: bool = False) -> Optional[str]:
    """The address to count a Sanic request against: the client's as the proxy tells it (when
    Sanic's proxy settings allow), else the peer's, an IPv6 one as its /64; None for a loopback
    peer with no forwarded address, which is the local TLS proxy speaking for everyone (it counts
    in the limits' shared bucket: see the module docstring).

    `local_peer_counts`: for the console's failed sign-ins (console.auth), a loopback peer counts
    as itself, as it is, and a request with no peer at all as "unknown": a lockout needs an
    address, and production mode refuses to run behind a proxy without the proxy setting, so a
    loopback peer there is a local client, not everyone."""
    forwarded = getattr(request, "remote_addr", "")
    if forwarded:
        return counted_address(forwarded)
    peer = getattr(request, "ip", "") or ""
    try:
        if not peer or ipaddress.ip_address(peer.strip("[]")).is_loopback:
            return (peer or "unknown") if local_peer_counts else None
    except ValueError:  # a UNIX socket or something odd: count it as it is
        return peer
    return counted_address(peer)


def counted_address(address: str) -> str:
    """The key an address is counted by: an IPv4 address as it is, an IPv6 address as its /64
    ("2001:db8:1:2::/64"), an IPv4-mapped IPv6 address as the IPv4 address; anything that is not
    an IP address as it is."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)
