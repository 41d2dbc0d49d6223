"""A browser-like HTTP client for the real Daphne of ``start_web``: keeps cookies, sends the CSRF
token with every form, never follows redirects (the tests look at where they point)."""
import json

import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_otp.oath import totp
from websockets.sync.client import connect

PASSWORD = "correct-horse-battery-42"


def code(device, steps_ahead: int = 0) -> str:
    """The device's current code, or a later one: django-otp accepts each code once and
    tolerates one step of clock drift, so a test needing two codes uses 0 then 1."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead):06d}"


def server_password(user, password: str = PASSWORD):
    """Store the password with a hasher the server knows (the tests' own fast MD5 hasher is only
    configured in the test process), with few iterations to keep logins quick."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    return user


class WebClient:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=15, **kwargs)

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        if "csrftoken" not in self.http.cookies:
            self.get("/accounts/login/")
        form = {**(data or {}), "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}
        return self.http.post(self.base + path, data=form, allow_redirects=False, timeout=15)

    def login(self, username: str, password: str = PASSWORD, **extra: str) -> requests.Response:
        return self.post("/accounts/login/", {"username": username, "password": password, **extra})

    def ws_user_first_message(self, timeout: float = 8) -> dict:
        """The first message on /ws/user/ with this client's cookies: ``subscribed`` for a signed-in
        session, a ``not_authenticated`` error (after the 5 s grace) for anyone else."""
        cookies = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        url = self.base.replace("http://", "ws://") + "/ws/user/"
        with connect(url, additional_headers={"Cookie": cookies, "Origin": self.base}, open_timeout=10) as ws:
            return json.loads(ws.recv(timeout=timeout))
