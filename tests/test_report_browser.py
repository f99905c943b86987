"""The HTML report of a run, opened in headless Chromium through the DevTools protocol.

Marked ``browser``: CI installs Debian's ``chromium`` (``.ci/run``); elsewhere the tests are
skipped with the reason. What a person would see is checked in the browser itself: every image
decoded (non-zero natural size), every link resolving to a file of the run, no console error or
failed load; a screenshot of the page is left in the run's folder.
"""

from __future__ import annotations

import base64
import importlib
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from validation.cli import COMMANDS, build_parser, main
from validation.report import ASV_HTML, REPORT

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (CI installs Debian's "
                       "chromium: `apt-get install chromium`)"),
]
SCREENSHOT = "report_screenshot.png"
#: what the page's script hands back: every image's decoded size, every link's target
_INSPECT = """JSON.stringify({
  images: [...document.images].map(i => ({src: i.src, complete: i.complete,
                                          width: i.naturalWidth, height: i.naturalHeight})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  title: document.title})"""


class DevTools:
    """A headless Chromium and a DevTools-protocol session on its one page."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 1600) -> None:
        import websocket

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


def open_report(folder: Path, profile: Path, screenshot: Path | None = None) -> dict:
    """Load ``folder/index.html`` in Chromium: its images, links and console errors, and a
    screenshot of the top of the page into ``screenshot``."""
    browser = DevTools(profile)
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


def _quick_all(out: Path, monkeypatch, asv_results: Path) -> int:
    """``sliced-bench all`` with each command's quick form made smaller still: the real
    commands, through the real ``all``, on less work (``validate --quick --only slicing``,
    ``curves --from-asv`` on asv results written here, ``rae --quick`` on three methods, one
    epoch and three seeds so that the verdict column holds tests)."""
    from test_curves import write_asv_results

    write_asv_results(asv_results)
    smaller = {"validate": ["--only", "slicing"], "curves": ["--from-asv", str(asv_results)],
               "rae": ["--methods", "none", "sw", "sfg", "--epochs", "1", "--seeds", "3"]}
    parser = build_parser()
    for name, extra in smaller.items():
        module = importlib.import_module(COMMANDS[name][0])

        def run(args, _run=module.run, _name=name, _extra=extra):
            argv = [_name, "--out", str(args.out), "--seed", str(args.seed), *_extra]
            if _name != "curves":  # curves --from-asv does no sweep: --quick has no effect
                argv.append("--quick")
            return _run(parser.parse_args(argv))
        monkeypatch.setattr(module, "run", run)
    return main(["all", "--out", str(out)])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "results"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _quick_all(out, monkeypatch, out.parent / "asv")
    return out


def test_the_report_of_a_quick_run_loads_fully_in_chromium(quick_run, tmp_path):
    found = open_report(quick_run, tmp_path / "profile", quick_run / SCREENSHOT)
    assert problems(found, quick_run) == []
    manifest = json.loads((quick_run / "manifest.json").read_text())
    linked = {Path(unquote(urlparse(h).path)).relative_to(quick_run.resolve()).as_posix()
              for h in found["links"] if Path(unquote(urlparse(h).path)) != ASV_HTML.resolve()}
    assert set(manifest["files"]) | {"manifest.json"} <= linked
    pngs = [f for f in manifest["files"] if f.endswith(".png")]
    assert len(found["images"]) == len(pngs) >= 5  # the curves' and the RAE's figures
    assert (quick_run / SCREENSHOT).stat().st_size > 10_000
    for sub in ("validate", "curves", "rae"):  # each command's own page too
        assert problems(open_report(quick_run / sub, tmp_path / f"profile-{sub}"),
                        quick_run) == []


def test_the_browser_check_catches_a_broken_image_a_dead_link_and_a_script_error(quick_run,
                                                                                tmp_path):
    # the mutation: the same checks on a copy of the run with a truncated figure, a link to a
    # missing file and a script that fails; each must be reported
    broken = tmp_path / "broken"
    shutil.copytree(quick_run, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    png = broken / next(f for f in manifest["files"] if f.endswith(".png"))
    png.write_bytes(png.read_bytes()[:100])
    page = (broken / REPORT).read_text().replace(
        "</body>", '<a href="gone.csv">gone</a><script>console.error("boom")</script></body>')
    (broken / REPORT).write_text(page)
    found = problems(open_report(broken, tmp_path / "profile"), broken)
    assert any(p.startswith("image not loaded") and png.name in p for p in found), found
    assert any("link not to a file of the run" in p and "gone.csv" in p for p in found), found
    assert any(p.startswith("console:") and "boom" in p for p in found), found
