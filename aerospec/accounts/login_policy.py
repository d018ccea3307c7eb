"""One policy against password guessing and reset bombing, for every way of signing in.

The login page, `POST /api/auth/login`, accepting an invitation (page and API), the password change
(which checks the current password) and, later, SSO all call `begin` before they check anything and
then exactly one of `succeeded`, `failed` or `cancel`; both forgot-password routes call
`reserve_reset_email` before sending. Nothing else throttles per account.

- **Per account and per client address, progressively.** An attempt is counted as a failure when it
  begins (so a burst of parallel guesses cannot slip through before the first one is counted) and given
  back if it succeeds. The first `free` failures cost nothing; after that each failure makes the next
  attempt wait `BASE_DELAY` × 2ⁿ seconds (1, 2, 4 … up to `MAX_DELAY`, 15 minutes), and an attempt
  that comes too early is refused before any password is checked. An account gets 5 free failures;
  an address 20 (an office shares one; IPv6 counts by /64). Counts are forgotten 24 hours after the
  last failure; a success clears the account's count, never the address's.
- **The real user still gets in.** A successful sign-in sets a signed device cookie (30 days) naming
  the accounts that signed in on that browser. An attempt from such a browser for such an account is
  counted on that browser's own bucket instead of the account's and the address's, so an attacker
  hammering the account elsewhere cannot lock its owner out, and a stolen cookie still buys only the
  same slow ramp.
- **The user hears of it.** At `NOTIFY_AFTER` failures the account's owner is emailed, at most once a
  day.
- **Reset emails**: at most `RESET_EMAILS_PER_HOUR` per address, counted in a sliding hour.
- **No oracle.** Everything is keyed on the submitted address (an HMAC of it, so the store holds no
  email addresses), whether or not an account has it: known and unknown addresses are throttled,
  answered and timed alike.

Counts live in Redis in production (`AUTH_THROTTLE_STORAGE_URI`, by default the rate limits' Redis or
the jobs' Redis), so every web process shares them; with no Redis, in this process's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from aerospec.errors import DomainError

log = logging.getLogger(__name__)

FREE_ACCOUNT_FAILURES = 5
FREE_ADDRESS_FAILURES = 20
FREE_DEVICE_FAILURES = 5
BASE_DELAY = 1.0  # seconds, doubled with each failure past the free ones
MAX_DELAY = 15 * 60
WINDOW = 24 * 3600  # a bucket is forgotten this long after its last failure
NOTIFY_AFTER = 10
RESET_EMAILS_PER_HOUR = 3
DEVICE_COOKIE = "aerospec_device"
DEVICE_MAX_AGE = 30 * 24 * 3600
DEVICE_ACCOUNTS = 5  # accounts one browser remembers


class TooManyAttempts(DomainError):
    """Refused before anything was checked: wait `retry_after` seconds (429 with Retry-After)."""

    status = 429
    title = "Too many attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def wait_words(seconds: int) -> str:
    """'30 seconds', '1 minute', '15 minutes', '2 hours'."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = math.ceil(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def login_refused_message(retry_after: int) -> str:
    """The same words whether or not the account exists."""
    return f"Too many sign-in attempts. Try again in {wait_words(retry_after)}."


def reset_refused_message(retry_after: int) -> str:
    return (
        f"Too many reset emails were asked for this address. Try again in {wait_words(retry_after)}; "
        "a link already sent still works for an hour."
    )


# ---- where the counts live


@dataclass(frozen=True)
class Bucket:
    key: str
    free: int


