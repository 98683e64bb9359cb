"""index.html opens in headless Chromium without console messages, and its screenshot is not blank.

Chromium logs every console message of the page (errors, uncaught
exceptions, warnings) to stderr as `...:CONSOLE:<line>] "<text>", source: ...`
with --enable-logging=stderr; a control page with a deliberate error proves
the check sees them. The browser runs in its own process group and is
killed with it, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

from harness.report import write_report

TIMEOUT = 90


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (Debian: apt-get install --no-install-recommends chromium); "
                "the HTML report is not rendered")


def render(page, tmp_path) -> tuple[list[str], np.ndarray]:
    """Console lines Chromium logged for the page, and the screenshot as an RGB(A) array."""
    shot = tmp_path / "shot.png"
    cmd = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={shot}", "--window-size=1280,2400", "--enable-logging=stderr", "--v=0",
           page.resolve().as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "HOME": str(tmp_path)})
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within {TIMEOUT} s")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the browser's helpers too (its own process group)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0 or shot.is_file(), f"chromium failed ({proc.returncode}): {err[-2000:]}"
    assert shot.is_file(), f"chromium wrote no screenshot: {err[-2000:]}"
    console = [line for line in (out + err).splitlines() if ":CONSOLE" in line]
    return console, imread(str(shot))


def not_blank(image: np.ndarray) -> bool:
    rgb = image[..., :3].astype(float)
    ink = (rgb.mean(axis=2) < 0.9).mean()       # share of pixels clearly darker than white
    return rgb.std() > 0.05 and ink > 0.01


def test_the_control_page_shows_console_errors_are_seen(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>'
                    '<body><p>control</p><script>console.error("deliberate"); missingFunction();</script></body></html>')
    console, _ = render(page, tmp_path)
    assert any("deliberate" in line for line in console), console
    assert any("missingFunction" in line for line in console), console


def test_report_renders_without_console_errors_and_is_not_blank(emulated_run, tmp_path):
    index = write_report(emulated_run)
    console, image = render(index, tmp_path)
    assert console == []
    assert image.shape[0] >= 2000 and image.shape[1] >= 1200
    assert not_blank(image)
    # Plots, not just text: a good share of pixels are coloured (not grey).
    rgb = image[..., :3]
    colour = (rgb.max(axis=2) - rgb.min(axis=2)) > 0.2
    assert colour.mean() > 0.002


def test_hardware_report_renders(hardware_run, tmp_path):
    console, image = render(write_report(hardware_run), tmp_path)
    assert console == [] and not_blank(image)


def test_blank_detection():
    assert not not_blank(np.ones((100, 100, 4)))
    img = np.ones((100, 100, 3))
    img[20:60, 10:90] = 0
    assert not_blank(img)
