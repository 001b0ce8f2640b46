"""The reference: a minimal reverse proxy on raw aiohttp, client and server, the best Python does here.

    python -m benchmarks.reference_proxy --port 8080 --origin http://127.0.0.1:8081

It forwards method, path, query, headers (minus hop-by-hop) and body to the origin over one pooled
keep-alive session and returns the origin's status, headers and body. No policies, no functions.
"""

from __future__ import annotations

import argparse

from aiohttp import ClientSession, TCPConnector, web

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length"})


def make_app(origin: str) -> web.Application:
    async def start(app: web.Application) -> None:
        app["session"] = ClientSession(connector=TCPConnector(limit=0), auto_decompress=False)

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def proxy(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with request.app["session"].request(request.method, origin + request.path_qs, headers=headers,
                                                  data=body or None, allow_redirects=False) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, headers=out, body=payload)

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


def event_loop_name() -> str:
    """uvloop when installed, as uvicorn's loop="auto" picks for edgesim: the same loop on both sides."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    args = parser.parse_args()
    loop = event_loop_name() if args.loop == "auto" else args.loop
    runner = None
    if loop == "uvloop":
        import uvloop

        runner = uvloop.new_event_loop()
    web.run_app(make_app(args.origin.rstrip("/")), host="127.0.0.1", port=args.port, print=None,
                access_log=None, loop=runner)


if __name__ == "__main__":
    main()
