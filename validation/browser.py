"""Open a run's ``index.html`` in headless Chromium and check what a person would see.

Through the DevTools protocol (a WebSocket, with ``websocket-client`` from the ``test`` extra):
every image decoded (non-zero natural size), every link resolving to a file of the run (or to
asv's published site), no console error or failed load; optionally a screenshot of the top of
the page. The browser test of the report uses it, and so does the command line::

    python -m validation.browser results --screenshot docs/img/report.png

which exits with status 1 and lists the problems when there are any. Needs Chromium on PATH
(Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from validation.report import ASV_HTML, REPORT

#: the Chromium executable found on PATH, or None
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
#: what the page's script hands back: every image's decoded size, every link's target
_INSPECT = """JSON.stringify({
  images: [...document.images].map(i => ({src: i.src, complete: i.complete,
                                          width: i.naturalWidth, height: i.naturalHeight})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  title: document.title})"""


class DevTools:
    """A headless Chromium and a DevTools-protocol session on its one page."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 1600) -> None:
        try:
            import websocket
        except ImportError as err:
            raise RuntimeError("the DevTools client needs websocket-client: "
                               "pip install -e '.[test]'") from err
        if CHROMIUM is None:
            raise RuntimeError("no Chromium on PATH (Debian: apt-get install chromium)")

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", "--remote-allow-origins=*",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"Chromium did not open its DevTools port ({CHROMIUM})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.events: list[dict] = []
        self._id = 0

    def call(self, method: str, **params) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def console_errors(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among the DevTools events."""
    errors = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description")))
                                   for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")
    return errors


def open_report(folder: Path, profile: Path, screenshot: Path | None = None, *,
                height: int = 1600) -> dict:
    """Load ``folder/index.html`` in a Chromium using the fresh profile folder ``profile``.

    Returns ``{"images": [{"src", "complete", "width", "height"}, ...], "links": [href, ...],
    "title": str, "errors": [str, ...]}`` (the console's errors); with ``screenshot``, a PNG
    of the top of the page (1280 px wide, ``height`` high) is written there."""
    browser = DevTools(profile, height=height)
    try:
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable")
        browser.call("Page.navigate", url=(folder / REPORT).resolve().as_uri())
        browser.wait_for("Page.loadEventFired")
        found = json.loads(browser.call("Runtime.evaluate", expression=_INSPECT,
                                        returnByValue=True)["result"]["value"])
        if screenshot is not None:
            shot = browser.call("Page.captureScreenshot", format="png")
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        browser.call("Runtime.evaluate", expression="1")  # drain the events of the load
        found["errors"] = console_errors(browser.events)
        return found
    finally:
        browser.close()


def problems(found: dict, folder: Path) -> list[str]:
    """What is wrong with the page: an image not decoded, a link to anything but a file of
    the run (or asv's published site, when there is one), a console error."""
    out = [f"image not loaded: {i['src']}" for i in found["images"]
           if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    root, asv = folder.resolve(), ASV_HTML.resolve()
    for href in found["links"]:
        url = urlparse(href)
        target = Path(unquote(url.path))
        inside = target.is_relative_to(root) or target == asv
        if url.scheme != "file" or not target.is_file() or not inside:
            out.append(f"link not to a file of the run: {href}")
    return out + [f"console: {e}" for e in found["errors"]]




def main(argv: list[str] | None = None) -> int:
    """``python -m validation.browser RUN [--screenshot PNG]``: check RUN/index.html."""
    parser = argparse.ArgumentParser(prog="python -m validation.browser",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run's --out folder (holding index.html)")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="save a PNG of the top of the page here")
    parser.add_argument("--height", type=int, default=1600,
                        help="height of the window in pixels (default: %(default)s)")
    args = parser.parse_args(argv)
    if CHROMIUM is None:
        parser.error("no Chromium on PATH (Debian: apt-get install chromium)")
    if not (args.run / REPORT).is_file():
        parser.error(f"{args.run / REPORT} does not exist")
    with tempfile.TemporaryDirectory() as profile:
        found = open_report(args.run, Path(profile), args.screenshot, height=args.height)
    bad = problems(found, args.run)
    for line in bad:
        print(line)
    print(f"{len(found['images'])} image(s), {len(found['links'])} link(s), "
          f"{len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
