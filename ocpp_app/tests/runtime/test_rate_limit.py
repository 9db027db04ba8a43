"""The per-connection token bucket: a burst, a steady rate, and a verdict of
flooding only far beyond the limit."""

import time

from ocpp_app.runtime.rate_limit import RateLimiter, rate_limiter


def test_it_lets_a_burst_through_then_refuses():
    limiter = RateLimiter(rate=1.0, burst=5, close_after=100)
    assert [limiter.allow() for _ in range(7)] == [True] * 5 + [False] * 2
    assert not limiter.flooding


def test_it_lets_calls_through_again_at_the_rate():
    limiter = RateLimiter(rate=50.0, burst=1, close_after=100)
    assert limiter.allow()
    assert not limiter.allow()
    time.sleep(0.05)  # 2.5 tokens' worth, capped at the burst of 1
    assert limiter.allow()
    assert not limiter.allow()


def test_it_calls_flooding_only_far_beyond_the_limit():
    limiter = RateLimiter(rate=1.0, burst=1, close_after=10)
    limiter.allow()
    for _ in range(10):
        limiter.allow()
    assert not limiter.flooding
    limiter.allow()
    assert limiter.flooding


def test_a_rate_of_zero_is_no_limit():
    assert rate_limiter(rate=0, burst=100, close_after=1000) is None
    assert rate_limiter(rate=20, burst=100, close_after=1000) is not None
