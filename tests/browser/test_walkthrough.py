"""One walk through the real app in Chromium: demo posts, an import, a bad file, every page.

Run with ``pytest -m browser tests/browser``. Screenshots land in tests/browser/screenshots/.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.browser.conftest import full_screenshot, wait_idle

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

HEADER = ["postUrl", "imgUrl", "description", "pubDate", "type", "likeCount", "commentCount",
          "username", "fullName", "query", "timestamp", "error"]
ACCOUNT = "https://www.instagram.com/luna_lariat/"
OTHER_PAGES = [("Images & labels", "images"), ("Code", "code"), ("Train", "train"),
               ("Results", "results"), ("Runs", "runs"), ("Predict", "predict")]
TIMEOUT_MS = 30_000


def _post(number: int, image: int = 1, signature: str = "ab12") -> dict[str, str]:
    code = f"LuNa{number:03d}x"
    return {
        "postUrl": f"https://www.instagram.com/p/{code}/",
        "imgUrl": f"https://scontent.cdninstagram.com/v/t51/{code}_{image}_n.jpg?oh={signature}&oe=6A000000",
        "description": f"Luna Lariat, match night {number} #lariat #mainevent",
        "pubDate": f"2023-{1 + number % 12:02d}-{1 + number:02d}T19:30:00.000Z",
        "type": "Sidecar" if number == 3 else "Photo",
        "likeCount": str(100 * number + 7),
        "commentCount": str(number),
        "username": "luna_lariat",
        "fullName": "Luna Lariat",
        "query": ACCOUNT,
        "timestamp": "2024-02-01T10:00:00.000Z",
        "error": "",
    }


def _export_rows() -> list[dict[str, str]]:
    """Twelve posts of an invented account: one carousel, one re-scraped row, one error row."""
    rows = [_post(number) for number in range(1, 13)]
    rows.insert(3, _post(3, image=2))                  # post 3 is a carousel of two images
    rows.append(_post(5, signature="zz99"))            # post 5 again, re-signed image link: a duplicate
    rows.append({name: "" for name in HEADER} | {      # PhantomBuster's failure row
        "query": "https://www.instagram.com/private_account/", "timestamp": "2024-02-01T10:05:00.000Z",
        "error": "Can't access posts: profile is private"})
    return rows


def _expected_report(rows: list[dict[str, str]]) -> dict[str, int]:
    """The headline numbers for ``rows``, counted here from the rows themselves."""
    errors = [row for row in rows if row["error"]]
    good = [row for row in rows if not row["error"] and row["postUrl"]]
    images = {(row["postUrl"], row["imgUrl"].split("?")[0]) for row in good}
    return {
        "Rows read": len(rows),
        "Posts": len({row["postUrl"] for row in good}),
        "Images": len(images),
        "Duplicates dropped": len(good) - len(images),
        "Error rows": len(errors),
    }


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _metric_value(page, label: str):  # type: ignore[no-untyped-def]
    label_box = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{label}\s*$"))
    return page.locator('[data-testid="stMetric"]', has=label_box).locator('[data-testid="stMetricValue"]')


def _sidebar_post_count(page) -> int:  # type: ignore[no-untyped-def]
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    found = re.search(r"Posts\s*·\s*([\d,]+) posts", text)
    assert found, f"no posts line in the sidebar checklist:\n{text}"
    return int(found.group(1).replace(",", ""))


def _no_exception(page) -> None:  # type: ignore[no-untyped-def]
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def test_walkthrough(page, app_url: str, tmp_path: Path, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    # 1. The demo's posts are there on the default page.
    page.goto(app_url)
    expect(page.locator("h1", has_text="Posts")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("All posts", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    posts_before = _sidebar_post_count(page)
    assert posts_before > 0
    full_screenshot(page, screenshots / "posts.png")

    # 2. Import a small export of a second account.
    rows = _export_rows()
    expected = _expected_report(rows)
    export = _write_csv(tmp_path / "luna_lariat.csv", HEADER, rows)
    import_button = page.locator(".st-key-import button")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(export))
    expect(page.locator('[data-testid="stFileChip"]', has_text=export.name)).to_be_visible()
    expect(import_button).to_be_enabled(timeout=TIMEOUT_MS)
    wait_idle(page)
    import_button.click()
    expect(page.get_by_text(f"From {export.name}", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    for label, value in expected.items():
        expect(_metric_value(page, label)).to_have_text(f"{value:,}")
    posts_after = posts_before + expected["Posts"]  # the account is new: every post is new
    expect(page.get_by_text(f"{posts_after:,} posts · ")).to_be_visible()
    full_screenshot(page, screenshots / "import_report.png")

    # 3. A file that is not a PhantomBuster export is refused with a clear message.
    page.locator('[data-testid="stFileChipDeleteBtn"] button').click()
    expect(page.locator('[data-testid="stFileChip"]')).to_have_count(0)
    expect(import_button).to_be_disabled(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert _sidebar_post_count(page) == posts_after
    bad = _write_csv(tmp_path / "people.csv", ["name", "age"],
                     [{"name": "Ada", "age": "36"}, {"name": "Brock", "age": "41"}])
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    expect(import_button).to_be_enabled(timeout=TIMEOUT_MS)
    wait_idle(page)
    import_button.click()
    alert = page.locator('[data-testid="stAlert"]', has_text="does not look like a PhantomBuster")
    expect(alert).to_be_visible(timeout=TIMEOUT_MS)
    expect(alert).to_contain_text(bad.name)
    wait_idle(page)
    _no_exception(page)
    assert _sidebar_post_count(page) == posts_after  # nothing was imported
    full_screenshot(page, screenshots / "import_error.png")

    # 4. Every other page opens from the sidebar, with its title and no exception.
    for title, url_path in OTHER_PAGES:
        page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click()
        expect(page.locator("h1", has_text=title)).to_be_visible(timeout=TIMEOUT_MS)
        expect(page).to_have_url(re.compile(rf"/{url_path}/?$"))
        wait_idle(page)
        _no_exception(page)
        full_screenshot(page, screenshots / f"page_{url_path}.png")

    # 4b. An image's detail dialog closed with Esc stays closed when the page runs again.
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Images & labels").click()
    expect(page.locator("h1", has_text="Images & labels")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.locator('[class*="st-key-detail_"] button').first.click()
    dialog = page.locator('[role="dialog"]')
    expect(dialog).to_contain_text("Code this image", timeout=TIMEOUT_MS)
    wait_idle(page)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0, timeout=TIMEOUT_MS)
    wait_idle(page)
    page.locator(".st-key-gallery_page button").last.click()  # the next gallery page: the script runs again
    wait_idle(page)
    expect(page.get_by_label("Page (of", exact=False)).to_have_value("2")
    page.wait_for_timeout(1000)  # a dialog that comes back is drawn just after the page
    expect(dialog).to_have_count(0)
    _no_exception(page)

    # 4c. Addresses typed or bookmarked: /posts opens Posts at the root; the coder's name in the address (kept
    # there by the Code page) fills the Coder box of a new session, as after a reload.
    page.goto(app_url.rstrip("/") + "/posts")
    expect(page.locator("h1", has_text="Posts")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.goto(app_url.rstrip("/") + "/code?coder=ana")
    expect(page.locator(".st-key-coder input")).to_have_value("ana", timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"/code\?coder=ana$"))
    _no_exception(page)

    # 5. Train on the demo with the original study's preset; the click lands on the results.
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Train").click()
    expect(page.locator(".st-key-train_button button").first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.locator(".st-key-train_button button").first.click()
    expect(page.locator("h1", has_text="Results")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/results/?\?coder=ana$"))  # the coder kept in every page's address
    wait_idle(page)
    _no_exception(page)
    accuracy = float(_metric_value(page, "Accuracy").inner_text())
    assert 0.72 <= accuracy <= 0.88
    page.get_by_text("False negatives: coded", exact=False).click()
    expect(page.get_by_text(re.compile("most confident"))).to_contain_text("False negatives")
    wait_idle(page)
    plot_area = page.locator(".st-key-confusion_chart .nsewdrag").first  # the matrix's cells
    plot_area.scroll_into_view_if_needed()
    cells = plot_area.bounding_box()
    assert cells is not None
    page.mouse.click(cells["x"] + cells["width"] * 0.75, cells["y"] + cells["height"] * 0.75)  # observed and
    expect(page.get_by_text(re.compile("most confident"))).to_contain_text("True positives",  # predicted YES
                                                                           timeout=TIMEOUT_MS)
    wait_idle(page)
    full_screenshot(page, screenshots / "results.png")
    page.locator(".st-key-results_section button", has_text="SHAP").click()
    expect(page.get_by_text("One image, explained")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    full_screenshot(page, screenshots / "results_shap.png")

    # 6. The sidebar opens a new, empty workspace (AppTest cannot click sidebar widgets).
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Posts").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]', has_text="Open or create").click()
    new_folder = tmp_path / "fresh-workspace"
    page.locator(".st-key-workspace_input input").fill(str(new_folder))
    page.locator(".st-key-workspace_input input").press("Enter")
    wait_idle(page)
    page.locator(".st-key-open_workspace button").click()
    expect(page.get_by_text("This workspace has no posts yet")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    assert (new_folder / "kayfabe.sqlite").exists()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(str(new_folder))
    full_screenshot(page, screenshots / "new_workspace.png")

    # 7. A folder holding other files is asked about before a workspace is made in it.
    data_folder = tmp_path / "my-data"
    data_folder.mkdir()
    (data_folder / "notes.txt").write_text("field notes")
    page.locator(".st-key-workspace_input input").fill(str(data_folder))
    page.locator(".st-key-workspace_input input").press("Enter")
    wait_idle(page)
    page.locator(".st-key-open_workspace button").click()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("holds other files and no workspace",
                                                                      timeout=TIMEOUT_MS)
    wait_idle(page)
    assert not (data_folder / "kayfabe.sqlite").exists()
    page.locator(".st-key-create_in_folder button").click()
    expect(page.locator('[data-testid="stSidebar"]')).not_to_contain_text("holds other files", timeout=TIMEOUT_MS)
    expect(page.get_by_text("This workspace has no posts yet")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    _no_exception(page)
    assert (data_folder / "kayfabe.sqlite").exists() and (data_folder / "notes.txt").exists()
