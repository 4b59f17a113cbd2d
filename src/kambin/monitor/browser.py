"""A headless Chromium driven through the Chrome DevTools Protocol, for the monitor's tests and
benchmarks: Debian's `chromium` package, started here, spoken to over its DevTools WebSocket
(aiohttp, which trame already brings). No browser is downloaded at run time.

Protocol: https://chromedevtools.github.io/devtools-protocol/ (Page.navigate,
Page.captureScreenshot, Runtime.evaluate).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from kambin.errors import KambinError


class BrowserError(KambinError, RuntimeError):
    """Chromium could not be started, or a page did not do what was waited for."""


class HeadlessChromium:
    """One headless Chromium with one page. Use as a context manager."""

    def __init__(self, binary: str = "chromium", width: int = 1600, height: int = 1000, start_timeout_s: float = 30.0):
        path = shutil.which(binary)
        if path is None:
            raise BrowserError(f"no {binary!r} on PATH; install Debian's chromium package (make setup does)")
        self._profile = Path(tempfile.mkdtemp(prefix="kambin-chromium-"))
        self._log = self._profile / "stderr.log"
        with open(self._log, "wb") as log:
            self.process = subprocess.Popen(
                [path, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows", "--remote-debugging-port=0",
                 f"--user-data-dir={self._profile / 'profile'}", f"--window-size={width},{height}", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + start_timeout_s
        port = None
        while port is None:
            text = self._log.read_text(errors="replace")
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", text)
            if found:
                port = int(found.group(1))
            elif self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError(f"chromium did not start: {text.strip()[-300:]}")
            else:
                time.sleep(0.05)
        self._loop = asyncio.new_event_loop()
        self._id = 0
        self._session = None
        self._ws = None
        self._run(self._connect(port))

    def _run(self, coroutine):
        return self._loop.run_until_complete(coroutine)

    async def _connect(self, port: int) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t["type"] == "page")
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    async def _send(self, method: str, params: dict) -> dict:
        self._id += 1
        await self._ws.send_str(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads((await self._ws.receive()).data)
            if message.get("id") == self._id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})

    def send(self, method: str, **params) -> dict:
        """Send one DevTools command and return its result."""
        return self._run(self._send(method, params))

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails'].get('text')} in {expression[:80]!r}")
        return result["result"].get("value")

    def navigate(self, url: str, timeout_s: float = 30.0) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", timeout_s)

    def wait_for(self, expression: str, timeout_s: float, poll_s: float = 0.05):
        """Poll a JavaScript expression until it is truthy; returns its value, raises on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout_s} s waiting for {expression!r}")
            time.sleep(poll_s)

    def screenshot(self) -> bytes:
        """PNG of the page's viewport."""
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        if getattr(self, "_loop", None) is not None:
            if self._ws is not None:
                self._run(self._ws.close())
            if self._session is not None:
                self._run(self._session.close())
            self._loop.close()
            self._loop = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# The page's own clock, from the simulated dropout's request to the TRACKING LOST banner on screen
# (its state set and the element laid out); null if it does not show within 5 s.
_DROPOUT_SHOWN_MS_JS = """(async () => {
    const banner = document.getElementById('tracking-state');
    const shown = () => banner.dataset.state === 'lost' && banner.offsetParent !== null;
    const lost = new Promise(resolve => {
        const observer = new MutationObserver(() => {
            if (shown()) { observer.disconnect(); resolve(performance.now()); }
        });
        observer.observe(document.body, {subtree: true, attributes: true, childList: true, characterData: true});
    });
    const sent = performance.now();
    fetch('/api/sim/dropout/on', {method: 'POST'});
    const at = await Promise.race([lost, new Promise(resolve => setTimeout(() => resolve(null), 5000))]);
    return at === null ? null : at - sent;
})()"""


def dropout_shown_ms(browser: HeadlessChromium) -> float:
    """On `kambin monitor --sim`'s page with tracking ok: request a simulated tracker dropout and
    return the milliseconds until the page shows TRACKING LOST (the dropout stays on)."""
    if browser.evaluate("document.getElementById('tracking-state').dataset.state") != "ok":
        raise BrowserError("tracking must be ok before a dropout is timed")
    latency_ms = browser.evaluate(_DROPOUT_SHOWN_MS_JS)
    if latency_ms is None:
        raise BrowserError("TRACKING LOST did not show within 5 s of the simulated dropout")
    return float(latency_ms)
