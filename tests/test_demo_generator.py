"""Tests of the deterministic demo-data generator (kayfabe_core.demo)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kayfabe_core.demo import (
    COLUMNS,
    PAINTERS,
    SCENE_NAMES,
    SCENES,
    DemoData,
    draw_picture,
    generate_demo,
    make_export,
    make_sample_export,
)
from kayfabe_core.demo.labels import LABELS, MODERATION

DEMO_SEED = 2021


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(DEMO_SEED)


@pytest.fixture(scope="module")
def frame(demo: DemoData) -> pd.DataFrame:
    return _read(demo.export_csv)


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _path(url: str) -> str:
    return urlsplit(url).path


def _posts(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["error"] == ""]


# --- determinism -------------------------------------------------------------------------

def test_same_seed_gives_identical_demo(demo: DemoData) -> None:
    again = generate_demo(DEMO_SEED)
    assert again.export_csv == demo.export_csv
    assert again.images == demo.images
    assert [i.responses for i in again.images] == [i.responses for i in demo.images]


def test_other_seed_gives_other_demo(demo: DemoData) -> None:
    other = generate_demo(DEMO_SEED + 1)
    assert other.export_csv != demo.export_csv
    assert [i.code for i in other.images] != [i.code for i in demo.images]


def test_sample_export_is_deterministic_and_seed_dependent() -> None:
    assert make_sample_export() == make_sample_export()
    assert make_sample_export(seed=8) != make_sample_export(seed=7)


# --- the export --------------------------------------------------------------------------

def test_header_is_phantombuster_layout(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame.columns[:6]) == ["postUrl", "description", "commentCount", "likeCount",
                                       "location", "locationId"]
    assert frame.columns[-1] == "error"
    assert "taggedFullName13" in frame.columns and "taggedUsername13" in frame.columns


def test_counts_of_posts_carousels_videos_errors(frame: pd.DataFrame) -> None:
    posts = _posts(frame)
    n_posts = posts["postUrl"].nunique()
    assert 1400 <= n_posts <= 1600
    slides = posts.assign(path=posts["imgUrl"].map(_path)).groupby("postUrl")["path"].nunique()
    assert (slides >= 2).sum() > 100, "carousels"
    assert set(posts.loc[posts["postUrl"].isin(slides[slides >= 2].index), "isSidecar"]) == {"true"}
    assert set(posts.loc[posts["postUrl"].isin(slides[slides == 1].index), "isSidecar"]) == {"false"}
    videos = posts[posts["type"] == "Video"]
    assert 0.06 < videos["postUrl"].nunique() / n_posts < 0.14
    assert (videos["viewCount"] != "").all() and (videos["videoUrl"] != "").all()
    assert (posts.loc[posts["type"] == "Photo", "viewCount"] == "").all()
    assert set(posts["type"]) == {"Photo", "Video"}


def test_error_rows_hold_only_query_timestamp_error(frame: pd.DataFrame) -> None:
    errors = frame[frame["error"] != ""]
    assert len(errors) == 5
    filled = errors.loc[:, (errors != "").any(axis=0)]
    assert sorted(filled.columns) == ["error", "query", "timestamp"]


def test_duplicates_repeat_path_with_new_signature(frame: pd.DataFrame) -> None:
    posts = _posts(frame).assign(path=lambda d: d["imgUrl"].map(_path))
    repeated = posts[posts.duplicated(["postUrl", "path"], keep=False)]
    groups = repeated.groupby(["postUrl", "path"])
    assert len(groups) == 12
    for _, group in groups:
        assert len(group) == 2
        first, second = (parse_qs(urlsplit(u).query) for u in group["imgUrl"])
        assert first["oh"] != second["oh"] and first["oe"] != second["oe"]
        same = group.drop(columns=["imgUrl", "timestamp", "videoUrl"])
        assert (same.iloc[0] == same.iloc[1]).all()


def test_dates_urls_and_ids(frame: pd.DataFrame) -> None:
    posts = _posts(frame)
    pub = pd.to_datetime(posts["pubDate"], format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    assert (pub.max() - pub.min()).days > 3 * 365 - 30
    assert pub.min().year == 2019 and pub.max().year == 2021
    scraped = pd.to_datetime(frame["timestamp"], format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    assert scraped.min().year == 2022 and scraped.max().month <= 3
    assert posts["postUrl"].str.fullmatch(r"https://www\.instagram\.com/p/[A-Za-z0-9_-]{11}/").all()
    assert posts["imgUrl"].str.match(r"https://scontent\.cdninstagram\.example/v/t51\.2885-15/\d+_\d+_\d+_n\.jpg\?").all()
    expiry = posts["imgUrl"].map(lambda u: int(parse_qs(urlsplit(u).query)["oe"][0], 16))
    expiry = pd.to_datetime(expiry, unit="s", utc=True)
    assert (expiry.dt.year == 2022).all() and (expiry > scraped[posts.index]).all()
    per_post = posts.groupby("postUrl")[["likeCount", "commentCount", "pubDate", "postId"]].nunique()
    assert (per_post == 1).all().all(), "slides of one post share counts, date and id"
    assert (posts["query"] == "https://www.instagram.com/thunderquill_official/").all()
    assert posts["description"].str.contains("\n").any()
    assert posts["caption"].str.startswith("Image may contain").any()


def test_images_match_the_export(demo: DemoData, frame: pd.DataFrame) -> None:
    posts = _posts(frame)
    first_rows = posts.assign(path=posts["imgUrl"].map(_path)).drop_duplicates("path")
    assert len(demo.images) == len(first_rows)
    assert [i.source_url for i in demo.images] == first_rows["imgUrl"].tolist()
    assert len({i.picture_seed for i in demo.images}) == len(demo.images)
    for image, (_, row) in zip(demo.images, first_rows.iterrows(), strict=True):
        assert image.post_url == row["postUrl"]
    positions = pd.DataFrame([(i.post_url, i.position) for i in demo.images], columns=["p", "k"])
    assert (positions.groupby("p")["k"].apply(lambda k: list(k) == list(range(len(k))))).all()


def test_codes_balance_and_second_coder(demo: DemoData) -> None:
    assert demo.codebook.category == "Kayfabe"
    assert (demo.codebook.yes_name, demo.codebook.no_name) == ("In kayfabe", "Not in kayfabe")
    assert len(demo.coders) == 2 and demo.coders[0] != demo.coders[1]
    codes = np.array([i.code == "YES" for i in demo.images])
    assert {i.code for i in demo.images} == {"YES", "NO"}
    assert 0.40 <= codes.mean() <= 0.55
    pairs = [(i.code, i.second_code) for i in demo.images if i.second_code is not None]
    assert 0.11 <= len(pairs) / len(demo.images) <= 0.19
    a = np.array([p[0] == "YES" for p in pairs])
    b = np.array([p[1] == "YES" for p in pairs])
    agree = (a == b).mean()
    chance = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    kappa = (agree - chance) / (1 - chance)
    print(f"second coder: n={len(pairs)} agreement={agree:.3f} kappa={kappa:.2f}")
    assert 0.82 <= agree <= 0.93
    assert 0.55 <= kappa <= 0.85


def test_carousel_slides_mostly_share_scene(demo: DemoData) -> None:
    by_post: dict[str, list[str]] = {}
    for image in demo.images:
        by_post.setdefault(image.post_url, []).append(image.scene)
    slides = [(s[0], x) for s in by_post.values() if len(s) > 1 for x in s[1:]]
    same = np.mean([cover == scene for cover, scene in slides])
    assert 0.7 <= same <= 0.95


# --- response shapes ---------------------------------------------------------------------

def _check_box(box: dict) -> None:
    assert set(box) == {"Width", "Height", "Left", "Top"}
    assert all(0.0 <= box[k] <= 1.0 for k in box)


def test_response_shapes(demo: DemoData) -> None:
    for image in demo.images:
        assert set(image.responses) == {"DetectLabels", "DetectModerationLabels", "RecognizeCelebrities"}
        labels = image.responses["DetectLabels"]
        assert set(labels) == {"Labels", "LabelModelVersion"} and labels["LabelModelVersion"] == "3.0"
        names = {label["Name"] for label in labels["Labels"]}
        assert len(names) == len(labels["Labels"])
        for label in labels["Labels"]:
            assert set(label) == {"Name", "Confidence", "Instances", "Parents", "Aliases", "Categories"}
            assert 50.0 <= label["Confidence"] <= 100.0
            assert label["Aliases"] == [] and label["Categories"]
            assert all(set(p) == {"Name"} and p["Name"] in names for p in label["Parents"])
            for instance in label["Instances"]:
                assert set(instance) == {"BoundingBox", "Confidence"}
                assert 50.0 <= instance["Confidence"] <= 100.0
                _check_box(instance["BoundingBox"])
        moderation = image.responses["DetectModerationLabels"]
        assert set(moderation) == {"ModerationLabels", "ModerationModelVersion", "ContentTypes"}
        assert moderation["ModerationModelVersion"] == "7.0" and moderation["ContentTypes"] == []
        mod_names = {m["Name"] for m in moderation["ModerationLabels"]}
        for m in moderation["ModerationLabels"]:
            assert set(m) == {"Confidence", "Name", "ParentName", "TaxonomyLevel"}
            assert 50.0 <= m["Confidence"] <= 100.0 and 1 <= m["TaxonomyLevel"] <= 3
            assert (m["ParentName"] == "") == (m["TaxonomyLevel"] == 1)
            assert m["ParentName"] == "" or m["ParentName"] in mod_names
        celebs = image.responses["RecognizeCelebrities"]
        assert set(celebs) == {"CelebrityFaces", "UnrecognizedFaces"}
        for face in celebs["CelebrityFaces"]:
            assert set(face) == {"Urls", "Name", "Id", "Face", "MatchConfidence", "KnownGender"}
            assert 50.0 <= face["MatchConfidence"] <= 100.0
            assert face["KnownGender"]["Type"] in {"Female", "Male", "Nonbinary", "Unlisted"}
            assert set(face["Face"]) == {"BoundingBox", "Confidence"}
            _check_box(face["Face"]["BoundingBox"])
        for face in celebs["UnrecognizedFaces"]:
            _check_box(face["BoundingBox"])


def test_responses_vary_realistically(demo: DemoData) -> None:
    confs = [lab["Confidence"] for i in demo.images for lab in i.responses["DetectLabels"]["Labels"]]
    assert np.mean(np.array(confs) < 80) > 0.2 and np.mean(np.array(confs) > 95) > 0.05
    empty_mod = np.mean([not i.responses["DetectModerationLabels"]["ModerationLabels"] for i in demo.images])
    assert 0.6 < empty_mod < 0.98
    ids = {f["Id"] for i in demo.images for f in i.responses["RecognizeCelebrities"]["CelebrityFaces"]}
    assert "2Zx9Qa1L" in ids and 5 <= len(ids) <= 9
    levels = {m["Name"]: m["TaxonomyLevel"] for i in demo.images
              for m in i.responses["DetectModerationLabels"]["ModerationLabels"]}
    assert levels.get("Violence") == 1 and levels.get("Swimwear or Underwear") == 1


def test_catalogues_are_consistent() -> None:
    for name, info in LABELS.items():
        assert all(parent in LABELS for parent in info.parents), name
    for parent, level in MODERATION.values():
        assert (parent == "") == (level == 1) and (not parent or MODERATION[parent][1] == level - 1)
    for scene in SCENES:
        assert all(draw.name in LABELS for draw in scene.labels), scene.name
        assert all(draw.name in MODERATION for draw in scene.moderation), scene.name
        assert 50 <= min(d.low for d in scene.labels) and max(d.high for d in scene.labels) <= 100
    assert set(PAINTERS) == set(SCENE_NAMES) and 12 <= len(SCENES) <= 16


# --- the crucial property ----------------------------------------------------------------

def _features(demo: DemoData, threshold: float = 80.0) -> pd.DataFrame:
    rows = []
    for image in demo.images:
        found = {}
        for label in image.responses["DetectLabels"]["Labels"]:
            if label["Confidence"] >= threshold:
                found["label_" + label["Name"]] = 1
        for label in image.responses["DetectModerationLabels"]["ModerationLabels"]:
            if label["Confidence"] >= threshold:
                found["mod_" + label["Name"]] = 1
        for face in image.responses["RecognizeCelebrities"]["CelebrityFaces"]:
            if face["MatchConfidence"] >= threshold:
                found["celeb_" + face["Id"]] = 1
        rows.append(found)
    return pd.DataFrame(rows).fillna(0).astype(np.float32)


def test_labels_predict_codes_with_realistic_noise(demo: DemoData) -> None:
    from sklearn.model_selection import GroupShuffleSplit
    from xgboost import XGBClassifier

    x = _features(demo)
    y = np.array([i.code == "YES" for i in demo.images], dtype=int)
    groups = np.array([i.post_url for i in demo.images])
    accuracies, baselines = [], []
    for split_seed in range(5):
        splitter = GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=split_seed)
        train, test = next(splitter.split(x, y, groups))
        assert not set(groups[train]) & set(groups[test])
        model = XGBClassifier(max_depth=5, learning_rate=0.2, n_estimators=100, gamma=4,
                              min_child_weight=6, subsample=0.8, random_state=0, n_jobs=1)
        model.fit(x.iloc[train], y[train])
        accuracies.append(float((model.predict(x.iloc[test]) == y[test]).mean()))
        majority = int(y[train].mean() >= 0.5)
        baselines.append(float((y[test] == majority).mean()))
    print(f"accuracy per split {np.round(accuracies, 3)} mean {np.mean(accuracies):.3f}; "
          f"majority baseline {np.mean(baselines):.3f}; {x.shape[1]} features")
    assert 0.74 <= np.mean(accuracies) <= 0.86
    assert np.mean(baselines) < 0.62


# --- pictures ----------------------------------------------------------------------------

def test_pictures_are_valid_small_jpegs() -> None:
    for scene in SCENE_NAMES:
        data = draw_picture(scene, 11)
        assert data[:3] == b"\xff\xd8\xff" and len(data) < 60_000
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and min(image.size) >= 80
        assert draw_picture(scene, 11) == data
    with Image.open(io.BytesIO(draw_picture("ring_match", 1, size=80))) as image:
        assert image.size == (80, 80)
    with pytest.raises(ValueError):
        draw_picture("ring_match", 1, size=79)
    with pytest.raises(KeyError):
        draw_picture("no_such_scene", 1)


def test_pictures_differ_by_scene_and_seed() -> None:
    by_scene = {draw_picture(scene, 5) for scene in SCENE_NAMES}
    assert len(by_scene) == len(SCENE_NAMES)
    by_seed = {draw_picture("breakfast", seed) for seed in range(20)}
    assert len(by_seed) == 20
    means = [np.asarray(Image.open(io.BytesIO(draw_picture(s, 5)))).mean(axis=(0, 1)) for s in SCENE_NAMES]
    distances = [np.abs(a - b).sum() for i, a in enumerate(means) for b in means[i + 1:]]
    assert min(distances) > 3, "scenes should not look alike on average"


def test_drawing_speed_is_reported() -> None:
    start = time.perf_counter()
    sizes = [len(draw_picture(SCENE_NAMES[k % len(SCENE_NAMES)], k)) for k in range(200)]
    elapsed = time.perf_counter() - start
    print(f"drew 200 pictures in {elapsed:.2f} s; mean {np.mean(sizes) / 1024:.1f} KB")
    assert all(2_000 < size < 60_000 for size in sizes)


# --- the sample export, the big export, hygiene -------------------------------------------

def test_sample_export_for_upload() -> None:
    for seed in (7, 1, 2, 3):
        df = _read(make_sample_export(seed=seed))
        assert list(df.columns) == list(COLUMNS)
        posts = _posts(df)
        assert posts["postUrl"].nunique() == 40
        assert 1 <= (df["error"] != "").sum() <= 2
        path = posts["imgUrl"].map(_path)
        assert 1 <= posts.assign(path=path).duplicated(["postUrl", "path"]).sum() <= 2
        assert (posts["isSidecar"] == "true").any() and (posts["type"] == "Video").any()
        assert set(posts["username"]) == {"corvina_thelantern"}


def test_make_export_options() -> None:
    export = make_export(30, 3, start="2020-05-01", end="2020-05-31", error_rows=0, duplicate_rows=0)
    df = _read(export.csv_text)
    assert (df["error"] == "").all() and not df["imgUrl"].map(_path).duplicated().any()
    assert df["pubDate"].str.startswith("2020-05").all()
    assert export.n_posts == 30 and export.n_rows == len(df)


@pytest.mark.slow
def test_make_export_scales_to_100k_posts() -> None:
    start = time.perf_counter()
    export = make_export(100_000, seed=1)
    elapsed = time.perf_counter() - start
    df = _read(export.csv_text)
    print(f"make_export(100_000) took {elapsed:.1f} s for {len(df):,} rows")
    assert _posts(df)["postUrl"].nunique() == 100_000
    assert len(export.images) == _posts(df)["imgUrl"].map(_path).nunique()


def test_demo_package_never_imports_streamlit() -> None:
    package = Path(__file__).resolve().parents[1] / "kayfabe_core" / "demo"
    for source in package.glob("*.py"):
        assert "streamlit" not in source.read_text(), source.name
