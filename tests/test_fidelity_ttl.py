"""Fidelity sweep, TTLs: how long CloudFront keeps what an origin sends (spec §4.3, AD/Expiration,
AD/HTTPStatusCodes, DG/custom-error-pages-expiration, DG/http-3xx-status-codes).

Each test is a scenario a team moving a distribution would meet: an origin's Cache-Control against
the cache policy's min / default / max TTL, Expires, redirects, errors, revalidation and expiry,
told through the public testing API with the cache clock moved by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest

from edgesim.messages import Request, Response
from edgesim.stubs import to_response
from edgesim.testing import Distribution


def config(min_ttl: int = 0, default_ttl: int = 86400, max_ttl: int = 31536000, **top: Any) -> dict[str, Any]:
    return {
        "origins": [{"id": "app", "url": "http://app.example.com"}],
        "default_cache_behavior": {
            "target_origin": "app",
            "cache_policy": {"min_ttl": min_ttl, "default_ttl": default_ttl, "max_ttl": max_ttl},
        },
        **top,
    }


def counting(answer: Callable[[Request], Any]) -> tuple[Callable[[Request], Response], list[Request]]:
    """An origin function that records what it got (the stub records too; this keeps the order)."""
    seen: list[Request] = []

    def origin(request: Request) -> Response:
        seen.append(request)
        return to_response(answer(request), "test origin")

    return origin, seen


async def origin_calls_over_time(cfg: dict[str, Any], headers: dict[str, str], *, status: int = 200,
                                 times: tuple[float, ...]) -> list[str]:
    """X-Cache of a GET of /a at each moment in `times` (seconds after the first request)."""
    origin, _ = counting(lambda r: (status, headers, "body"))
    results: list[str] = []
    async with Distribution(cfg, origins={"app": origin}) as dist, dist.client() as client:
        now = 0.0
        for moment in times:
            dist.advance(moment - now)
            now = moment
            results.append((await client.get("/a")).headers["x-cache"])
    return results


MISS, HIT, ERROR = "Miss from cloudfront", "Hit from cloudfront", "Error from cloudfront"


@pytest.mark.parametrize(
    ("policy", "headers", "fresh_until"),
    [
        # DefaultTTL only when the origin says nothing.
        ({"default_ttl": 30}, {}, 30),
        # max-age within [MinTTL, MaxTTL] is used as is ...
        ({}, {"cache-control": "max-age=20"}, 20),
        # ... raised to MinTTL ...
        ({"min_ttl": 50}, {"cache-control": "max-age=20"}, 50),
        # ... and capped at MaxTTL.
        ({"default_ttl": 10, "max_ttl": 40}, {"cache-control": "max-age=3600"}, 40),
        # s-maxage is CloudFront's own and beats max-age.
        ({}, {"cache-control": "public, max-age=5, s-maxage=25"}, 25),
        # no-cache / no-store / private: not cached when MinTTL is 0, cached for MinTTL otherwise.
        ({"min_ttl": 15}, {"cache-control": "no-store"}, 15),
        ({"min_ttl": 15}, {"cache-control": "private, max-age=600"}, 15),
    ],
)
async def test_origin_cache_control_against_the_policy_ttls(policy: dict[str, int], headers: dict[str, str],
                                                            fresh_until: int) -> None:
    results = await origin_calls_over_time(config(**policy), headers, times=(0, fresh_until - 1, fresh_until))
    assert results == [MISS, HIT, MISS]


@pytest.mark.parametrize("directive", ["no-store", "no-cache", "private", "max-age=0", "s-maxage=0, max-age=60"])
async def test_not_cached_when_the_origin_forbids_it_and_min_ttl_is_zero(directive: str) -> None:
    results = await origin_calls_over_time(config(), {"cache-control": directive}, times=(0, 1))
    assert results == [MISS, MISS]


async def test_expires_is_used_without_max_age_and_max_age_beats_it() -> None:
    # The test clock starts at the real time, so an Expires date means what it says.
    async with Distribution(config()) as probe:
        start = probe.clock.now()
    in_30 = formatdate(start + 30, usegmt=True)
    assert await origin_calls_over_time(config(), {"expires": in_30}, times=(0, 28, 31)) == [MISS, HIT, MISS]
    both = {"expires": in_30, "cache-control": "max-age=5"}
    assert await origin_calls_over_time(config(), both, times=(0, 4, 6)) == [MISS, HIT, MISS]
    # An Expires in the past, or not a date at all, is already expired.
    assert await origin_calls_over_time(config(), {"expires": "0"}, times=(0, 1)) == [MISS, MISS]


async def test_permanent_redirects_follow_the_ttl_rules() -> None:
    # 301 and 302 are cached like a 200 (DG/http-3xx-status-codes), DefaultTTL without headers.
    for status in (301, 302):
        assert await origin_calls_over_time(config(default_ttl=60), {"location": "/b"}, status=status,
                                            times=(0, 59, 60)) == [MISS, HIT, MISS]


@pytest.mark.parametrize("status", [307, 308])
async def test_307_and_308_are_cached_only_with_cache_control(status: int) -> None:
    # "CloudFront caches 307 and 308 responses only when you include the Cache-Control header in
    # responses from the origin" (DG/http-3xx-status-codes): DefaultTTL does not apply to them.
    assert await origin_calls_over_time(config(default_ttl=60), {"location": "/b"}, status=status,
                                        times=(0, 1)) == [MISS, MISS]
    with_header = {"location": "/b", "cache-control": "max-age=30"}
    assert await origin_calls_over_time(config(), with_header, status=status, times=(0, 29, 30)) == [MISS, HIT, MISS]


# --- errors (AD/HTTPStatusCodes, DG/custom-error-pages-expiration) ------------------------------


@pytest.mark.parametrize("status", [404, 414, 500, 501, 502, 503, 504])
async def test_errors_cached_for_the_error_caching_minimum_ttl(status: int) -> None:
    results = await origin_calls_over_time(config(), {}, status=status, times=(0, 9, 10))
    assert results == [ERROR, ERROR, ERROR]


async def test_error_caching_minimum_ttl_per_status_from_custom_error_responses() -> None:
    cfg = config(custom_error_responses=[{"error_code": 503, "error_caching_min_ttl": 60},
                                         {"error_code": 404, "error_caching_min_ttl": 0}])
    origin, seen = counting(lambda r: (503 if r.uri == "/down" else 404, {}, "no"))
    async with Distribution(cfg, origins={"app": origin}) as dist, dist.client() as client:
        for _ in range(2):
            await client.get("/down")
            await client.get("/gone")
        dist.advance(59)
        await client.get("/down")
        assert [r.uri for r in seen] == ["/down", "/gone", "/gone"]
        dist.advance(1)
        await client.get("/down")
        assert [r.uri for r in seen][-1] == "/down" and len(seen) == 4


@pytest.mark.parametrize("status", [400, 403, 405, 412, 415])
async def test_some_4xx_cached_only_with_max_age(status: int) -> None:
    assert await origin_calls_over_time(config(), {}, status=status, times=(0, 1)) == [ERROR, ERROR]
    origin, seen = counting(lambda r: (status, {"cache-control": "max-age=30"}, "no"))
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        dist.advance(29)
        await client.get("/a")
        assert len(seen) == 1  # the longer of max-age and the error caching minimum TTL


def error_answer(status: int, directive: str) -> Callable[[Request], tuple[int, dict[str, str], str]]:
    return lambda request: (status, {"cache-control": directive}, "no")


@pytest.mark.parametrize("directive", ["no-store", "no-cache", "private"])
async def test_404_414_501_with_no_store_are_not_cached(directive: str) -> None:
    # DG/custom-error-pages-expiration: for 404, 410, 414 and 501 CloudFront honours no-store,
    # no-cache and private and does not cache the error; for every other cached error status it
    # ignores them and caches for the error caching minimum TTL.
    for status in (404, 414, 501):
        origin, seen = counting(error_answer(status, directive))
        async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
            await client.get("/a")
            await client.get("/a")
            assert len(seen) == 2, status
    for status in (500, 502, 503, 504):
        origin, seen = counting(error_answer(status, directive))
        async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
            await client.get("/a")
            await client.get("/a")
            assert len(seen) == 1, status


async def test_error_max_age_is_capped_by_the_behaviors_max_ttl() -> None:
    # DG/custom-error-pages-expiration: an error's max-age / s-maxage cannot exceed the MaxTTL of the
    # behavior; the error caching minimum TTL still applies as the floor.
    origin, seen = counting(lambda r: (404, {"cache-control": "max-age=3600"}, "no"))
    cfg = config(default_ttl=60, max_ttl=120)
    async with Distribution(cfg, origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        dist.advance(119)
        await client.get("/a")
        assert len(seen) == 1
        dist.advance(1)
        await client.get("/a")
        assert len(seen) == 2


# --- expiry, revalidation, origin failures ------------------------------------------------------


async def test_expired_object_is_revalidated_and_refreshed_on_304() -> None:
    def answer(request: Request) -> tuple[int, dict[str, str], str]:
        if request.headers.get("if-none-match") == '"v1"':
            return 304, {"etag": '"v1"', "cache-control": "max-age=60"}, ""
        return 200, {"etag": '"v1"', "cache-control": "max-age=10", "content-type": "text/plain"}, "version one"

    origin, seen = counting(answer)
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        assert (await client.get("/a")).headers["x-cache"] == MISS
        dist.advance(12)
        refreshed = await client.get("/a")
        assert refreshed.headers["x-cache"] == "RefreshHit from cloudfront"
        assert refreshed.status_code == 200 and refreshed.text == "version one"
        assert refreshed.headers["age"] == "0"
        assert seen[1].headers.get("if-none-match") == '"v1"'
        # The 304's max-age=60 is the new freshness.
        dist.advance(59)
        assert (await client.get("/a")).headers["x-cache"] == HIT
        assert len(seen) == 2


async def test_expired_object_without_validators_is_fetched_again() -> None:
    origin, seen = counting(lambda r: (200, {"cache-control": "max-age=10"}, f"v{len(seen)}"))
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        dist.advance(10)
        again = await client.get("/a")
        assert again.headers["x-cache"] == MISS and again.text == "v2"
        assert "if-none-match" not in seen[1].headers and "if-modified-since" not in seen[1].headers


async def test_expired_object_served_on_5xx_for_the_error_caching_minimum_ttl() -> None:
    # AD/HTTPStatusCodes: when the origin answers 5xx for an expired object, CloudFront serves the
    # object "and for the duration of the error caching minimum TTL continues to respond to viewer
    # requests by serving the object from the edge cache"; only then does it ask the origin again.
    healthy = [True]

    def answer(request: Request) -> tuple[int, dict[str, str], str]:
        if healthy[0]:
            return 200, {"cache-control": "max-age=10"}, "good"
        return 503, {}, "down"

    cfg = config(custom_error_responses=[{"error_code": 503, "error_caching_min_ttl": 30}])
    origin, seen = counting(answer)
    async with Distribution(cfg, origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        healthy[0] = False
        dist.advance(11)
        stale = await client.get("/a")
        assert stale.status_code == 200 and stale.text == "good" and len(seen) == 2
        dist.advance(29)
        still = await client.get("/a")
        assert still.text == "good" and len(seen) == 2  # the origin is left alone meanwhile
        assert int(still.headers["age"]) == 40  # Age keeps counting from the original fetch
        dist.advance(1)
        await client.get("/a")
        assert len(seen) == 3


async def test_expired_object_not_served_on_4xx() -> None:
    # AD/HTTPStatusCodes: "If your origin returns a 4xx status code, CloudFront returns the status
    # code, not the requested object".
    gone = [False]
    origin, _ = counting(lambda r: (404, {}, "gone") if gone[0] else (200, {"cache-control": "max-age=10"}, "here"))
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        gone[0] = True
        dist.advance(10)
        response = await client.get("/a")
        assert response.status_code == 404 and response.headers["x-cache"] == ERROR


async def test_viewer_cache_control_cannot_force_a_refetch() -> None:
    # AD/Expiration: a viewer's Cache-Control / Pragma does not make CloudFront go to the origin.
    origin, seen = counting(lambda r: (200, {"cache-control": "max-age=60"}, "x"))
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        await client.get("/a")
        second = await client.get("/a", headers={"cache-control": "no-cache", "pragma": "no-cache"})
        assert second.headers["x-cache"] == HIT and len(seen) == 1


async def test_an_expired_cached_error_is_replaced_by_the_origins_new_5xx() -> None:
    # Serving the expired object on a 5xx is about an object: an expired cached error (a 404 here)
    # is not served instead of the origin's new 500 (AD/HTTPStatusCodes).
    status = [404]
    origin, seen = counting(lambda r: (status[0], {}, f"status {status[0]}"))
    async with Distribution(config(), origins={"app": origin}) as dist, dist.client() as client:
        assert (await client.get("/a")).status_code == 404
        status[0] = 500
        dist.advance(10)
        response = await client.get("/a")
        assert (response.status_code, response.text) == (500, "status 500")
        assert (await client.get("/a")).text == "status 500" and len(seen) == 2
