"""A headless Chromium driven over `--remote-debugging-pipe`: the DevTools protocol as JSON messages,
each ended by a NUL byte, written to the browser's file descriptor 3 and read from its 4.

Printing a sheet needs a handful of commands (open a tab, load the file, print it, close), so the
printer speaks them itself rather than through Playwright, whose Node.js driver cost more processor time
to start than the browser did to print one sheet.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sunshine import staging

TIMEOUT = 60.0  # seconds for one command's answer or one page's load
# A browser that prints and does nothing else: no first-run pages, updates, extensions or crash
# reports; shared memory in /tmp, since a container's /dev/shm is often too small; sRGB colours.
QUIET = [
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-component-update",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--password-store=basic",
    "--force-color-profile=srgb",
]


class BrowserError(RuntimeError):
    """Chromium stopped, answered with an error, or took longer than TIMEOUT."""


class Browser:
    """One Chromium process and the pipe to it."""

    def __init__(self, executable: str, args: list[str]) -> None:
        _remove_stale_profiles()
        self.profile = tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-")
        to_browser, self._writer = _moved(os.pipe())
        self._reader, from_browser = _moved(os.pipe())
        devnull = _moved((os.open(os.devnull, os.O_RDWR),))[0]
        argv = [
            executable,
            *args,
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            *QUIET,
            "about:blank",
        ]
        try:
            # The browser reads commands on its descriptor 3 and writes answers on 4.
            self.pid = os.posix_spawnp(
                executable,
                argv,
                os.environ,
                file_actions=[
                    *((os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)),
                    (os.POSIX_SPAWN_DUP2, to_browser, 3),
                    (os.POSIX_SPAWN_DUP2, from_browser, 4),
                ],
                setpgroup=0,  # a group of its own: stopped with whatever a wrapper script started
            )
        except (OSError, ValueError) as exc:  # no such program, or no name at all
            os.close(self._writer)
            os.close(self._reader)
            shutil.rmtree(self.profile, ignore_errors=True)
            raise BrowserError(
                f"无法启动 Chromium（{executable}）：{getattr(exc, 'strerror', None) or exc}"
            ) from exc
        finally:
            for fd in (to_browser, from_browser, devnull):
                os.close(fd)
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no message end
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._answers: dict[int, dict[str, Any]] = {}  # answers that came while another was awaited

    def close(self) -> None:
        """Ask the browser to close, and stop it when it has not within the time allowed."""
        with contextlib.suppress(BrowserError, OSError):
            self.post("Browser.close")
        deadline = time.monotonic() + min(5.0, TIMEOUT)
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.02)
        os.close(self._writer)
        os.close(self._reader)
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command and wait for its result."""
        return self.result(self.post(method, params, session=session), method)

    def post(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> int:
        """Send one command without waiting; its id, for `result`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            try:
                data = data[os.write(self._writer, data) :]
            except BrokenPipeError:
                raise BrowserError("Chromium 意外退出") from None
        return self._next_id

    def result(self, command: int, method: str) -> dict[str, Any]:
        """The result of the command with this id (an answer that came earlier counts)."""
        answer = self._answers.pop(command, None) or self._receive(lambda m: m.get("id") == command)
        if "error" in answer:
            raise BrowserError(
                f"Chromium 没能完成 {method}（{answer['error'].get('message', answer['error'])}）"
            )
        return answer.get("result", {})

    def wait_for(
        self, method: str, session: str, matches: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        """The next event `method` of a session whose parameters `matches` (one that came earlier
        counts)."""

        def wanted(event: dict[str, Any]) -> bool:
            return (
                event.get("method") == method
                and event.get("sessionId") == session
                and matches(event.get("params", {}))
            )

        for i, event in enumerate(self._events):
            if wanted(event):
                return self._events.pop(i)
        return self._receive(wanted)

    def _receive(self, wanted: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            while (end := self._buffer.find(b"\0", self._scanned)) >= 0:
                raw = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                try:
                    message = json.loads(raw)
                except ValueError:
                    raise BrowserError("Chromium 的回应无法读取") from None
                if wanted(message):
                    return message
                if "method" in message:
                    self._events.append(message)
                elif "id" in message:
                    self._answers[message["id"]] = message
            self._scanned = len(self._buffer)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise BrowserError(f"Chromium 超过 {TIMEOUT:.0f} 秒没有回应")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium 意外退出")
            self._buffer += chunk


PROFILE_PREFIX = "sunshine-chromium-"  # then the pid of the process that started the browser


_PROFILE_NAME = re.compile(rf"{PROFILE_PREFIX}([0-9]+)-[a-z0-9_]{{8}}")  # as mkdtemp names it


def _remove_stale_profiles() -> None:
    """The profiles of browsers started by processes that are gone (killed before they cleaned up):
    folders of this user named as `Browser` names them, holding Chromium's files or nothing."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PROFILE_PREFIX}*"):
        name = _PROFILE_NAME.fullmatch(folder.name)
        try:
            own = folder.lstat().st_uid == os.getuid() and folder.is_dir() and not folder.is_symlink()
            chromium = own and ((folder / "Local State").exists() or not any(folder.iterdir()))
        except OSError:
            continue
        if name and chromium and not staging.alive(int(name.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _moved(fds: tuple[int, ...]) -> tuple[int, ...]:
    """The descriptors moved to 10 or above, where putting others on 0 to 4 cannot overwrite them."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


class Tab:
    """A tab of the browser that loads local files and prints them to PDF."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        browser.send("Page.enable", session=self.session)
        # `load` of each navigation, told apart from a late one of an earlier page by its loader id.
        browser.send("Page.setLifecycleEventsEnabled", {"enabled": True}, session=self.session)

    def print_pdf(self, html: Path, target: Path) -> None:
        """Load the file, wait for its load event, and print it as the sheet's CSS sets the page
        (A4 when it sets none), backgrounds included."""
        _print_together(self.browser, [(self, html, target)])


class Tabs:
    """Tabs of one browser printing files side by side: one tab waits on its page while another
    prints (two print a county's sheets in two thirds of the time one takes)."""

    def __init__(self, browser: Browser, count: int) -> None:
        self.browser = browser
        self.count = count
        self.tabs: list[Tab] = []

    def print_pdfs(self, jobs: list[tuple[Path, Path]]) -> Iterator[Path]:
        """Print each (html, target); yield each target once written, a group of tabs at a time."""
        while len(self.tabs) < min(self.count, len(jobs)):
            self.tabs.append(Tab(self.browser))
        for start in range(0, len(jobs), len(self.tabs) or 1):
            group = jobs[start : start + len(self.tabs)]
            _print_together(
                self.browser,
                [(tab, html, target) for tab, (html, target) in zip(self.tabs, group, strict=False)],
            )
            yield from (target for _, target in group)


PRINTED = {
    "printBackground": True,
    "preferCSSPageSize": True,
    "paperWidth": 8.27,  # A4, in inches, for a page whose CSS sets no size
    "paperHeight": 11.7,
    "marginTop": 0,
    "marginBottom": 0,
    "marginLeft": 0,
    "marginRight": 0,
}


def _load_of(loader: str | None) -> Callable[[dict[str, Any]], bool]:
    """Whether a lifecycle event is the `load` of the navigation with this loader id."""
    return lambda params: params.get("name") == "load" and params.get("loaderId") == loader


def _print_together(browser: Browser, jobs: list[tuple[Tab, Path, Path]]) -> None:
    """Each file loaded in its tab, then all printed at once: the commands are sent before any
    answer is awaited."""
    browser._events.clear()
    navigations = [
        (browser.post("Page.navigate", {"url": html.resolve().as_uri()}, session=tab.session), html)
        for tab, html, _ in jobs
    ]
    answers = [(browser.result(command, "Page.navigate"), html) for command, html in navigations]
    for answer, html in answers:  # every answer claimed first: none is left for a later call
        if answer.get("errorText"):
            raise BrowserError(f"无法打开 {html}：{answer['errorText']}")
    for (tab, _, _), (answer, _) in zip(jobs, answers, strict=True):
        browser.wait_for("Page.lifecycleEvent", tab.session, _load_of(answer.get("loaderId")))
    prints = [browser.post("Page.printToPDF", PRINTED, session=tab.session) for tab, _, _ in jobs]
    for command, (_, _, target) in zip(prints, jobs, strict=True):
        target.write_bytes(base64.b64decode(browser.result(command, "Page.printToPDF")["data"]))


@contextlib.contextmanager
def tab(executable: str, args: list[str]) -> Iterator[Tab]:
    """A tab of a headless Chromium started for it, stopped on leaving."""
    browser = Browser(executable, args)
    try:
        yield Tab(browser)
    finally:
        browser.close()


@contextlib.contextmanager
def tabs(executable: str, args: list[str], count: int) -> Iterator[Tabs]:
    """Up to `count` tabs of a headless Chromium started for them (opened as the jobs need them),
    stopped on leaving."""
    browser = Browser(executable, args)
    try:
        yield Tabs(browser, count)
    finally:
        browser.close()
