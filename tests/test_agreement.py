"""Agreement between coders: kappa, alpha, the bootstrap interval and the list of disagreements."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from kayfabe_core.agreement import (
    ALPHA,
    KAPPA,
    NotEnoughCodesError,
    _alpha_from_sums,
    _kappa_from_cells,
    cohens_kappa,
    krippendorff_alpha,
    measure_agreement,
    read_disagreements,
)
from kayfabe_core.codes import append_codes
from kayfabe_core.errors import KayfabeError
from kayfabe_core.workspace import Workspace, open_workspace, transaction
from tests.conftest import copy_workspace
from tests.test_gallery import labelled_workspace


@pytest.mark.parametrize("seed", range(6))
def test_cohens_kappa_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = ["YES", "NO", "UNSURE"][: 2 + seed % 2]
    a = list(rng.choice(values, size=40 + 10 * seed))
    b = [x if rng.random() < 0.6 else str(rng.choice(values)) for x in a]
    assert cohens_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohens_kappa_undefined_and_bad_input() -> None:
    assert np.isnan(cohens_kappa(["YES", "YES"], ["YES", "YES"]))
    with pytest.raises(ValueError):
        cohens_kappa(["YES"], ["YES", "NO"])


def test_krippendorff_alpha_on_a_hand_computed_example() -> None:
    # Three coders, five images (Y = YES, N = NO); the last has one value and cannot be paired.
    #   u1: Y Y Y   u2: Y Y N   u3: N N   u4: Y N   u5: Y
    # Each unit with m values adds 1/(m-1) per ordered pair of its values:
    #   u1 (m=3): YY += 3·2/2 = 3
    #   u2 (m=3): YY += 2·1/2 = 1, YN += 2·1/2 = 1, NY += 1, NN += 1·0/2 = 0
    #   u3 (m=2): NN += 2·1/1 = 2
    #   u4 (m=2): YN += 1, NY += 1
    # Coincidence matrix  o = [[YY 4, YN 2], [NY 2, NN 2]];  n_Y = 6, n_N = 4, n = 10.
    # alpha = 1 - (n-1)·(o_YN + o_NY) / (n² - n_Y² - n_N²) = 1 - 9·4 / (100 - 36 - 16) = 1 - 36/48 = 0.25
    units = [["Y", "Y", "Y"], ["Y", "Y", "N"], ["N", "N"], ["Y", "N"], ["Y"]]
    assert krippendorff_alpha(units) == pytest.approx(0.25, abs=1e-9)


def test_krippendorff_alpha_on_krippendorffs_textbook_example() -> None:
    # Krippendorff, Content Analysis (2004), two observers, twelve units, nominal: alpha = 0.692.
    first = "a a b b d c c c e d d a".split()
    second = "b a b b b c c c e d d d".split()
    assert krippendorff_alpha([list(pair) for pair in zip(first, second, strict=True)]) == pytest.approx(
        0.692, abs=5e-4)


def test_alpha_with_two_coders_is_close_to_but_not_kappa() -> None:
    rng = np.random.default_rng(3)
    a = list(rng.choice(["YES", "NO"], size=60))
    b = [x if rng.random() < 0.8 else ("NO" if x == "YES" else "YES") for x in a]
    kappa = cohens_kappa(a, b)
    alpha = krippendorff_alpha([[x, y] for x, y in zip(a, b, strict=True)])
    assert alpha != kappa
    assert alpha == pytest.approx(kappa, abs=0.05)


def test_vectorised_bootstrap_formulas_match_the_plain_functions() -> None:
    a = ["YES", "YES", "NO", "NO", "YES", "NO", "YES"]
    b = ["YES", "NO", "NO", "NO", "YES", "YES", "YES"]
    cells = np.array([[sum(x == p and y == q for x, y in zip(a, b, strict=True))
                       for p, q in (("YES", "YES"), ("YES", "NO"), ("NO", "YES"), ("NO", "NO"))]], dtype=float)
    assert _kappa_from_cells(cells)[0] == pytest.approx(cohens_kappa(a, b), abs=1e-12)
    units = [["YES", "YES", "YES"], ["YES", "YES", "NO"], ["NO", "NO"], ["YES", "NO"]]
    yes = np.array([u.count("YES") for u in units], dtype=float)
    no = np.array([u.count("NO") for u in units], dtype=float)
    sums = np.array([[yes.sum(), no.sum(), (yes * no / (yes + no - 1)).sum()]])
    assert _alpha_from_sums(sums)[0] == pytest.approx(krippendorff_alpha(units), abs=1e-12)


def test_demo_coders_agree_substantially(demo_root: Path) -> None:
    workspace = open_workspace(demo_root, create=False)
    started = time.perf_counter()
    agreement = measure_agreement(workspace, n_boot=1000, seed=0)
    assert time.perf_counter() - started < 1.0
    assert agreement.coders == ("coder_a", "coder_b")
    assert agreement.statistic_name == KAPPA
    assert 250 <= agreement.images <= 320
    assert 0.8 < agreement.percent < 0.95
    assert 0.6 < agreement.statistic < 0.9
    assert agreement.ci_low < agreement.statistic < agreement.ci_high
    assert agreement.ci_high - agreement.ci_low < 0.3
    assert agreement.n_boot == 1000
    assert measure_agreement(workspace, seed=0) == agreement
    assert agreement.to_dict()["coders"] == ["coder_a", "coder_b"]


def test_demo_disagreements_are_the_images_coded_differently(demo_root: Path) -> None:
    workspace = open_workspace(demo_root, create=False)
    table = read_disagreements(workspace)
    agreement = measure_agreement(workspace, n_boot=10)
    assert list(table.columns) == ["sha256", "post_url", "codes"]
    assert len(table) == round(agreement.images * (1 - agreement.percent))
    assert set(table["codes"]) == {"coder_a: YES · coder_b: NO", "coder_a: NO · coder_b: YES"}
    assert table["post_url"].str.startswith("https://www.instagram.com/p/").all()


def hx(number: int) -> str:
    return f"h{number:02d}"


@pytest.fixture
def three_coders(workspace: Workspace) -> Workspace:
    """Images h00–h11: ann codes all, bob h00–h10, cy h00–h05, with history and an Unsure."""
    ann = {hx(i): "YES" if i % 2 == 0 else "NO" for i in range(12)}
    with transaction(workspace) as conn:
        append_codes(conn, [(sha, "ann", value) for sha, value in ann.items()], None)
        append_codes(conn, [(hx(i), "bob", "YES" if i == 1 else ann[hx(i)]) for i in range(11)], None)
        append_codes(conn, [(hx(i), "cy", {2: "NO", 3: "YES"}.get(i, ann[hx(i)])) for i in range(6)], None)
        append_codes(conn, [(hx(3), "cy", "NO"), (hx(4), "ann", "UNSURE")], None)  # cy agrees on h03 after all
    return workspace


def test_three_coders_give_alpha_on_latest_codes(three_coders: Workspace) -> None:
    agreement = measure_agreement(three_coders, n_boot=500)
    # Latest Yes/No codes per image (ann's h04 is now Unsure; h11 has only ann, so it is left out).
    units = [["YES", "YES", "YES"], ["NO", "YES", "NO"], ["YES", "YES", "NO"], ["NO", "NO", "NO"],
             ["YES", "YES"], ["NO", "NO", "NO"]]
    units += [["YES", "YES"] if i % 2 == 0 else ["NO", "NO"] for i in range(6, 11)]
    assert agreement.coders == ("ann", "bob", "cy")
    assert agreement.statistic_name == ALPHA
    assert agreement.images == 11
    # Agreeing pairs: h00, h03, h05: 3 of 3 each; h01, h02: 1 of 3 each; h04 and h06–h10: 1 of 1 each.
    assert agreement.percent == pytest.approx(17 / 21)
    assert agreement.statistic == pytest.approx(krippendorff_alpha(units), abs=1e-12)
    assert agreement.ci_low <= agreement.statistic <= agreement.ci_high


def test_chosen_coders_only(three_coders: Workspace) -> None:
    agreement = measure_agreement(three_coders, coders=["ann", "bob"], n_boot=200)
    assert (agreement.coders, agreement.statistic_name, agreement.images) == (("ann", "bob"), KAPPA, 10)
    assert agreement.percent == pytest.approx(9 / 10)


def test_disagreements_list_exactly_the_differing_images(three_coders: Workspace) -> None:
    table = read_disagreements(three_coders)
    assert table.to_dict("records") == [
        {"sha256": "h01", "post_url": "", "codes": "ann: NO · bob: YES · cy: NO"},
        {"sha256": "h02", "post_url": "", "codes": "ann: YES · bob: YES · cy: NO"},
    ]
    assert list(read_disagreements(three_coders, coders=["ann", "cy"])["sha256"]) == ["h02"]


def test_disagreements_name_the_codes_in_the_given_words_whatever_the_coders_are_called(
        workspace: Workspace) -> None:
    with transaction(workspace) as conn:  # a coder's name that looks like a code once joined
        append_codes(conn, [("h01", "ann: YES · x", "NO"), ("h01", "bob", "YES")], None)
    table = read_disagreements(workspace, words={"YES": "In kayfabe", "NO": "Out of character"})
    assert table["codes"].tolist() == ["ann: YES · x: Out of character · bob: In kayfabe"]


def test_disagreements_carry_the_post(workspace: Workspace) -> None:
    hashes = labelled_workspace(workspace)
    with transaction(workspace) as conn:
        append_codes(conn, [(hashes["A"], "ann", "YES"), (hashes["A"], "bob", "NO"),
                            (hashes["B"], "ann", "YES"), (hashes["B"], "bob", "YES"),
                            (hashes["C"], "ann", "NO"), (hashes["C"], "bob", "UNSURE")], None)
    table = read_disagreements(workspace)
    assert table.to_dict("records") == [
        {"sha256": hashes["A"], "post_url": "https://www.instagram.com/p/A/", "codes": "ann: YES · bob: NO"}]
    assert read_disagreements(workspace, coders=["ann"]).empty


def test_too_few_coders_or_shared_images_is_a_clear_error(workspace: Workspace) -> None:
    with pytest.raises(NotEnoughCodesError) as empty:
        measure_agreement(workspace)
    assert empty.value.message == (
        "Agreement needs at least two coders who coded the same images; found no coder with Yes or No codes.")
    assert isinstance(empty.value, KayfabeError)
    with transaction(workspace) as conn:
        append_codes(conn, [(hx(i), "ann", "YES") for i in range(12)], None)
        append_codes(conn, [(hx(i), "bob", "YES") for i in range(3)] + [(hx(3), "bob", "UNSURE")], None)
    with pytest.raises(NotEnoughCodesError) as one:
        measure_agreement(workspace, coders=["ann"])
    assert one.value.message == (
        "Agreement needs at least two coders who coded the same images; found only one coder (ann).")
    with pytest.raises(NotEnoughCodesError) as few:
        measure_agreement(workspace)
    assert few.value.message == (
        "Agreement needs at least two coders who coded the same images; found 3 images coded Yes or No "
        "by two or more of ann, bob (at least 10 are needed).")
    assert few.value.hint == ("Have a second coder code at least 10 of the images another coder coded "
                              "(Unsure codes do not count).")


def test_open_disagreements_leave_out_decided_images(demo_root) -> None:  # type: ignore[no-untyped-def]
    import tempfile
    from pathlib import Path

    from kayfabe_core.agreement import read_disagreements, read_open_disagreements
    from kayfabe_core.coding import code_image
    from kayfabe_core.workspace import open_workspace

    with tempfile.TemporaryDirectory() as folder:
        workspace = open_workspace(copy_workspace(demo_root, Path(folder) / "ws"))
        every = read_disagreements(workspace)
        code_image(workspace, every["sha256"][0], "adjudicated", "YES")
        still_open = read_open_disagreements(workspace, ["coder_a", "coder_b"])
        assert list(still_open["sha256"]) == list(every["sha256"][1:])
        assert set(still_open["ext"]) == {"jpg"}
