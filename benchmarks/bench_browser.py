"""Benchmark: switching pages and paging the gallery in a real browser, on a workspace of 100,000 posts.

The workspace is built (not timed) with ``bench_scale``'s generator and phases, each in its own process: a
PhantomBuster CSV of N posts, one saved DetectLabels response per image, one hand code per image; the CSV
and the responses imported as the command line does, every image marked fetched with a fake content hash
(``bench_scale.mark_fetched``), the codes imported, and (unless ``--no-train``) one run trained, so that the
Results, Runs and Predict pages have something to show. Fetching is not done: instead one small, distinct
JPEG (160 x 160 px, about 2 KB, its number drawn on it) is written per image under ``images/<sha256>.jpg``,
where the gallery reads it. Distinct files, not links to one picture: Streamlit names a served image by a
hash of its bytes, so shared bytes would let the browser serve every thumbnail from its cache.

Then the app is served by ``streamlit run app.py`` (``--server.fileWatcherType none``) on that workspace and
driven by Playwright in Debian's Chromium (``/usr/lib/chromium/chromium``; ``playwright install`` cannot
download a browser here). ``/`` is opened first (a first request straight to a page starts differently), then,
after one warm-up round that is reported apart (the first visit of each page fills Streamlit's caches),
``--repeat`` rounds of:

* switching pages with the sidebar links, Posts → Images & labels → Code → Train → Results → Runs → Predict:
  from the click to the page's title (``h1``) shown and the app idle again (connected, script not running);
* paging the gallery (the page number's + button on the Images & labels page): from the click to the app
  idle with a full page of thumbnails that were not there before, every one of them loaded (``complete``);
* coding an image on the Code page (``--codes`` per visit; the key Y, as the coder "bench"): from the key press
  to the next image on screen with the coder's count moved and the app idle. The codes are stored, so every
  later page switch in the round follows a write, as when someone codes and then looks around.

"script ms" is the time the page's script ran, as the browser saw it: from the app's script state turning
``running`` to its last ``notRunning`` (a MutationObserver records the transitions); the rest is the round
trip and the browser drawing.

    .venv/bin/python benchmarks/bench_browser.py                               # 100,000 posts, 5 rounds
    .venv/bin/python benchmarks/bench_browser.py --posts 2000 --repeat 3       # a quick look
    .venv/bin/python benchmarks/bench_browser.py --keep /tmp/bb100k            # keep (and reuse) the workspace
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")
CHROMIUM_WRAPPER = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
PAGES = ("Posts", "Images & labels", "Code", "Train", "Results", "Runs", "Predict")
GALLERY = "Images & labels"
PAGE_SIZE = 24  # the gallery's pictures per page (kayfabe_ui.images_view.PAGE_SIZE)
TIMEOUT_MS = 120_000
SERVER_START_TIMEOUT_S = 60.0
THUMB_PX = 160
READY = "browser_ready.json"

# Records every change of the app's script state with its time, so a script run can be timed in the browser.
OBSERVER_JS = """
window.__kfStates = [];
const watch = () => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) { setTimeout(watch, 20); return; }
  let last = app.getAttribute('data-test-script-state');
  window.__kfStates.push([performance.now(), last]);
  new MutationObserver(() => {
    const now = app.getAttribute('data-test-script-state');
    if (now !== last) { last = now; window.__kfStates.push([performance.now(), now]); }
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
};
watch();
"""
THUMBS_JS = "[...document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stImage\"] img')].map(i => i.src)"
SHOWN_THUMBS_JS = """(expected) => {
  const images = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img')];
  const app = document.querySelector('[data-testid="stApp"]');
  return app.getAttribute('data-test-script-state') === 'notRunning'
    && images.length === expected && images.every(i => i.complete && i.naturalWidth > 0);
}"""
NEW_THUMBS_JS = """([before, expected]) => {
  const images = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img')];
  const app = document.querySelector('[data-testid="stApp"]');
  return app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && images.length === expected
    && images.every(i => !before.includes(i.src) && i.complete && i.naturalWidth > 0);
}"""


# --- the workspace --------------------------------------------------------------------------------

def build_workspace(folder: Path, args: argparse.Namespace) -> Path:
    """Generate, import, mark fetched, code, train, write the pictures (or reuse all that); return the workspace."""
    workspace = folder / "ws"
    params = [args.posts, args.labels, args.seed, args.train]
    ready = folder / READY
    if ready.exists() and json.loads(ready.read_text()).get("params") == params:
        print(f"Reusing the workspace in {workspace}", flush=True)
        return workspace
    ready.unlink(missing_ok=True)
    phase_args = argparse.Namespace(labels=args.labels, rounds=100, seed=args.seed, wait_s=0.0, repeat=1,
                                    csv_from="file")
    started = time.perf_counter()
    if bench_scale._reused(folder, [args.posts, args.labels, args.seed]) is None:
        print(f"Generating {args.posts:,} posts …", flush=True)
        if bench_scale.run_phase("generate", folder, args.posts, phase_args) is None:
            raise SystemExit("generating the files failed")
    print("Importing posts, responses and codes …", flush=True)
    if bench_scale.run_phase("import", folder, args.posts, phase_args) is None:
        raise SystemExit("the import failed")
    if args.train:
        print("Training one run …", flush=True)
        if bench_scale.run_phase("train", folder, args.posts, phase_args) is None:
            raise SystemExit("training failed")
    print("Writing one small JPEG per image …", flush=True)
    written = write_pictures(workspace)
    ready.write_text(json.dumps({"params": params, "pictures": written}))
    print(f"Workspace ready in {time.perf_counter() - started:,.0f} s ({written:,} pictures)", flush=True)
    return workspace


def write_pictures(workspace: Path) -> int:
    """Write a distinct small JPEG for every fetched image, where the gallery reads it; return how many."""
    from PIL import Image, ImageDraw

    conn = sqlite3.connect(workspace / "kayfabe.sqlite")
    try:
        rows = conn.execute("SELECT DISTINCT sha256, ext FROM images WHERE fetch_status = 'ok'").fetchall()
    finally:
        conn.close()
    folder = workspace / "images"
    folder.mkdir(exist_ok=True)
    for number, (sha, ext) in enumerate(rows):
        shade = int(sha[:6], 16)
        picture = Image.new("RGB", (THUMB_PX, THUMB_PX), (shade >> 16, (shade >> 8) & 255, shade & 255))
        draw = ImageDraw.Draw(picture)
        draw.rectangle((20, 60, 140, 100), fill=(255, 255, 255))
        draw.text((30, 72), f"#{number}", fill=(0, 0, 0))
        buffer = BytesIO()
        picture.save(buffer, "JPEG", quality=70)
        (folder / f"{sha}.{ext}").write_bytes(buffer.getvalue())
    return len(rows)


# --- the server and the browser ------------------------------------------------------------------

@contextmanager
def served(workspace: Path, port: int, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Serve the app on ``workspace`` at ``port``; stop it at the end, also on error."""
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"KAYFABE_WORKSPACE": str(workspace)}
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(url, server, log)
        yield url, server
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"streamlit was not healthy after {SERVER_START_TIMEOUT_S:.0f} s")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- measuring -----------------------------------------------------------------------------------

