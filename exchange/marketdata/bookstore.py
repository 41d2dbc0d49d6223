"""The public book in Redis, written only by the market's matcher after each commit.

Per market (``md:{symbol}:...``):
- ``bid:q`` / ``ask:q``: hash price text -> quantity text, every level of the book;
- ``bid:p`` / ``ask:p``: sorted set of the same prices, scored by price in ticks (the order);
- ``head``: the sequence of the book's last change (the ``sequence`` of the last book message);
- ``updates``: sorted set of the recent book messages, scored by their ``sequence``, each member
  ``"<ms since the epoch>|<message JSON>"``; kept for ``UPDATES_WINDOW_SECONDS`` (gap fill).

A write is one Lua script, so a reader (snapshot, depth, gap fill) always sees the book, its
head and its update window at one and the same sequence.
"""
import time

import orjson
from django.conf import settings

UPDATES_WINDOW_SECONDS = getattr(settings, "MARKETDATA_UPDATES_WINDOW_SECONDS", 300)
UPDATES_MAX = 50_000


def keys(symbol: str) -> list[str]:
    base = f"md:{symbol}:"
    return [base + "bid:q", base + "bid:p", base + "ask:q", base + "ask:p", base + "head", base + "updates"]


# KEYS: bid:q, bid:p, ask:q, ask:p, head, updates
# ARGV: mode ("delta" | "reset"), expected head ("" = must be absent), new head, updates member ("" = none),
#       cutoff ms, max updates, then (side, price, quantity, ticks) per change; quantity "0" removes.
WRITE_SCRIPT = """
local head = redis.call('GET', KEYS[5])
if ARGV[1] == 'delta' then
  if ARGV[2] == '' then
    if head then return {0, head} end
  elseif head ~= ARGV[2] then
    return {0, head or ''}
  end
else
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6])
end
for i = 7, #ARGV, 4 do
  local q, p = KEYS[3], KEYS[4]
  if ARGV[i] == 'buy' then q, p = KEYS[1], KEYS[2] end
  if ARGV[i + 2] == '0' then
    redis.call('HDEL', q, ARGV[i + 1])
    redis.call('ZREM', p, ARGV[i + 1])
  else
    redis.call('HSET', q, ARGV[i + 1], ARGV[i + 2])
    redis.call('ZADD', p, ARGV[i + 3], ARGV[i + 1])
  end
end
redis.call('SET', KEYS[5], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[3], ARGV[4])
  local cutoff = tonumber(ARGV[5])
  for _ = 1, 200 do
    local first = redis.call('ZRANGE', KEYS[6], 0, 0)
    if #first == 0 then break end
    local ts = tonumber(string.match(first[1], '^(%d+)|'))
    if ts == nil or ts >= cutoff then break end
    redis.call('ZREMRANGEBYRANK', KEYS[6], 0, 0)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[6]) - 1)
end
return {1, head or ''}
"""

# KEYS: bid:q, bid:p, ask:q, ask:p, head. ARGV: levels per side (0 = all).
READ_SCRIPT = """
local n = tonumber(ARGV[1])
local stop = -1
if n > 0 then stop = n - 1 end
local head = redis.call('GET', KEYS[5])
local bids = redis.call('ZREVRANGE', KEYS[2], 0, stop)
local asks = redis.call('ZRANGE', KEYS[4], 0, stop)
local function quantities(hash, prices)
  local out = {}
  for i = 1, #prices, 1000 do
    local chunk = {}
    for j = i, math.min(i + 999, #prices) do chunk[#chunk + 1] = prices[j] end
    local got = redis.call('HMGET', hash, unpack(chunk))
    for k = 1, #chunk do out[#out + 1] = got[k] or '0' end
  end
  return out
end
return {head or '', bids, quantities(KEYS[1], bids), asks, quantities(KEYS[3], asks)}
"""


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def snapshot_reply(reply: list) -> tuple[int | None, list, list]:
    """(head, bids, asks) from ``READ_SCRIPT``'s reply (a sync or an asyncio client's)."""
    head, bids, bq, asks, aq = reply
    head = _text(head)
    return (
        int(head) if head else None,
        [(_text(p), _text(q)) for p, q in zip(bids, bq, strict=True)],
        [(_text(p), _text(q)) for p, q in zip(asks, aq, strict=True)],
    )


class BookStore:
    """Reads and writes of the Redis book for one Redis client."""

    def __init__(self, client) -> None:
        self.client = client
        self._write = client.register_script(WRITE_SCRIPT)
        self._read = client.register_script(READ_SCRIPT)

    def write(self, symbol: str, *, mode: str, expected_head: int | None, head: int, message: bytes | None,
              changes: list[tuple[str, str, str, int]]) -> tuple[bool, int | None]:
        """Apply ``changes`` and move the head; in ``delta`` mode only if the stored head is
        ``expected_head`` (None: no book stored). Returns (applied, the head found before)."""
        now_ms = int(time.time() * 1000)
        args: list = [mode, "" if expected_head is None else str(expected_head), str(head),
                      b"" if message is None else str(now_ms).encode() + b"|" + message,
                      now_ms - UPDATES_WINDOW_SECONDS * 1000, UPDATES_MAX]
        for change in changes:
            args.extend(change)
        ok, found = self._write(keys=keys(symbol), args=args)
        found = _text(found)
        return bool(ok), (int(found) if found else None)

    def snapshot(self, symbol: str, levels: int = 0) -> tuple[int | None, list, list]:
        """(head, bids, asks) in one atomic read; levels as (price text, quantity text), best first."""
        return snapshot_reply(self._read(keys=keys(symbol)[:5], args=[levels]))

    def updates_after(self, symbol: str, after: int) -> tuple[int | None, list[dict]]:
        """(head, the stored book messages with sequence > after, in order)."""
        k = keys(symbol)
        pipe = self.client.pipeline(transaction=True)
        pipe.get(k[4])
        pipe.zrangebyscore(k[5], f"({after}", "+inf")
        head, members = pipe.execute()
        messages = [orjson.loads(m.split(b"|", 1)[1]) for m in members]
        return (int(head) if head else None), messages
