#!/usr/bin/env python
"""A small client for the exchange's signed REST API (standard library only).

    python manage.py create_api_key alice --scopes read trade     # prints {"key", "secret"}
    export EXCHANGE_KEY=... EXCHANGE_SECRET=...
    python examples/client.py place BTC-USD buy 0.01 30000
    python examples/client.py orders
    python examples/client.py cancel 42
    python examples/client.py balances

Every private request carries X-API-KEY, X-API-TIMESTAMP (ms since the epoch) and
X-API-SIGNATURE = hex HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body).
A timestamp outside the receive window (5 s) or a signature used before is refused with 401.
"""
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode


class ExchangeClient:
    def __init__(self, base_url: str, key: str | None = None, secret: str | None = None, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.secret = secret
        self.timeout = timeout

    def sign(self, timestamp: str, method: str, path_with_query: str, body: bytes) -> str:
        message = f"{timestamp}{method}{path_with_query}".encode() + body
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> tuple[int, dict]:
        """Send a request; return (status, JSON). Errors come back as {"error": {"code", "message"}}."""
        path_with_query = "/api/v1/" + path.lstrip("/")
        if params:
            path_with_query += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.key:
            timestamp = str(int(time.time() * 1000))
            headers.update({
                "X-API-KEY": self.key,
                "X-API-TIMESTAMP": timestamp,
                "X-API-SIGNATURE": self.sign(timestamp, method, path_with_query, data),
            })
        request = urllib.request.Request(self.base_url + path_with_query, data=data or None, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    # The API, one method per endpoint.
    def place_order(self, market: str, side: str, quantity: str, price: str | None = None, *,
                    order_type: str = "limit", **extra) -> tuple[int, dict]:
        body = {"market": market, "side": side, "type": order_type, "quantity": quantity, **extra}
        if price is not None:
            body["price"] = price
        return self.request("POST", "orders", body=body)

    def orders(self, status: str | None = "open", market: str | None = None) -> tuple[int, dict]:
        return self.request("GET", "orders", params={"status": status, "market": market})

    def cancel(self, order_id: int) -> tuple[int, dict]:
        return self.request("DELETE", f"orders/{order_id}")

    def cancel_all(self, market: str | None = None) -> tuple[int, dict]:
        return self.request("DELETE", "orders", params={"market": market})

    def balances(self) -> tuple[int, dict]:
        return self.request("GET", "balances")

    def fills(self, market: str | None = None) -> tuple[int, dict]:
        return self.request("GET", "fills", params={"market": market})


def main(argv: list[str]) -> int:
    client = ExchangeClient(os.environ.get("EXCHANGE_URL", "http://127.0.0.1:8000"),
                            os.environ.get("EXCHANGE_KEY"), os.environ.get("EXCHANGE_SECRET"))
    commands = {
        "place": lambda a: client.place_order(a[0], a[1], a[2], a[3] if len(a) > 3 else None,
                                              order_type="limit" if len(a) > 3 else "market"),
        "orders": lambda a: client.orders(),
        "cancel": lambda a: client.cancel(int(a[0])),
        "cancel-all": lambda a: client.cancel_all(a[0] if a else None),
        "balances": lambda a: client.balances(),
        "fills": lambda a: client.fills(),
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    status, body = commands[argv[0]](argv[1:])
    print(status, json.dumps(body, indent=2))
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
