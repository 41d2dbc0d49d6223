"""The API gateway of the one-box deployment: HAProxy in front of the Daphne processes.

Why a gateway and not only the in-process front door (``exchange/infra/shedding.py``): when a
spike saturates the web processes' CPU, their event loops are what is slow, so a refusal decided
inside Daphne waits behind the very work it is refusing (seconds at 10x the sustainable rate).
HAProxy decides before Daphne sees the request, in C, on its own event loop:

- **Order entry** (writes under ``/api/v1/orders``) is admitted ``orders_per_process`` at a time
  per Daphne. Excess requests wait in HAProxy's queue at most ``queue_ms``; a request that finds
  the queue already ``orders_queue`` long, or whose wait runs out, gets 503 with ``Retry-After``
  and the usual ``{"error": {...}}`` body at once.
- **Everything else over HTTP** (market data, the console, the pages) has its own per-process
  budget (``requests_per_process``), so it stays served while order entry sheds.
- **WebSockets** pass through to the least-loaded Daphne with no budget (they are long-lived and
  idle most of the time).
- A Daphne that stops answering its health check is taken out within two seconds; one killed in
  the middle of a request gives that request 503 (the outcome of a write is then unknown: a client
  that sent a ``client_order_id`` looks the order up before retrying), never a 502 page.

The client's address reaches Django as the last ``X-Forwarded-For`` hop, which HAProxy appends;
the launcher adds 127.0.0.1 to the web processes' ``TRUSTED_PROXIES`` so ``exchange.infra.net``
reads it (and still walks further left only through proxies the operator trusts).

``haproxy_config`` is pure (text in, text out), so the launcher writes it and ``haproxy -c``
checks it in the tests.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

# What counts as order entry, and the words of a refusal: the same at the gateway and in the
# in-process front door (exchange.infra.shedding imports them from here).
ORDER_ENTRY_PREFIX = "/api/v1/orders"
WRITE_METHODS = ("DELETE", "PATCH", "POST", "PUT")
ORDERS_BUSY = "order entry is busy: retry shortly"
SERVER_BUSY = "this server is busy: retry shortly"


def busy_page(message: str) -> str:
    """The short page a refused browser request gets (JSON under /api/)."""
    return f"<!doctype html><title>Busy</title><h1>Busy</h1><p>{message}</p>"


@dataclass(frozen=True)
class GatewayLimits:
    """Per-Daphne budgets (HAProxy ``maxconn`` per server) and the order-entry queue."""

    orders_per_process: int
    requests_per_process: int
    orders_queue: int
    queue_ms: int
    retry_after: int


def _json_error(code: str, message: str) -> str:
    # Quoted for HAProxy's config language: the body is one single-quoted word.
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    if "'" in body:
        raise ValueError("error bodies must not contain a single quote")
    return f"'{body}'"


def _html_error(message: str) -> str:
    return f"'{busy_page(message)}'"


def _errors(*, api: bool, busy_message: str, retry_after: int) -> list[str]:
    """503 bodies for what HAProxy itself answers: queue full or timed out, no server up, and a
    server that failed mid-request (502/504 are turned into 503: the client should retry)."""
    if api:
        busy = ("application/json", _json_error("overloaded", busy_message))
        lost = ("application/json", _json_error(
            "unavailable", "the web process handling this request stopped: retry (look an order up by "
            "client_order_id first)"))
    else:
        busy = ("'text/html; charset=utf-8'", _html_error(busy_message))
        lost = busy
    lines = [f"http-error status 503 content-type {busy[0]} string {busy[1]} "
             f"hdr Retry-After {retry_after} hdr Cache-Control no-store"]
    for status in (502, 504):
        lines.append(f"http-error status {status} content-type {lost[0]} string {lost[1]} "
                     f"hdr Retry-After {retry_after} hdr Cache-Control no-store")
    lines.append("http-after-response set-status 503 if { status 502 } || { status 504 }")
    return lines


def haproxy_config(*, bind: str, servers: list[tuple[str, str]], limits: GatewayLimits) -> str:
    """HAProxy's configuration: listen on ``bind`` (``fd@...`` from the launcher, or
    ``host:port``), spread over ``servers`` (name, ``host:port`` of a Daphne)."""
    if not servers:
        raise ValueError("the gateway needs at least one web process")
    refuse = _json_error("overloaded", ORDERS_BUSY)
    out = [
        "global",  # maxconn follows the open-file limit (ulimit -n): no number to keep in step
        "    nbthread 1",  # a few percent of one core at our rates; leave the rest to Python
        # The access log is HAProxy's (one line per request, written in C); the Daphnes behind
        # it keep theirs off (-v 0), which also keeps the health checks out of the log.
        "    log stderr format raw local0 info",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",  # a client that dribbles its headers is dropped
        "    timeout http-keep-alive 60s",
        "    timeout tunnel 1h",  # WebSockets
        "    timeout check 1s",
        "    retries 2",
        "    option redispatch 1",
        "",
        "frontend door",
        f"    bind {bind}",
        "    option forwardfor",
        "    acl websocket hdr(upgrade) -i websocket",
        f"    acl order_entry path_beg {ORDER_ENTRY_PREFIX}",
        f"    acl writes method {' '.join(WRITE_METHODS)}",
        "    acl api path_beg /api/",
        # A queue already this long will not drain within queue_ms: refuse now, not later.
        f"    http-request return status 503 content-type application/json string {refuse} "
        f"hdr Retry-After {limits.retry_after} hdr Cache-Control no-store "
        f"if order_entry writes {{ queue(orders) ge {limits.orders_queue} }}",
        "    use_backend streams if websocket",
        "    use_backend orders if order_entry writes",
        "    use_backend api if api",
        "    default_backend site",
    ]

    def backend(name: str, maxconn: int | None, *, api: bool, busy: str = SERVER_BUSY, checked: bool = False) -> None:
        out.extend(["", f"backend {name}", "    balance leastconn"])
        if maxconn is not None:
            out.append(f"    timeout queue {max(1, limits.queue_ms)}ms")
        if checked:
            out.extend(["    option httpchk",
                        "    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost"])
        out.extend(f"    {line}" for line in _errors(api=api, busy_message=busy, retry_after=limits.retry_after))
        for server, address in servers:
            cap = f" maxconn {maxconn}" if maxconn is not None else ""
            health = " check inter 1s fall 2 rise 1" if checked else f" track orders/{server}"
            out.append(f"    server {server} {address}{cap}{health}")

    # The in-process budget for everything but order entry is shared; split it so that the two
    # backends together never send a Daphne more than it admits (a quarter for the pages).
    pages = max(1, limits.requests_per_process // 4)
    backend("orders", limits.orders_per_process, api=True, busy=ORDERS_BUSY, checked=True)
    backend("api", max(1, limits.requests_per_process - pages), api=True)
    backend("site", pages, api=False)
    backend("streams", None, api=False)
    return "\n".join(out) + "\n"