class MemoryStore:
    """Counts in this process (no Redis): the embedded default, and unit tests."""

    MAX_KEYS = 100_000  # past this, forgotten buckets are swept out (a flood of made-up emails)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[str, float]] = {}
        self._logs: dict[str, list[float]] = {}

    def _state(self, key: str, now: float) -> dict[str, float]:
        state = self._buckets.get(key)
        if state is None or now - state["last"] > WINDOW:
            state = {"f": 0, "last": 0.0, "next": 0.0, "mailed": state["mailed"] if state else 0.0}
            self._buckets[key] = state
        return state

    def _sweep(self, now: float) -> None:
        if len(self._buckets) > self.MAX_KEYS:
            self._buckets = {k: s for k, s in self._buckets.items() if now - max(s["last"], s["mailed"]) <= WINDOW}
        if len(self._logs) > self.MAX_KEYS:
            self._logs = {k: log_ for k, log_ in self._logs.items() if log_ and log_[-1] > now - 3600}

    def claim(self, buckets: list[Bucket], now: float) -> tuple[float, list[int]]:
        with self._lock:
            self._sweep(now)
            states = [self._state(b.key, now) for b in buckets]
            wait = max([s["next"] - now for s in states] + [0.0])
            if wait > 0:
                return wait, []
            for bucket, state in zip(buckets, states, strict=True):
                state["f"] += 1
                state["last"] = now
                state["next"] = now + _delay(int(state["f"]), bucket.free)
            return 0.0, [int(s["f"]) for s in states]

    def give_back(self, buckets: list[Bucket], now: float) -> None:
        with self._lock:
            for bucket in buckets:
                state = self._state(bucket.key, now)
                state["f"] = max(0, state["f"] - 1)
                if state["f"] < bucket.free:
                    state["next"] = 0.0

    def clear(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._buckets.pop(key, None)

    def first_mail_today(self, key: str, now: float) -> bool:
        with self._lock:
            state = self._state(key, now)
            if now - state["mailed"] < WINDOW:
                return False
            state["mailed"] = now
            return True

    def take_slot(self, key: str, limit: int, period: float, now: float) -> float:
        with self._lock:
            self._sweep(now)
            log_ = [t for t in self._logs.get(key, []) if t > now - period]
            if len(log_) >= limit:
                self._logs[key] = log_
                return log_[0] + period - now
            self._logs[key] = [*log_, now]
            return 0.0


_CLAIM = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local wait = 0
local counts = {}
for i, key in ipairs(KEYS) do
  local f = tonumber(redis.call('HGET', key, 'f') or '0')
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  local nxt = tonumber(redis.call('HGET', key, 'next') or '0')
  if now - last > window then f = 0; nxt = 0 end
  counts[i] = f
  if nxt - now > wait then wait = nxt - now end
end
if wait > 0 then return {tostring(wait)} end
local answer = {'0'}
for i, key in ipairs(KEYS) do
  local free = tonumber(ARGV[4 + i])
  local f = counts[i] + 1
  local delay = 0
  if f >= free then delay = math.min(cap, base * 2 ^ (f - free)) end
  redis.call('HSET', key, 'f', f, 'last', now, 'next', now + delay)
  redis.call('EXPIRE', key, math.ceil(window + cap))
  answer[i + 1] = f
end
return answer
"""

_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  local f = tonumber(redis.call('HGET', key, 'f') or '0')
  if f > 0 then
    f = f - 1
    redis.call('HSET', key, 'f', f)
    if f < tonumber(ARGV[i]) then redis.call('HSET', key, 'next', 0) end
  end
end
return 1
"""

_FIRST_MAIL = """
local mailed = tonumber(redis.call('HGET', KEYS[1], 'mailed') or '0')
if tonumber(ARGV[1]) - mailed < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'mailed', ARGV[1])
return 1
"""

_TAKE_SLOT = """
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + period - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(period))
return '0'
"""


class RedisStore:
    """The same counts in Redis, each step one atomic script (shared by every web process)."""

    def __init__(self, redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._first_mail = redis.register_script(_FIRST_MAIL)
        self._take_slot = redis.register_script(_TAKE_SLOT)

    def claim(self, buckets: list[Bucket], now: float) -> tuple[float, list[int]]:
        args = [now, WINDOW, BASE_DELAY, MAX_DELAY, *[b.free for b in buckets]]
        answer = self._claim(keys=[b.key for b in buckets], args=args)
        wait = float(answer[0])
        return (wait, []) if wait > 0 else (0.0, [int(n) for n in answer[1:]])

    def give_back(self, buckets: list[Bucket], now: float) -> None:
        self._give_back(keys=[b.key for b in buckets], args=[b.free for b in buckets])

    def clear(self, keys: list[str]) -> None:
        if keys:
            self.redis.delete(*keys)

    def first_mail_today(self, key: str, now: float) -> bool:
        return bool(self._first_mail(keys=[key], args=[now, WINDOW]))

    def take_slot(self, key: str, limit: int, period: float, now: float) -> float:
        return float(self._take_slot(keys=[key], args=[now, period, limit, f"{now}:{secrets.token_hex(4)}"]))


def _delay(failures: int, free: int) -> float:
    """How long after the `failures`-th failure the next attempt must wait."""
    return 0.0 if failures < free else min(MAX_DELAY, BASE_DELAY * 2 ** (failures - free))


# ---- the policy


@dataclass
class Attempt:
    """One sign-in attempt between `begin` and its outcome."""

    policy: LoginPolicy
    email_key: str | None
    buckets: list[Bucket]
    account_key: str | None
    device_id: str
    device_accounts: list[str]
    failures: int = 0
    done: bool = field(default=False, repr=False)


class LoginPolicy:
    """The counts of one app (its store, secret and key prefix)."""

    def __init__(self, store, secret: str, prefix: str, enabled: bool = True) -> None:
        self.store = store
        self.secret = secret.encode()
        self.prefix = prefix
        self.enabled = enabled
        self._devices = URLSafeTimedSerializer(secret, salt="aerospec.device")

    # keys

    def _email_key(self, email: str) -> str:
        # The same folding as the account lookup (strip, lower), so variants share one count.
        normal = (email or "").strip().lower()
        return hmac.new(self.secret, normal.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _address(ip: str | None) -> str:
        try:
            parsed = ipaddress.ip_address((ip or "").strip())
        except ValueError:
            return "unknown"
        if isinstance(parsed, ipaddress.IPv6Address):
            if parsed.ipv4_mapped is not None:
                return str(parsed.ipv4_mapped)
            return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
        return str(parsed)

    def _device(self, cookie: str | None) -> tuple[str, list[str]]:
        try:
            data = self._devices.loads(cookie or "", max_age=DEVICE_MAX_AGE)
            return str(data["d"]), [str(e) for e in data["e"]][:DEVICE_ACCOUNTS]
        except (BadSignature, KeyError, TypeError, ValueError):
            return secrets.token_hex(8), []

    # the steps

    def begin(
        self, *, email: str | None, ip: str | None, device_cookie: str | None, now: float | None = None
    ) -> Attempt:
        """Count an attempt (for `email`, from `ip`) before any check, or raise TooManyAttempts."""
        now = time.time() if now is None else now
        device_id, device_accounts = self._device(device_cookie)
        email_key = self._email_key(email) if email is not None else None
        account_key = f"{self.prefix}account:{email_key}" if email_key else None
        if email_key and email_key in device_accounts:
            buckets = [Bucket(f"{self.prefix}device:{device_id}:{email_key}", FREE_DEVICE_FAILURES)]
        else:
            buckets = [Bucket(f"{self.prefix}address:{self._address(ip)}", FREE_ADDRESS_FAILURES)]
            if account_key:
                buckets.insert(0, Bucket(account_key, FREE_ACCOUNT_FAILURES))
        attempt = Attempt(self, email_key, buckets, account_key, device_id, device_accounts)
        if not self.enabled:
            return attempt
        try:
            wait, counts = self.store.claim(buckets, now)
        except Exception:  # the store is down: let people in rather than answer 500 (and say so loudly)
            log.exception("login policy store unavailable; attempt not counted")
            return attempt
        if wait > 0:
            attempt.done = True
            raise TooManyAttempts(login_refused_message(math.ceil(wait)), math.ceil(wait))
        attempt.failures = counts[0] if buckets[0].key == account_key else 0
        return attempt

    def _safely(self, step, *args) -> None:
        if not self.enabled:
            return
        try:
            step(*args)
        except Exception:
            log.exception("login policy store unavailable")

    def cancel(self, attempt: Attempt) -> None:
        """The attempt never reached a password or token check (a form error): it does not count."""
        if not attempt.done:
            attempt.done = True
            self._safely(self.store.give_back, attempt.buckets, time.time())

    def succeeded(self, attempt: Attempt, email: str | None = None) -> str:
        """A correct password (or token): clear the account's count; answers the new device cookie,
        which remembers the account signed in (`email` names it when the attempt had none)."""
        if email is not None and attempt.email_key is None:
            attempt.email_key = self._email_key(email)
        if not attempt.done:
            attempt.done = True
            others = [b for b in attempt.buckets if b.key != attempt.account_key and ":device:" not in b.key]
            self._safely(self.store.give_back, others, time.time())
            self._safely(self.store.clear, [b.key for b in attempt.buckets if b not in others])
        return self._device_cookie(attempt.device_id, attempt.device_accounts, attempt.email_key)

    def signed_up(self, email: str, device_cookie: str | None) -> str:
        """A new account signed in at once (sign-up): answers the device cookie that remembers it."""
        device_id, accounts = self._device(device_cookie)
        return self._device_cookie(device_id, accounts, self._email_key(email))

    def _device_cookie(self, device_id: str, accounts: list[str], email_key: str | None) -> str:
        if email_key:
            accounts = [email_key, *[e for e in accounts if e != email_key]][:DEVICE_ACCOUNTS]
        return self._devices.dumps({"d": device_id, "e": accounts})

    def failed(self, attempt: Attempt, session=None, user=None, client=None) -> None:
        """A wrong password: it stays counted; the account's owner is emailed at NOTIFY_AFTER (once a day)."""
        attempt.done = True
        if not self.enabled or attempt.failures < NOTIFY_AFTER:
            return
        try:
            # Asked for unknown addresses too, so a known one takes no longer to answer.
            first = self.store.first_mail_today(attempt.account_key, time.time())
        except Exception:
            log.exception("login policy store unavailable")
            return
        if first and user is not None and session is not None:
            from aerospec.notifications import services as notifications

            notifications.queue_email(
                session,
                user.email,
                "login_failures",
                user_name=user.name,
                failures=attempt.failures,
                ip_address=getattr(client, "ip_address", None) or "an unknown address",
            )

    def reserve_reset_email(self, email: str, now: float | None = None) -> None:
        """Take one of the address's reset emails of the hour, or raise TooManyAttempts."""
        if not self.enabled:
            return
        now = time.time() if now is None else now
        key = f"{self.prefix}reset:{self._email_key(email)}"
        try:
            wait = self.store.take_slot(key, RESET_EMAILS_PER_HOUR, 3600, now)
        except Exception:
            log.exception("login policy store unavailable; reset email not counted")
            return
        if wait > 0:
            retry = math.ceil(wait)
            raise TooManyAttempts(reset_refused_message(retry), retry)


def _store_for(app: Flask):
    uri = app.config.get("AUTH_THROTTLE_STORAGE_URI")
    if not uri:
        limits_uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
        uri = limits_uri if limits_uri.startswith(("redis://", "rediss://", "unix://")) else None
    if uri and uri != "memory://":
        import redis

        return RedisStore(redis.Redis.from_url(uri, socket_connect_timeout=2, socket_timeout=2))
    if uri is None:
        from aerospec.queueing import get_redis

        connection = get_redis(app)
        if connection is not None:
            return RedisStore(connection)
    return MemoryStore()


def init_app(app: Flask) -> None:
    """Build the app's policy once (after the job backend, whose Redis it may share)."""
    app.extensions["aerospec_login_policy"] = LoginPolicy(
        _store_for(app),
        app.config["SECRET_KEY"],
        app.config.get("AUTH_THROTTLE_KEY_PREFIX") or "aerospec:auth:",
        enabled=bool(app.config.get("AUTH_THROTTLE_ENABLED", True)),
    )


def policy() -> LoginPolicy:
    """The current app's policy."""
    return current_app.extensions["aerospec_login_policy"]


def set_device_cookie(response, value: str) -> None:
    """Remember this browser as one that signed in (HttpOnly, Lax, Secure on https)."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("PREFERRED_URL_SCHEME") == "https",
    )
