"""The flash-sale admission state in Redis: one atomic script decides each admission.

Per sale, three keys (one hash tag, so a Redis Cluster keeps them on one node; the prefix
`flash` is FLASH_SALE_KEY_PREFIX):
- `flash:{<id>}` hash: `remaining` units, the window `start`/`end` (epoch ms), the per-buyer
  `limit`, `paused` ("1"/"0") and `gen`, a random generation written by each rebuild;
- `flash:{<id>}:buyers` hash: units each buyer holds or bought (buyer id → units);
- `flash:{<id>}:returned` set: reservations already given back (a give-back is idempotent).

Redis is not the source of truth (promotions.models.FlashSale is): the state is rebuilt from
the database when its key is missing (Redis restarted or flushed) and when a service changed
the sale. Give-backs carry the generation that admitted the units and are dropped when the
state was rebuilt since (the rebuild counted them already): when in doubt Redis under-sells
until the next rebuild, it never over-admits, and the database's constraint stays the last word.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

ADMIT = """
local s = redis.call('HMGET', KEYS[1], 'remaining', 'start', 'end', 'limit', 'paused', 'gen')
if not s[1] then return {'missing', 0, ''} end
local now = tonumber(ARGV[3])
if s[5] == '1' then return {'paused', 0, s[6]} end
if now < tonumber(s[2]) then return {'not_started', 0, s[6]} end
if now >= tonumber(s[3]) then return {'ended', 0, s[6]} end
local units = tonumber(ARGV[2])
local taken = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local limit = tonumber(s[4])
if taken + units > limit then return {'limit_reached', limit - taken, s[6]} end
local remaining = tonumber(s[1])
if remaining < units then return {'sold_out', remaining, s[6]} end
redis.call('HINCRBY', KEYS[1], 'remaining', -units)
redis.call('HINCRBY', KEYS[2], ARGV[1], units)
return {'admitted', remaining - units, s[6]}
"""

GIVE_BACK = """
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
if ARGV[4] ~= '' and redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'remaining', ARGV[3])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[3])) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1
"""

INSTALL = """
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'remaining', ARGV[3], 'start', ARGV[4], 'end', ARGV[5],
  'limit', ARGV[6], 'paused', ARGV[7])
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for _, key in ipairs(KEYS) do redis.call('PEXPIREAT', key, ARGV[8]) end
return 1
"""

#: The state outlives the sale's end by this, then Redis drops it (a late admission rebuilds it
#: and is refused as ended).
KEEP_AFTER_END_MS = 24 * 3600 * 1000


@cache
def client() -> redis.Redis:
    """The Redis of the flash sales (FLASH_SALE_REDIS_URL), one connection pool per process."""
    return redis.Redis.from_url(settings.FLASH_SALE_REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


@cache
def _script(source: str):
    return client().register_script(source)


def keys(sale_id: int) -> list[str]:
    base = f"{settings.FLASH_SALE_KEY_PREFIX}:{{{sale_id}}}"
    return [base, f"{base}:buyers", f"{base}:returned"]


def lock(sale_id: int):
    """The lock a rebuild holds, so one process at a time reads the database and installs."""
    return client().lock(f"{keys(sale_id)[0]}:rebuild", timeout=10, blocking_timeout=10)


@dataclass(frozen=True)
class Decision:
    """The script's answer: `outcome` (admitted, missing, paused, not_started, ended, sold_out,
    limit_reached), the units still `left` (to the sale, or to the buyer when limit_reached)
    and the generation `gen` of the state that decided."""

    outcome: str
    left: int
    gen: str


def admit(sale_id: int, buyer_id: int, units: int, now_ms: int) -> Decision:
    outcome, left, gen = _script(ADMIT)(keys=keys(sale_id)[:2], args=[buyer_id, units, now_ms])
    return Decision(outcome.decode(), int(left), gen.decode() if isinstance(gen, bytes) else str(gen))


def give_back(sale_id: int, *, gen: str, buyer_id: int, units: int, token: str = "") -> bool:
    """Return `units` of `buyer_id` to the pool if the state `gen` is still the current one;
    `token` (a reservation id) makes it count once however often it is called."""
    if not gen:
        return False
    return bool(_script(GIVE_BACK)(keys=keys(sale_id), args=[gen, buyer_id, units, token]))


def install(
    sale_id: int, *, remaining: int, start_ms: int, end_ms: int, limit: int, paused: bool, taken: dict, force: bool
) -> bool:
    """Write a whole new state (new generation); unless `force`, only if none exists."""
    args = [
        "1" if force else "0",
        secrets.token_hex(8),
        max(remaining, 0),
        start_ms,
        end_ms,
        limit,
        "1" if paused else "0",
        end_ms + KEEP_AFTER_END_MS,
    ]
    for buyer_id, units in taken.items():
        args += [buyer_id, units]
    return bool(_script(INSTALL)(keys=keys(sale_id), args=args))


def forget(sale_id: int) -> None:
    """Drop the state: the next admission rebuilds it from the database."""
    client().delete(*keys(sale_id))


def snapshot(sale_id: int) -> dict:
    """The state as Redis holds it now (tests, admin, benchmark): {} when missing."""
    state = {k.decode(): v.decode() for k, v in client().hgetall(keys(sale_id)[0]).items()}
    if state:
        state["buyers"] = {int(k): int(v) for k, v in client().hgetall(keys(sale_id)[1]).items()}
    return state
