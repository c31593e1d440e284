import io

import numpy as np
import pytest
from PIL import Image

from agegender.analyzer import AnalyzerSettings
from agegender.detector import (
    FULL_RANGE,
    MAX_SCAN_SHAPES,
    SHORT_RANGE,
    FaceDetector,
    letterbox,
    resize_to_grid,
    ssd_anchor_centers,
    weighted_nms,
)
from agegender.exceptions import ModelContractError


def test_anchor_layouts_match_the_models():
    short = ssd_anchor_centers(SHORT_RANGE)
    assert short.shape == (896, 2)
    # stride 8: a 16x16 grid with 2 anchors per cell, then stride 16: 8x8 with 3 layers x 2 anchors
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512:518], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(short[-1], [7.5 / 8, 7.5 / 8])
    full = ssd_anchor_centers(FULL_RANGE)
    assert full.shape == (2304, 2)
    np.testing.assert_allclose(full[:2], [[0.5 / 48, 0.5 / 48], [1.5 / 48, 0.5 / 48]])


def test_letterbox_geometry():
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    tensor, padding, span = letterbox(image, 128)
    assert tensor.shape == (128, 128, 3)
    np.testing.assert_allclose(padding, [0, 32 / 128])
    np.testing.assert_allclose(span, [1.0, 0.5])
    assert tensor[0, 0, 0] == -1.0  # padding is black
    assert tensor[64, 64, 0] == 1.0  # the image is white


def test_scan_input_sides_are_grid_multiples_and_large_reductions_average_first():
    stripes = np.zeros((512, 1024, 3), dtype=np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: nearest neighbour alone would keep only one colour
    tensor = resize_to_grid(Image.fromarray(stripes), 256, 16)
    assert tensor.shape == (128, 256, 3)
    np.testing.assert_allclose(tensor, 0.0, atol=0.01)  # averaged to mid-grey
    assert resize_to_grid(Image.new("RGB", (1280, 720)), 880, 16).shape == (496, 880, 3)


def test_weighted_nms_averages_overlapping_boxes():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]])
    scores = np.array([0.9, 0.3, 0.5])
    keypoints = np.arange(36, dtype=float).reshape(3, 6, 2)
    kept = weighted_nms(boxes, scores, keypoints, iou_threshold=0.3)
    assert len(kept) == 2
    box, score, points = kept[0]
    np.testing.assert_allclose(box, [0.025, 0.0, 1.025, 1.0])  # 0.75 / 0.25 weights
    assert score == 0.9
    np.testing.assert_allclose(points, 0.75 * keypoints[0] + 0.25 * keypoints[1])
    np.testing.assert_allclose(kept[1][0], boxes[2])


@pytest.mark.parametrize("spec", [SHORT_RANGE, FULL_RANGE])
def test_no_face_in_a_plain_image(spec):
    detector = FaceDetector(spec)
    assert detector.detect(Image.new("RGB", (640, 480), (128, 128, 128))) == []


def test_one_interpreter_per_input_shape_and_no_more_than_needed():
    """Scans and close-ups alternate on every image: each shape keeps its own interpreter
    (same results as a fresh detector), the native one always, at most MAX_SCAN_SHAPES others.
    """
    rng = np.random.default_rng(7)
    frames = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in [(320, 180), (180, 320)]]
    detector = FaceDetector(SHORT_RANGE, min_score=0.001)
    first = [detector.detect(frames[0], long_side=320), detector.detect(frames[0])]
    for image in frames:
        detector.detect(image, long_side=320)
        detector.detect(image)
    again = [detector.detect(frames[0], long_side=320), detector.detect(frames[0])]
    fresh = FaceDetector(SHORT_RANGE, min_score=0.001)
    expected = [fresh.detect(frames[0], long_side=320), fresh.detect(frames[0])]
    assert all(expected)  # something to compare (a low threshold on noise)
    for got, want in zip(first + again, expected * 2, strict=True):
        assert [d.box for d in got] == [d.box for d in want]
    for side in (160, 224, 288, 352):
        detector.detect(frames[0], long_side=side)
    shapes = list(detector._models)
    assert (128, 128) in shapes
    assert len(shapes) == 1 + MAX_SCAN_SHAPES
    assert shapes[-1] == (192, 352)  # the most recent scan is kept


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelContractError, match="fetch_detectors"):
        FaceDetector(SHORT_RANGE, model_path=tmp_path / "absent.tflite")