def script_ms(page: Any, clicked_at: float) -> float:
    """The time the script ran after the click: first 'running' to the last 'notRunning' (the browser's clock)."""
    states = page.evaluate("window.__kfStates")
    running = [t for t, state in states if t >= clicked_at and state == "running"]
    idle = [t for t, state in states if t >= clicked_at and state == "notRunning"]
    if not running or not idle:
        return float("nan")
    return max(idle) - min(running)


def check_page(page: Any, title: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise SystemExit(f"the {title} page shows an exception:\n{boxes.first.inner_text()}")


def switch_to(page: Any, title: str) -> tuple[float, float]:
    """Click ``title``'s sidebar link; return (ms from the click to the page drawn and idle, script ms)."""
    link = page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
    heading = page.locator("h1").filter(has_text=title)
    clicked_at = page.evaluate("performance.now()")
    started = time.perf_counter()
    link.click()
    heading.wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator(IDLE).wait_for(state="attached", timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - started) * 1000
    check_page(page, title)
    return elapsed, script_ms(page, clicked_at)


def next_gallery_page(page: Any) -> tuple[float, float]:
    """Click the gallery's next-page button; return (ms until a new, loaded page of thumbnails, script ms)."""
    # the page before, whole: the browser draws a page's pictures a few at a time, even once the script is idle
    page.wait_for_function(SHOWN_THUMBS_JS, arg=PAGE_SIZE, timeout=TIMEOUT_MS, polling="raf")
    before = page.evaluate(THUMBS_JS)
    button = page.locator('.st-key-gallery_page [data-testid="stNumberInputStepUp"]')
    clicked_at = page.evaluate("performance.now()")
    started = time.perf_counter()
    button.click()
    page.wait_for_function(NEW_THUMBS_JS, arg=[before, PAGE_SIZE], timeout=TIMEOUT_MS, polling="raf")
    elapsed = (time.perf_counter() - started) * 1000
    check_page(page, GALLERY)
    return elapsed, script_ms(page, clicked_at)


CODER = "bench"  # the coder the benchmark codes as: the imported codes are coder_a's, so every image waits
PROGRESS = '[data-testid="stMain"] [data-testid="stProgress"]'
CHANGED_JS = """([selector, before]) => {
  const shown = document.querySelector(selector);
  const app = document.querySelector('[data-testid="stApp"]');
  return shown && shown.innerText !== before
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED';
}"""


def start_coding(page: Any) -> None:
    """Type the coder's name in the Code page's sidebar field, once; wait for the first image to code."""
    field = page.locator(".st-key-coder input")
    field.fill(CODER)
    field.press("Enter")
    page.locator(".st-key-code_yes button").wait_for(state="visible", timeout=TIMEOUT_MS)
    page.locator(IDLE).wait_for(state="attached", timeout=TIMEOUT_MS)
    page.locator("h1").first.click()  # out of the text field: the keys code only outside one


def code_an_image(page: Any) -> tuple[float, float]:
    """Press Y on the Code page; return (ms until the next image is on screen, its count moved, and the app is
    idle, script ms). The code is stored in the workspace, as a coder's would be."""
    before = page.locator(PROGRESS).inner_text()
    clicked_at = page.evaluate("performance.now()")
    started = time.perf_counter()
    page.keyboard.press("y")
    page.wait_for_function(CHANGED_JS, arg=[PROGRESS, before], timeout=TIMEOUT_MS, polling="raf")
    elapsed = (time.perf_counter() - started) * 1000
    check_page(page, "Code")
    return elapsed, script_ms(page, clicked_at)


def measure(url: str, args: argparse.Namespace, server_pid: int) -> tuple[dict[str, list[tuple[float, float]]],
                                                                          dict[str, float]]:
    """Drive the app; return each action's (ms, script ms) per round, and the warm-up's figures."""
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM_WRAPPER
    timings: dict[str, list[tuple[float, float]]] = {}
    warm: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(OBSERVER_JS)
            page = context.new_page()
            started = time.perf_counter()
            page.goto(url)
            page.locator("h1").filter(has_text="Posts").wait_for(state="visible")
            page.locator(IDLE).wait_for(state="attached")
            warm["first load of /"] = (time.perf_counter() - started) * 1000
            check_page(page, "Posts")
            for round_number in range(args.repeat + 1):
                server_cpu = cpu_seconds(server_pid)
                round_started = time.perf_counter()
                for title in (*PAGES[1:], PAGES[0]):  # from Posts round to Posts
                    result = switch_to(page, title)
                    if round_number == 0:
                        warm[f"switch to {title}"] = result[0]
                        shoot(page, args.screenshots, title)
                    else:
                        timings.setdefault(f"switch to {title}", []).append(result)
                    if title == "Code" and args.codes:
                        if round_number == 0:
                            start_coding(page)
                        for _ in range(args.codes):
                            result = code_an_image(page)
                            if round_number == 0:
                                warm.setdefault("code an image (Y)", result[0])
                                shoot(page, args.screenshots, "Code after a code")
                            else:
                                timings.setdefault("code an image (Y)", []).append(result)
                    if title == GALLERY:
                        for _ in range(args.gallery_pages):
                            result = next_gallery_page(page)
                            if round_number == 0:
                                warm.setdefault("gallery next page", result[0])
                                shoot(page, args.screenshots, f"{title} next page")
                            else:
                                timings.setdefault("gallery next page", []).append(result)
                busy = (cpu_seconds(server_pid) - server_cpu) / (time.perf_counter() - round_started)
                warm["server cores busy"] = max(warm.get("server cores busy", 0.0), busy)
                print(f"  round {round_number or 'warm-up'} done", flush=True)
        finally:
            browser.close()
    return timings, warm


def shoot(page: Any, folder: Path | None, name: str) -> None:
    """Save what the window shows, to check that the pages drew what they should (with --screenshots)."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name.replace(' & ', '_').replace(' ', '_').lower()}.png"))


# --- reporting -----------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def print_table(timings: dict[str, list[tuple[float, float]]], warm: dict[str, float], limit_ms: float) -> None:
    print("| action | median ms | p90 ms | max ms | script median ms | first visit ms | n |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    slow = []
    for action, results in timings.items():
        total = [ms for ms, _ in results]
        script = [s for _, s in results if s == s]
        script_cell = f"{statistics.median(script):,.0f}" if script else "–"
        first = warm.get(action)
        print(f"| {action} | {statistics.median(total):,.0f} | {percentile(total, 0.9):,.0f} | {max(total):,.0f} "
              f"| {script_cell} | {'–' if first is None else f'{first:,.0f}'} | {len(total)} |")
        if statistics.median(total) >= limit_ms:
            slow.append(action)
    print(f"\nFirst load of / (cold, imports included): {warm['first load of /']:,.0f} ms; the server process kept "
          f"up to {warm['server cores busy']:.2f} cores busy over a round.")
    if slow:
        print(f"Not well under a second (median ≥ {limit_ms:,.0f} ms): {', '.join(slow)}")
    else:
        print(f"Every action's median is under {limit_ms:,.0f} ms.")


def print_load(label: str) -> None:
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count() or 1
    print(f"Load average {label}: {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {cores} cores")
    if one > cores:
        print(f"Warning: the 1-minute load ({one:.2f}) is above the number of cores ({cores}): other processes "
              "compete with the app and the browser; the timings are not trustworthy.")


def main() -> None:
    args = parse_args()
    if not port_is_free(args.port):
        raise SystemExit(f"port {args.port} is in use: pass another with --port")
    with tempfile.TemporaryDirectory(prefix="kayfabe-browser-") as scratch:
        base = args.keep or Path(scratch)
        folder = base / f"posts-{args.posts}-labels-{args.labels}-seed-{args.seed}"
        folder.mkdir(parents=True, exist_ok=True)
        workspace = build_workspace(folder, args)
        print_load("before")
        with served(workspace, args.port, folder / "server.log") as (url, server):
            print(f"Serving {url} on {workspace}; {args.repeat} rounds after one warm-up", flush=True)
            timings, warm = measure(url, args, server.pid)
        print(f"\n{args.posts:,} posts, {warm_images(folder):,} images; Chromium {CHROMIUM_BINARY}, viewport "
              "1400 x 900\n")
        print_table(timings, warm, args.limit_ms)
        print_load("after")


def warm_images(folder: Path) -> int:
    ready = folder / READY
    return int(json.loads(ready.read_text()).get("pictures", 0)) if ready.exists() else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="measured rounds, after one warm-up round")
    parser.add_argument("--gallery-pages", type=int, default=2, help="next-page clicks per visit of the gallery")
    parser.add_argument("--codes", type=int, default=3,
                        help=f"images coded (key Y, as coder {CODER!r}) per visit of the Code page; 0: none")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the workspace in this folder and keep it (and reuse one built there)")
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument("--labels", type=int, default=bench_scale.TARGET_LABELS, help="distinct label keys")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="do not train a run (Results, Runs and Predict then show their empty state)")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="save a screenshot of each page at its first visit in this folder")
    parser.add_argument("--limit-ms", type=float, default=1000.0, help="flag actions whose median is this or more")
    args = parser.parse_args()
    args.repeat = max(1, args.repeat)
    return args


if __name__ == "__main__":
    main()
