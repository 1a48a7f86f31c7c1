"""Drive the page in a real headless Chromium (Qt WebEngine from the pyside6 wheels).

    python tests/web/browser.py URL PICTURE SCREENSHOT

Loads the page, uploads PICTURE through the page's own file input (a ``File`` set on it with
``DataTransfer``, then the ``change`` event its handler listens to), asks three questions in
a row (the second and third are follow-ups), waits for each answer, checks the overlay image
loaded, moves the what-if control and waits for the plot to be redrawn with other numbers.
Prints one JSON line with what it saw; exits 1 (after saving SCREENSHOT) when a step fails.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

QUESTIONS = ("Which vehicle is closest to the crosswalk?", "What colour is it?", "Must it stop?")
TIMEOUT = 60.0


class Browser:
    def __init__(self) -> None:
        # Qt is imported here, not at the top: pytest imports this module for its doctests.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        from PySide6.QtCore import QSize
        from PySide6.QtWebEngineWidgets import QWebEngineView
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.view = QWebEngineView()
        self.view.resize(QSize(1280, 1250))
        self.view.show()

    def spin(self, seconds: float) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def load(self, url: str) -> None:
        from PySide6.QtCore import QEventLoop, QTimer, QUrl

        loop = QEventLoop()
        done: list[bool] = []
        self.view.loadFinished.connect(lambda ok: (done.append(ok), loop.quit()))
        self.view.load(QUrl(url))
        QTimer.singleShot(int(TIMEOUT * 1000), loop.quit)
        loop.exec()
        if not done or not done[0]:
            raise RuntimeError(f"the page at {url} did not load")

    def js(self, script: str) -> object:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        out: list[object] = []
        self.view.page().runJavaScript(script, 0, lambda value: (out.append(value), loop.quit()))
        QTimer.singleShot(int(TIMEOUT * 1000), loop.quit)
        loop.exec()
        if not out:
            raise RuntimeError(f"no result from the page for: {script[:80]}")
        return out[0]

    def wait_for(self, script: str, what: str, timeout: float = TIMEOUT) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(script)
            if value:
                return value
            self.spin(0.1)
        raise RuntimeError(f"timed out waiting for {what}")

    def screenshot(self, path: str) -> None:
        self.view.grab().save(path)


def main(url: str, picture: str, screenshot: str) -> int:
    browser = Browser()
    seen: dict[str, object] = {}
    try:
        browser.load(url)
        browser.wait_for("document.querySelectorAll('#target option').length > 0", "the page to start")
        data = base64.b64encode(Path(picture).read_bytes()).decode()
        browser.js(
            f"""(() => {{
                const bytes = Uint8Array.from(atob("{data}"), (c) => c.charCodeAt(0));
                const file = new File([bytes], "{Path(picture).name}", {{ type: "image/png" }});
                const transfer = new DataTransfer();
                transfer.items.add(file);
                const input = document.getElementById("file");
                input.files = transfer.files;
                input.dispatchEvent(new Event("change", {{ bubbles: true }}));
                return input.files.length;
            }})()"""
        )
        browser.wait_for(
            "(() => { const i = document.getElementById('overlay');"
            " return i.complete && i.naturalWidth > 0 && i.style.display === 'block'; })()",
            "the overlay image",
        )
        seen["overlay_width"] = browser.js("document.getElementById('overlay').naturalWidth")
        seen["objects"] = browser.js("document.querySelectorAll('#objects li').length")
        answers = []
        for index, question in enumerate(QUESTIONS, 1):
            browser.js(
                f"""(() => {{ const q = document.getElementById("question"); q.value = {json.dumps(question)};
                    document.getElementById("ask-form").requestSubmit(); return true; }})()"""
            )
            browser.wait_for(
                "document.querySelectorAll('#chat .turn[data-answer], #chat .turn.failed').length"
                f" >= {index}",
                f"the answer to {question!r}",
            )
            answers.append(
                json.loads(
                    str(
                        browser.js(
                            f"""(() => {{ const t = document.querySelectorAll('#chat .turn')[{index - 1}];
                        return JSON.stringify({{ question: t.querySelector('.q').textContent,
                                 answer: t.dataset.answer || null,
                                 failed: t.classList.contains('failed'),
                                 error: t.classList.contains('failed')
                                     ? t.querySelector('.a').textContent : null,
                                 confidence: Number(t.dataset.confidence || 0),
                                 steps: t.querySelectorAll('svg.steps g.node').length }}); }})()"""
                        )
                    )
                )
            )
        seen["answers"] = answers
        plot = "Number(document.getElementById('plot').dataset.revision)"
        browser.wait_for(f"{plot} >= 1", "the first what-if plot")
        revision = browser.js(plot)
        # A real-valued target and a real-valued cause: the control is a slider.
        seen["variable"] = browser.js(
            """(() => { const t = document.getElementById('target');
                if ([...t.options].some((o) => o.value === 'BrakingDistance')) t.value = 'BrakingDistance';
                const v = document.getElementById('variable');
                const names = [...v.options].map((o) => o.value);
                v.value = names.find((n) => n === 'Speed') || names[0];
                v.dispatchEvent(new Event('change')); return v.value; })()"""
        )
        browser.wait_for(f"{plot} > {revision}", "the plot after choosing the variable")
        before = browser.js("document.getElementById('plot').dataset.summary")
        revision = browser.js(plot)
        seen["value"] = browser.js(
            """(() => { const c = document.getElementById('value');
                if (c.tagName === 'SELECT') { c.selectedIndex = 0; } else { c.value = c.min; }
                c.dispatchEvent(new Event('input')); c.dispatchEvent(new Event('change'));
                return c.value; })()"""
        )
        browser.wait_for(f"{plot} > {revision}", "the plot after moving the slider")
        seen["plot_before"] = json.loads(str(before))
        seen["plot_after"] = json.loads(str(browser.js("document.getElementById('plot').dataset.summary")))
        seen["bars"] = browser.js("document.querySelectorAll('#plot rect').length")
        seen["report_href"] = browser.js("document.getElementById('report').getAttribute('href')")
        browser.js("document.querySelector('#chat details').open = true")  # the first answer's steps
        browser.spin(0.5)  # let the last redraw reach the screen
        browser.screenshot(screenshot)
        print(json.dumps(seen))
        return 0
    except Exception as exc:  # the test reads the message and the screenshot
        browser.screenshot(screenshot)
        seen["failure"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(seen))
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