@pytest.mark.dataset
@pytest.mark.parametrize(("spec", "side"), [(FULL_RANGE, 120), (SHORT_RANGE, 400)])
def test_finds_a_utkface_face_where_it_was_pasted(spec, side, utkface_dir):
    from training.dataset import iter_files, parse_name

    name, blob = next((n, b) for n, b in iter_files(utkface_dir / "UTKFace.tar.gz") if parse_name(n))
    face = Image.open(io.BytesIO(blob)).convert("RGB").resize((side, side))
    frame = Image.new("RGB", (1280, 720), (110, 120, 115))
    frame.paste(face, (700, 200))
    faces = FaceDetector(spec).detect(frame)
    assert len(faces) == 1, name
    left, top, right, bottom = np.array(faces[0].box) * [1280, 720, 1280, 720]
    truth = [700, 200, 700 + side, 200 + side]
    inter = max(0, min(right, truth[2]) - max(left, truth[0])) * max(0, min(bottom, truth[3]) - max(top, truth[1]))
    union = (right - left) * (bottom - top) + side * side - inter
    assert inter / union > 0.5


def test_overlaps():
    from agegender.detector import Detection, overlaps

    def box(left, top, right, bottom):
        return Detection((left, top, right, bottom), 0.9, np.zeros((6, 2)))

    assert overlaps(box(0, 0, 1, 1), box(0.1, 0, 1.1, 1))
    assert not overlaps(box(0, 0, 1, 1), box(2, 2, 3, 3))


def test_where_passes_agree_the_one_that_saw_the_face_nearest_its_best_size_wins(shipped_model):
    from types import SimpleNamespace

    from agegender.analyzer import AnalyzerSettings, ImageAnalyzer
    from agegender.detector import Detection

    def fake(input_size, boxes):
        faces = [Detection(b, 0.9 - 0.1 * i, np.full((6, 2), input_size, dtype=float)) for i, b in enumerate(boxes)]
        spec = SimpleNamespace(resizable=False, input_size=input_size, best_face_px=50.0)
        return SimpleNamespace(spec=spec, detect=lambda image, **_: faces)

    # On a 1000 px image a 0.2-wide face is 20 px in a 100 px input and 50 px in a 250 px one.
    coarse = fake(100, [(0.1, 0.1, 0.3, 0.3)])
    fine = fake(250, [(0.11, 0.1, 0.31, 0.3), (0.6, 0.6, 0.8, 0.8)])
    analyzer = ImageAnalyzer(detectors=[coarse, fine], settings=AnalyzerSettings(scan_long_side=0))
    faces = analyzer.detect(Image.new("RGB", (1000, 1000)))
    assert [f.box for f in faces] == [(0.11, 0.1, 0.31, 0.3), (0.6, 0.6, 0.8, 0.8)]
    assert faces[0].keypoints[0, 0] == 250  # the fine pass's keypoints, not merged with the coarse pass's


@pytest.mark.dataset
def test_centre_score_sees_a_centred_face_only(utkface_dir):
    """The close-up check: high for a face in the middle of the crop, low when it sits in a corner."""
    from training.dataset import iter_files, parse_name

    blob = next(b for n, b in iter_files(utkface_dir / "UTKFace.tar.gz") if parse_name(n))
    face = Image.open(io.BytesIO(blob)).convert("RGB").resize((60, 60))
    centred, cornered = (Image.new("RGB", (132, 132), (110, 120, 115)) for _ in range(2))
    centred.paste(face, (36, 36))
    cornered.paste(face, (0, 0))
    detector = FaceDetector(SHORT_RANGE)
    passes = AnalyzerSettings().verify_min_score
    assert detector.centre_score(centred, tolerance=0.2) >= passes
    assert detector.centre_score(cornered, tolerance=0.2) < 0.5
    assert max(d.score for d in detector.detect(cornered, min_score=0.05)) >= passes  # it is there, off centre


def test_centre_score_of_a_faceless_crop_is_low():
    score = FaceDetector(SHORT_RANGE).centre_score(Image.new("RGB", (100, 100), (128, 128, 128)), tolerance=0.2)
    assert 0.0 <= score < 0.5
