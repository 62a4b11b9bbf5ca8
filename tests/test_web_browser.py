"""The studio as a person uses it, in headless Chromium: generate, play, download, rate, ask for pieces "for
you", harmonise an uploaded melody, make variations, open the live stream and read the API docs. Screenshots
go to $STUDIO_SCREENSHOTS (default: the test's temporary folder)."""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from divertimento.music.notes import Piece, Track
from divertimento.music.write import write_midi

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium (make system installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_mle_run, small_data, tmp_path_factory):
    import uvicorn

    from divertimento.studio.engine import load_studio_model
    from divertimento.studio.service import Studio
    from divertimento.web.app import create_app

    studio = Studio(load_studio_model(str(tiny_mle_run)), str(small_data))
    app = create_app(studio, tmp_path_factory.mktemp("browser-data"))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                               "--disable-background-networking",
                                                               "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def melody_file(path: Path) -> Path:
    notes = np.array([[i * 4, 4, p, 80] for i, p in enumerate([72, 71, 69, 67, 69, 71, 72, 72, 74, 72, 71, 69,
                                                                    67, 69, 67, 67])], dtype=np.int32)
    write_midi(Piece("tune", 4, [Track("melody", 73, False, notes)],
                     np.array([[s, 16, 4, 4] for s in range(0, 64, 16)], np.int32)), path)
    return path


def set_range(page, selector, value):
    page.eval_on_selector(selector, "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", str(value))


def test_a_composer_session(server, browser, tmp_path):
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    problems, remote = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(server.replace("http", "")) and
            not r.url.startswith(server) and not r.url.startswith(server.replace("http", "ws")) else None)
    failed = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page.goto(server + "/")
    page.wait_for_selector("#style option[value=bach]", state="attached")
    assert "originality" in page.inner_text("#model-info")

    # generate two pieces in Bach's style
    page.fill("#n", "2")
    page.select_option("#style", "bach")
    page.fill("#seed", "3")
    page.click("#generate-btn")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 2")
    assert "2 piece(s)" in page.inner_text("#status")
    assert page.locator(".card .badge").first.inner_text().startswith(("originality", "near-copy"))
    page.screenshot(path=str(shots / "01-generated.png"), full_page=True)

    # play it in the page's synth
    first = page.locator(".card").first
    first.locator(".play").click()
    assert first.locator(".play").inner_text() == "■ Stop"
    assert page.evaluate("window.studioState.scheduled") > 0 and page.evaluate("window.studioState.playing !== null")
    first.locator(".play").click()
    assert first.locator(".play").inner_text() == "▶ Play"

    # download the MIDI
    with page.expect_download() as dl:
        first.locator(".dl-mid").click()
    assert Path(dl.value.path()).read_bytes()[:4] == b"MThd" and dl.value.suggested_filename.endswith(".mid")

    # rate, then ask for pieces "for you"
    page.fill("#listener-name", "ada")
    first.locator(".like").click()
    page.wait_for_function("() => document.getElementById('listener-stats').textContent.startsWith('1 liked')")
    page.locator(".card").nth(1).locator(".dislike").click()
    page.wait_for_function("() => document.getElementById('listener-stats').textContent.includes('1 disliked')")
    page.click("#foryou-btn")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 4")
    assert "steered by 2 rating(s)" in page.inner_text("#status")

    # harmonise an uploaded melody
    page.set_input_files("#melody-file", str(melody_file(tmp_path / "tune.mid")))
    # only styles with accompanying voices are offered (the test data's folk tunes are melody only)
    assert page.eval_on_selector_all("#harm-style option", "os => os.map(o => o.value)") == ["bach"]
    page.select_option("#harm-style", "bach")
    page.click("#harmonise-btn")
    page.wait_for_function("() => document.querySelectorAll('.card').length === 5")
    assert "harmonised" in page.locator(".card").first.inner_text()
    page.screenshot(path=str(shots / "02-harmonised-and-for-you.png"), full_page=True)

    # variations of the harmonisation
    page.locator(".card").first.locator(".vary").click()
    page.wait_for_function("() => document.querySelectorAll('.card').length === 8")

    # the live stream, with its controls moved while it plays
    set_range(page, "#tempo", 200)
    page.click("#stream-btn")
    page.wait_for_function("() => window.studioState.streamBars >= 2", timeout=20000)
    page.select_option("#stream-style", "folk")
    set_range(page, "#intensity", 0.9)
    page.wait_for_function("() => window.studioState.lastBar && window.studioState.lastBar.style === 'folk' && "
                           "window.studioState.lastBar.intensity === 0.9", timeout=20000)
    stats = page.inner_text("#stream-stats")
    assert "made in" in stats and "folk" in stats
    page.locator("#stream-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "03-stream.png"), full_page=False)
    page.click("#stream-btn")
    assert page.inner_text("#stream-btn") == "Start stream"

    # a file that is not music gets a message instead of breaking the page
    (tmp_path / "noise.mid").write_bytes(b"MThd" + bytes(range(256)) * 4)
    page.set_input_files("#melody-file", str(tmp_path / "noise.mid"))
    page.click("#harmonise-btn")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert "unreadable file" in page.inner_text("#status")
    page.fill("#bars", "99")  # out of bounds: the browser's own form check stops it before the server
    page.click("#generate-btn")
    assert page.evaluate("document.getElementById('bars').validity.valid") is False

    # the offline API docs
    page.goto(server + "/docs")
    page.wait_for_selector(".op")
    assert "/api/generate" in page.inner_text("#ops")
    page.screenshot(path=str(shots / "04-docs.png"), full_page=False)

    assert not remote, remote
    # the only failed requests are the deliberately bad upload
    assert [(s, u.replace(server, "")) for s, u in failed] == [(400, "/api/harmonise")], failed
    assert len(problems) == 1 and "400" in problems[0], problems
