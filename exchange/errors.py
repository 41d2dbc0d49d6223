"""The one domain error of the exchange.

Services raise ``ExchangeError(code, message)``; the web and API layers turn it into a 4xx
response with the body ``{"error": {"code": ..., "message": ...}}``. Codes are stable strings that
clients may branch on; messages are for people.
"""


class ExchangeError(Exception):
    """A request the exchange refuses, with a stable machine-readable code."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def __repr__(self) -> str:
        return f"ExchangeError({self.code!r}, {self.message!r})"
