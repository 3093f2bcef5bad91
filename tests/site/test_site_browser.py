"""The documentation site as a reader gets it: built strictly, served, opened in Chromium.

One strict `mkdocs build` per module, served by http.server on 127.0.0.1, and one
headless Debian Chromium (DevTools protocol over a pipe) with every host name but
127.0.0.1 unresolvable: the troubleshooting page's Mermaid flow must render to an SVG
from the site's own Mermaid build, with no request leaving loopback, and a screenshot
of it lands at build/screenshots/site-troubleshooting.png.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from site_kit import Chromium, walk

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
MERMAID = DOCS / "assets" / "vendor" / "mermaid.min.js"
SCREENSHOT = REPO / "build" / "screenshots" / "site-troubleshooting.png"
PAGE = "runbooks/troubleshoot/connectivity/"
# a node label of that page's flow, as the SVG must show it
LABEL = "Resolve the host name"


def _mkdocs(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MERMAID.is_file():
        pytest.fail(
            f"{MERMAID.relative_to(REPO)} is missing: run `bash scripts/fetch-mermaid.sh` "
            "(make test does) before the site tests"
        )
    out = tmp_path_factory.mktemp("site")
    built = _mkdocs("build", "--strict", "--site-dir", str(out))
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium, as "
            "scripts/system-deps.sh does): the browser check of the site cannot run"
        )
    chromium = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


def _rendered_diagram(browser: Chromium, timeout: float = 15.0) -> tuple[int, int, str]:
    """(host node id, svg node id, svg markup) of the first rendered Mermaid diagram."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        root = browser.call("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        for node in walk(root):
            attrs = node.get("attributes", [])
            classes = dict(zip(attrs[::2], attrs[1::2], strict=True)).get("class", "")
            if node.get("nodeName") != "DIV" or "mermaid" not in classes.split():
                continue
            for shadow in node.get("shadowRoots", []):
                for inner in walk(shadow):
                    if inner.get("nodeName") == "svg":
                        svg = browser.call("DOM.getOuterHTML", {"nodeId": inner["nodeId"]})
                        return node["nodeId"], inner["nodeId"], svg["outerHTML"]
        time.sleep(0.1)
    raise AssertionError(f"no Mermaid SVG rendered on {PAGE} within {timeout}s")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_troubleshooting_flow_renders_offline_and_is_screenshotted(
    site: Path, base_url: str, browser: Chromium
) -> None:
    # the generated page holds the fence Material turns into a diagram
    html = (site / PAGE / "index.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in html and LABEL in html
    assert "assets/vendor/mermaid.min.js" in html

    browser.call("Network.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", {"url": base_url + PAGE})
    browser.wait_for_event("Page.loadEventFired")
    host, svg_node, svg = _rendered_diagram(browser)

    # a real flowchart: Mermaid's SVG, the page's node labels drawn in it
    assert svg.startswith("<svg") and 'id="__mermaid_' in svg
    assert "flowchart" in svg and LABEL in svg
    box = browser.call("DOM.getBoxModel", {"nodeId": svg_node})["model"]
    assert box["width"] > 200 and box["height"] > 200, box

    # nothing left loopback: Mermaid came from the site, not Material's CDN fallback
    urls = browser.requested_urls()
    assert base_url + "assets/vendor/mermaid.min.js" in urls
    outside = [u for u in urls if not u.startswith((base_url, "data:", "blob:", "about:"))]
    assert not outside, f"the page requested non-loopback URLs: {outside}"
    failed = [e for e in browser.events if e.get("method") == "Network.loadingFailed"]
    assert not failed, failed

    browser.call("DOM.scrollIntoViewIfNeeded", {"nodeId": host})
    time.sleep(0.5)  # let the header's title transition (on scroll) finish
    shot = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"})["data"])
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(shot)
    width, height = _png_size(SCREENSHOT.read_bytes())
    assert (width, height) == (1280, 1024)
    assert SCREENSHOT.stat().st_size > 20_000  # a blank viewport compresses to ~5 KB


def test_site_has_a_search_index_and_every_runbook_in_its_navigation(
    site: Path, base_url: str
) -> None:
    with urllib.request.urlopen(base_url + "search/search_index.json", timeout=10) as reply:
        index = json.load(reply)
    docs = {doc["location"]: doc for doc in index["docs"]}
    assert PAGE in docs and docs[PAGE]["title"] == "Troubleshoot Service Connectivity"
    assert any(LABEL in doc["text"] for doc in index["docs"] if doc["location"].startswith(PAGE))

    # the navigation lists every generated runbook page, grouped by category
    home = (site / "index.html").read_text(encoding="utf-8")
    pages = sorted((DOCS / "runbooks").glob("*/*.md"))
    assert len(pages) > 10
    missing = [
        p.relative_to(DOCS).with_suffix("").as_posix()
        for p in pages
        if f'href="{p.relative_to(DOCS).with_suffix("").as_posix()}/"' not in home
    ]
    assert not missing, f"pages missing from the site navigation: {missing}"
    labels = re.findall(r'<span class="md-ellipsis">\s*([^<]*?)\s*</span>', home)
    categories = sorted({p.parent.name for p in pages})
    assert [label for label in labels if label in categories] == categories, labels


def test_build_without_the_local_mermaid_stops_with_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    (tmp_path / "scripts").symlink_to(REPO / "scripts")
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    built = _mkdocs("build", "--strict", "--site-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert built.returncode != 0
    assert "assets/vendor/mermaid.min.js" in built.stderr
    assert "bash scripts/fetch-mermaid.sh" in built.stderr
    assert "Traceback" not in built.stderr
