import hashlib
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from agegender.analyzer import AnalyzerSettings, ImageAnalyzer, fit_scale
from agegender.assets import DETECTOR_DIR
from agegender.detector import (
    YUNET_N,
    Detection,
    DetectorSpec,
    FaceDetector,
    grid_cells,
    iou,
    nms,
    overlaps,
    same_face,
)
from agegender.exceptions import ModelContractError


def box(left, top, right, bottom, score=0.9):
    return Detection((left, top, right, bottom), score, np.zeros((5, 2)))


def test_committed_detector_files_match_their_provenance():
    provenance = json.loads((DETECTOR_DIR / "yunet_n.provenance.json").read_text())
    assert set(provenance["files"]) == {YUNET_N.filename(w, h) for w, h in YUNET_N.shapes}
    for name, facts in provenance["files"].items():
        data = (DETECTOR_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == facts["sha256"], name
        assert facts["max_abs_difference"] < 1e-3  # parity with onnxruntime when converted
    assert "WIDER FACE" in provenance["licence"]


def test_grid_cells_are_row_major_per_stride():
    cells = grid_cells(64, 32, (8, 16, 32))
    assert [len(c) for c in cells] == [8 * 4, 4 * 2, 2 * 1]
    np.testing.assert_array_equal(cells[0][:3], [[0, 0], [1, 0], [2, 0]])
    np.testing.assert_array_equal(cells[0][8], [0, 1])  # the second row starts after 8 columns
    np.testing.assert_array_equal(cells[2], [[0, 0], [1, 0]])


def test_decoding_follows_the_models_definition():
    """One cell per stride: centre = (cell + offset) x stride, size = exp(log size) x stride,
    keypoints = (cell + offset) x stride, score = sqrt(cls x obj).
    """
    detector = FaceDetector(YUNET_N)
    shape = (320, 320)
    detector.model(shape)  # loads the grid for this shape
    outputs = {}
    for stride in YUNET_N.strides:
        cells = (320 // stride) ** 2
        outputs[f"cls_{stride}"] = np.zeros((cells, 1), np.float32)
        outputs[f"obj_{stride}"] = np.zeros((cells, 1), np.float32)
        outputs[f"bbox_{stride}"] = np.zeros((cells, 4), np.float32)
        outputs[f"kps_{stride}"] = np.zeros((cells, 10), np.float32)
    index = 3 * (320 // 16) + 5  # stride 16, row 3, column 5
    outputs["cls_16"][index], outputs["obj_16"][index] = 0.81, 1.0
    outputs["bbox_16"][index] = [0.5, 0.25, np.log(4.0), np.log(5.0)]
    outputs["kps_16"][index] = [-1, -1, 1, -1, 0, 0, -1, 1, 1, 1]
    boxes, scores, points = detector._decode(outputs, shape, min_score=0.5)
    np.testing.assert_allclose(scores, [0.9])
    centre = np.array([(5 + 0.5) * 16, (3 + 0.25) * 16])
    half = np.array([32, 40])
    expected = np.concatenate([centre - half, centre + half])
    np.testing.assert_allclose(boxes[0], expected, atol=1e-4)
    np.testing.assert_allclose(points[0, 0], [(5 - 1) * 16, (3 - 1) * 16])
    np.testing.assert_allclose(points[0, 4], [(5 + 1) * 16, (3 + 1) * 16])
    assert detector._decode(outputs, shape, min_score=0.95)[1].size == 0


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], dtype=float)
    assert nms(boxes, np.array([0.5, 0.9, 0.7]), 0.3) == [1, 2]
    np.testing.assert_allclose(iou(boxes[0], boxes[1:]), [90 / 110, 0.0])


def test_no_face_in_a_plain_image():
    detector = FaceDetector(YUNET_N)
    for shape in YUNET_N.shapes:
        assert detector.detect(Image.new("RGB", (640, 480), (128, 128, 128)), shape) == []


def test_a_missing_file_or_an_unshipped_shape_is_a_clear_error(tmp_path):
    absent = DetectorSpec("yunet-n", "x", "absent", (8, 16, 32), ((320, 320),))
    with pytest.raises(ModelContractError, match="missing"):
        FaceDetector(absent)
    with pytest.raises(ValueError, match="ships no 640x480"):
        FaceDetector(YUNET_N).model((640, 480))


def test_pass_shapes_pick_the_canvas_that_holds_the_image_largest(shipped_model):
    analyzer = ImageAnalyzer()
    assert analyzer.pass_shapes((1280, 720)) == [(1024, 576)]
    assert analyzer.pass_shapes((1920, 1080)) == [(1024, 576)]
    assert analyzer.pass_shapes((4000, 3000)) == [(1024, 768)]
    assert analyzer.pass_shapes((1080, 1920)) == [(576, 1024)]
    assert analyzer.pass_shapes((200, 200)) == [(320, 320)]  # whole and unscaled in the smallest canvas
    assert analyzer.pass_shapes((640, 480)) == [(1024, 576)]  # never enlarged: the smallest canvas that holds it
    with_close_up = ImageAnalyzer(settings=AnalyzerSettings(close_up_side=320))
    assert with_close_up.pass_shapes((1280, 720)) == [(1024, 576), (320, 320)]
    assert with_close_up.pass_shapes((200, 200)) == [(320, 320)]
    assert fit_scale((2048, 1152), (1024, 576)) == 0.5


def test_where_passes_find_one_face_it_is_reported_once(shipped_model):
    scan = [box(0.1, 0.1, 0.3, 0.3, 0.8)]
    close_up = [box(0.09, 0.1, 0.31, 0.32, 0.95), box(0.5, 0.5, 0.9, 0.9, 0.9)]
    inside = box(0.6, 0.6, 0.65, 0.65, 0.7)
    fake = SimpleNamespace(
        spec=YUNET_N,
        detect=lambda image, shape: close_up if shape == (320, 320) else scan,
    )
    analyzer = ImageAnalyzer(detector=fake, settings=AnalyzerSettings(close_up_side=320))
    faces = analyzer.detect(Image.new("RGB", (1280, 720)))
    # The scan's detections win where both passes see a face; the close-up adds what the scan missed.
    assert [f.box for f in faces] == [close_up[1].box, scan[0].box]  # then highest score first
    assert same_face(inside, close_up[1], 0.3, 0.7)  # a box inside another is the same face
    assert not same_face(scan[0], close_up[1], 0.3, 0.7)
    assert overlaps(box(0, 0, 1, 1), box(0.1, 0, 1.1, 1), 0.3)
    assert not overlaps(box(0, 0, 1, 1), box(2, 2, 3, 3), 0.3)


def test_keypoints_put_the_subjects_right_eye_on_the_image_left(sample_portrait):
    faces = ImageAnalyzer().detect(sample_portrait)
    assert len(faces) == 1
    right_eye, left_eye, nose, right_mouth, left_mouth = faces[0].keypoints
    assert right_eye[0] < nose[0] < left_eye[0]
    assert right_mouth[0] < left_mouth[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(right_mouth[1], left_mouth[1])


@pytest.mark.dataset
@pytest.mark.parametrize("side", [30, 120, 400, 700])
def test_finds_a_utkface_face_where_it_was_pasted_once(side, utkface_dir, shipped_model):
    from training.dataset import iter_files, parse_name

    name, blob = next((n, b) for n, b in iter_files(utkface_dir / "UTKFace.tar.gz") if parse_name(n))
    face = Image.open(io.BytesIO(blob)).convert("RGB").resize((side, side))
    frame = Image.new("RGB", (1280, 720), (110, 120, 115))
    left, top = min(700, 1280 - side), min(10, 720 - side)
    frame.paste(face, (left, top))
    faces = ImageAnalyzer().detect(frame)
    assert len(faces) == 1, name
    found = np.array(faces[0].box) * [1280, 720, 1280, 720]
    assert iou(found, np.array([[left, top, left + side, top + side]]))[0] > 0.4
