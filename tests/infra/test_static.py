"""Static files in production: collected with content-hashed names, served by WhiteNoise from
Daphne with a year of caching and gzip, and the pages' ES modules import each other by their
hashed names (a browser following the imports finds every file)."""
import gzip
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.infra.conftest import production_env, production_settings

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", re.MULTILINE)
HASHED = re.compile(r"\.[0-9a-f]{12}\.(?:js|mjs|css|svg)$")


@pytest.fixture(scope="session")
def collected(tmp_path_factory) -> Path:
    """``collectstatic`` as a deployment runs it (production settings), into a folder of its own."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT,
                            env=production_env(DJANGO_STATIC_ROOT=str(root)), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "staticfiles.json").exists()
    return root


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture
def production_web(start_web, collected):
    return start_web(**production_settings(DJANGO_STATIC_ROOT=str(collected), DJANGO_ALLOWED_HOSTS="127.0.0.1",
                                           DJANGO_SECURE_SSL_REDIRECT="false"))


@pytest.mark.django_db(transaction=True)
def test_pages_load_every_module_by_its_hashed_name(production_web, market):
    status, _, page = fetch(production_web.url + "/trade/BTC-USD/")
    assert status == 200, page[:2000]
    html = page.decode()
    scripts = re.findall(r'<script type="module" src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert scripts == [s for s in scripts if HASHED.search(s)]
    assert len(scripts) == 1
    assert styles
    assert all(HASHED.search(s) for s in styles)

    # Follow the imports as a browser does, from the page's module down to the vendored chart.
    seen, queue = set(), [urllib.parse.urljoin(production_web.url, scripts[0])]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        status, headers, body = fetch(url)
        assert status == 200, url
        assert headers["content-type"].startswith("text/javascript"), url
        for target in IMPORT.findall(body.decode()):
            assert HASHED.search(target), f"{url} imports {target} by its unhashed name"
            queue.append(urllib.parse.urljoin(url, target))
    names = {Path(urllib.parse.urlparse(url).path).name.split(".")[0] for url in seen}
    assert {"trade", "book", "chart", "user", "socket", "orderform", "util", "lightweight-charts"} <= names


@pytest.mark.django_db(transaction=True)
def test_hashed_files_are_cached_for_a_year_and_compressed(production_web):
    status, _, page = fetch(production_web.url + "/accounts/login/")
    assert status == 200
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.decode()).group(1)
    status, headers, body = fetch(production_web.url + css, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert "immutable" in headers["cache-control"]
    assert "max-age=315360000" in headers["cache-control"]
    assert headers["content-type"].startswith("text/css")
    assert b"{" in gzip.decompress(body)
    # Names that are not in the manifest are not served; nothing outside the collected folder is.
    assert fetch(production_web.url + "/static/web/nope.js")[0] == 404
    assert fetch(production_web.url + "/static/../exchange/settings.py")[0] == 404
