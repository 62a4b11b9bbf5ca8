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
    assert "2 piece(s)" in page.inner_text("#generate-status")
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
    assert "steered by 2 rating(s)" in page.inner_text("#generate-status")

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
    page.wait_for_function("() => document.getElementById('harmonise-status').classList.contains('error')")
    assert "unreadable file" in page.inner_text("#harmonise-status")
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


def studio_page(browser, server, width=1280, height=900):
    """A fresh page (its own localStorage) on the studio, with the styles loaded; page.problems collects console
    errors and uncaught exceptions."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.goto(server + "/")
    page.wait_for_selector("#style option[value=bach]", state="attached")
    return page


def generate(page, n=1, bars=4, seed=7):
    before = page.locator("#cards .card").count()
    page.fill("#n", str(n))
    page.fill("#bars", str(bars))
    page.select_option("#style", "bach")
    page.select_option("#meter", "4/4")
    page.fill("#seed", str(seed))
    page.click("#generate-btn")
    page.wait_for_function(f"() => document.querySelectorAll('#cards .card').length === {before + n}")


def shots_dir(tmp_path) -> Path:
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_library_keeps_pieces_across_a_reload(server, browser, tmp_path):
    page = studio_page(browser, server)
    generate(page, n=2, seed=21)
    titles = page.eval_on_selector_all("#cards .card h3 span:first-child", "els => els.map(e => e.textContent)")
    first = page.locator("#cards .card").first
    first.locator(".keep").click()
    page.wait_for_function("() => document.getElementById('library-count').textContent === '1'")
    assert first.locator(".keep").inner_text() == "★ Kept" and "Kept" in first.locator(".card-status").inner_text()
    page.click("#tab-library")
    assert page.locator("#cards").is_hidden() and page.locator("#library-cards").is_visible()
    entry = page.locator("#library-cards .card").first
    assert entry.locator(".entry-name").input_value() == titles[0]  # named after the piece until renamed
    entry.locator(".entry-name").fill("Opening idea")
    entry.locator(".entry-name").dispatch_event("change")
    entry.locator(".entry-tags").fill("slow, chorale")
    entry.locator(".entry-tags").dispatch_event("change")
    page.wait_for_function("() => document.querySelector('#library-cards .card-status').textContent === 'saved'")

    page.reload()  # the session's cards go; the library comes back from the server with the listener's token
    page.wait_for_function("() => document.getElementById('library-count').textContent === '1'")
    assert page.locator("#cards .card").count() == 0
    page.click("#tab-library")
    entry = page.locator("#library-cards .card").first
    page.wait_for_function("() => document.querySelector('#library-cards canvas.roll').dataset.axis !== undefined")
    assert entry.locator(".entry-name").input_value() == "Opening idea"
    assert entry.locator(".entry-tags").input_value() == "slow, chorale"
    assert "seed 21" in entry.locator(".recipe").inner_text() and "4 bars" in entry.locator(".recipe").inner_text()
    page.screenshot(path=str(shots_dir(tmp_path) / "library-1280.png"), full_page=True)

    # drawn again from its recipe: the same notes as the piece it was kept from
    kept_notes = page.evaluate("() => window.studioState.pieces[document.querySelector('#library-cards .card')"
                               ".dataset.id].notes")
    entry.locator(".regenerate").click()
    page.wait_for_function("() => document.querySelectorAll('#cards .card').length === 1")
    assert "every note the same" in entry.locator(".card-status").inner_text()
    again = page.evaluate("() => window.studioState.pieces[document.querySelector('#cards .card').dataset.id].notes")
    assert again == kept_notes

    entry.locator(".delete").click()
    page.wait_for_function("() => document.getElementById('library-count').textContent === '0'")
    page.reload()
    page.wait_for_function("() => window.studioState.info !== null")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#library-count") == "0"
    assert not page.problems, page.problems


def expected_axis(notes, drums) -> list[str]:
    """The C's the axis names: every C in the pitched notes' range widened by 2 semitones each side."""
    pitches = [p for v, _, _, p in notes if not drums[v]]
    lo, hi = min(pitches) - 2, max(pitches) + 2
    return [f"C{p // 12 - 1}" for p in range(lo, hi + 1) if p % 12 == 0]


def test_piano_roll_axis_legend_playhead_zoom_and_bar_audition(server, browser, tmp_path):
    page = studio_page(browser, server)
    # progress: the panel that started the work shows a spinner while it runs, and loses it after
    page.evaluate("""() => { window.sawSpinner = false;
        new MutationObserver(() => {
          if (document.querySelector('#generate-panel .spinner')) window.sawSpinner = true;
        }).observe(document.getElementById('generate-panel'), {childList: true, subtree: true}); }""")
    generate(page, n=1, bars=8, seed=5)
    page.wait_for_function("() => !document.querySelector('#generate-panel .spinner')")
    assert page.evaluate("window.sawSpinner") and "1 piece(s)" in page.inner_text("#generate-status")
    card = page.locator("#cards .card").first
    piece = page.evaluate("() => window.studioState.pieces[document.querySelector('#cards .card').dataset.id]")
    page.wait_for_function("() => document.querySelector('#cards canvas.roll').dataset.axis !== undefined")
    axis = card.locator("canvas.roll").get_attribute("data-axis").split()
    assert axis == expected_axis(piece["notes"], piece["drums"]) and axis
    used = sorted({v for v, _, _, _ in piece["notes"]})
    assert card.locator(".legend .voice").all_inner_texts() == [["soprano", "alto", "tenor", "bass"][v] for v in used]

    # the playhead moves while the synth plays, and goes when it stops
    card.locator(".play").click()
    page.wait_for_function("() => +document.querySelector('#cards .playhead').dataset.step > 2")
    at = float(card.locator(".playhead").get_attribute("data-step"))
    page.wait_for_function(f"() => +document.querySelector('#cards .playhead').dataset.step > {at + 2}")
    card.locator(".play").click()
    assert card.locator(".playhead").is_hidden() and card.locator(".play").inner_text() == "▶ Play"

    # zoom: the roll grows inside its scroller, the axis stays
    width = card.locator("canvas.roll").evaluate("c => c.clientWidth")
    card.locator(".zoom-in").click()
    card.locator(".zoom-in").click()
    assert card.locator(".zoom-level").inner_text() == "2×"
    assert card.locator("canvas.roll").evaluate("c => c.clientWidth") == pytest.approx(2 * width, abs=2)
    assert card.locator(".roll-scroll").evaluate("s => s.scrollWidth > s.clientWidth")

    # a click on bar 3 plays that bar alone: the playhead runs inside it
    card.locator(".zoom-out").click()
    card.locator(".zoom-out").click()
    box = card.locator("canvas.roll").bounding_box()
    card.locator("canvas.roll").click(position={"x": box["width"] * 2.5 / 8, "y": box["height"] / 2})
    spb = piece["steps_per_bar"]
    page.wait_for_function(f"() => +document.querySelector('#cards .playhead').dataset.step > {2 * spb + 1}")
    assert 2 * spb <= float(card.locator(".playhead").get_attribute("data-step")) <= 3 * spb
    assert card.locator(".card-status").inner_text() == "bar 3"
    page.screenshot(path=str(shots_dir(tmp_path) / "roll-1280.png"), full_page=False)

    # a band's drums keep rows of their own under the pitched parts: a kick on step 0 lights the lowest row
    kick = page.evaluate("""() => {
        const piece = {notes: [[0, 0, 16, 60], [1, 0, 1, 36]], drums: [false, true], voices: ["piano", "drums"],
                       bars: 1, steps_per_bar: 16};
        const roll = new window.StudioRoll.PianoRoll(piece, null);
        document.body.appendChild(roll.el);
        roll.el.style.width = "400px";
        roll.draw();
        const c = roll.canvas, g = c.getContext("2d"), k = c.width / c.clientWidth;
        // 170 px tall, 16 px of bar numbers, a drum strip of 0.3 of the rest in 4 rows: the kick row's middle
        const strip = 0.3 * (170 - 16), y = 170 - strip / 4 / 2;
        const px = g.getImageData(Math.round(4 * k), Math.round(y * k), 1, 1).data;
        const legend = [...roll.el.querySelectorAll('.legend .voice')].map(e => e.textContent);
        return {rgb: [px[0], px[1], px[2]], legend};
    }""")
    assert kick["legend"] == ["piano", "drums"] and kick["rgb"] == [0xE0, 0x9F, 0x3E]  # the second voice's colour
    assert not page.problems, page.problems


@pytest.mark.parametrize("width", [390, 360])
def test_a_phone_sees_the_whole_page_and_its_results(server, browser, tmp_path, width):
    page = studio_page(browser, server, width=width, height=844)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    generate(page, n=2, bars=4, seed=3)
    page.wait_for_function("() => document.querySelector('#cards canvas.roll').dataset.axis !== undefined")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the results come right after the Generate panel, inside the screen's width
    card = page.locator("#cards .card").first
    box, panel = card.bounding_box(), page.locator("#generate-panel").bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= width and box["y"] > panel["y"] + panel["height"] - 1
    assert page.locator("#harmonise-panel").bounding_box()["y"] > box["y"]
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(shots_dir(tmp_path) / f"phone-{width}.png"), full_page=True)
    assert not page.problems, page.problems
