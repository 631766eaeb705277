"""Reading posts back (pages, search, months) and the stage checklist."""

from kayfabe_core.ingest import ingest_files
from kayfabe_core.posts import count_posts, count_posts_by_month, read_posts_page
from kayfabe_core.stages import Progress, list_stages, read_progress
from kayfabe_core.workspace import Workspace
from tests.conftest import HEADER, make_csv, post_row


def _fill(workspace: Workspace) -> None:
    rows = [post_row(f"P{i}", pubDate=f"2020-{1 + i % 3:02d}-0{1 + i % 5}T10:00:00.000Z",
                     description=f"#champ {i}" if i % 2 else f"breakfast {i}") for i in range(7)]
    rows.append(post_row("V", "", type="Video", pubDate="2020-01-09T10:00:00.000Z"))
    ingest_files(workspace, [("p.csv", make_csv(rows).encode())])


def test_pages_are_newest_first_and_searchable(workspace: Workspace) -> None:
    _fill(workspace)
    first = read_posts_page(workspace, 0, 3)
    assert list(first["pub_date"]) == sorted(first["pub_date"], reverse=True)
    assert len(read_posts_page(workspace, 3, 100)) == 5
    assert count_posts(workspace, "#champ") == 3
    assert set(read_posts_page(workspace, 0, 10, "breakfast")["post_url"]) == {
        f"https://www.instagram.com/p/P{i}/" for i in (0, 2, 4, 6)}
    assert first["cover_sha256"].isna().all()  # nothing fetched yet


def test_posts_by_month_and_type(workspace: Workspace) -> None:
    _fill(workspace)
    months = count_posts_by_month(workspace)
    assert months["posts"].sum() == 8
    assert set(months["month"]) == {"2020-01", "2020-02", "2020-03"}
    assert months[(months.month == "2020-01") & (months.media_type == "Video")]["posts"].tolist() == [1]


def test_stage_checklist_follows_the_workspace(workspace: Workspace) -> None:
    assert [stage.done for stage in list_stages(read_progress(workspace))] == [False] * 4
    _fill(workspace)
    progress = read_progress(workspace)
    assert (progress.posts, progress.images, progress.images_fetched) == (8, 7, 0)
    assert [stage.done for stage in list_stages(progress)] == [True, False, False, False]


def test_owner_filter(workspace: Workspace) -> None:
    from kayfabe_core.posts import list_owners

    rows = [post_row(f"A{i}", username="ann") for i in range(3)] + [post_row("B", username="bob")]
    ingest_files(workspace, [("o.csv", make_csv(rows, header=[*HEADER, "username"]).encode())])
    assert list_owners(workspace) == ["ann", "bob"]
    assert count_posts(workspace, owner="bob") == 1
    assert count_posts_by_month(workspace, owner="ann")["posts"].sum() == 3
    assert len(read_posts_page(workspace, 0, 10, owner="ann")) == 3


def test_stage_summaries_say_one_thing_in_the_singular() -> None:
    one = list_stages(Progress(posts=1, images=1, images_fetched=1, images_labelled=1, images_coded=1, runs=1))
    assert [stage.summary for stage in one] == ["1 post", "1 image, 1 labelled", "1 image coded", "1 run"]
    many = list_stages(Progress(posts=2000, images=3, images_fetched=0, images_labelled=0, images_coded=2, runs=0))
    assert [stage.summary for stage in many] == ["2,000 posts", "0 images, 0 labelled", "2 images coded", "0 runs"]
