import numpy as np
import pytest
from PIL import Image

from agegender.detector import Detection
from agegender.faces import CROP_SIDE, TEMPLATE_EYE_CENTER, TEMPLATE_EYE_DISTANCE, align_face, eye_geometry


def detection_with_eyes(right_eye, left_eye, size):
    """A detection whose eye keypoints sit at the given pixel positions of a ``size`` image."""
    keypoints = np.zeros((6, 2))
    keypoints[0] = np.array(right_eye) / size
    keypoints[1] = np.array(left_eye) / size
    return Detection((0.0, 0.0, 1.0, 1.0), 0.9, keypoints)


def dots_image(size, right_eye, left_eye):
    """White image with two black dots at the eyes, a tenth of the eye distance across."""
    pixels = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    r = max(2, int(np.hypot(left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]) / 20))
    for x, y in (right_eye, left_eye):
        pixels[int(y) - r : int(y) + r + 1, int(x) - r : int(x) + r + 1] = 0
    return Image.fromarray(pixels)


def dark_centroids(crop):
    grey = np.asarray(crop.convert("L"), dtype=float)
    ys, xs = np.nonzero(grey < 60)  # the dots, not the grey fill beyond the image edge
    left = xs < CROP_SIDE / 2
    return np.array([xs[left].mean(), ys[left].mean()]), np.array([xs[~left].mean(), ys[~left].mean()])


@pytest.mark.parametrize(
    ("right_eye", "left_eye", "size"),
    [
        ((300, 200), (350, 200), (640, 480)),  # level, small face
        ((300, 200), (343, 225), (640, 480)),  # tilted 30 degrees
        ((400, 500), (1000, 520), (1600, 1200)),  # a large face: the antialiased reduce path
    ],
)
def test_eyes_land_on_the_template(right_eye, left_eye, size):
    detection = detection_with_eyes(right_eye, left_eye, size)
    aligned = align_face(dots_image(size, right_eye, left_eye), detection)
    assert aligned.crop.size == (CROP_SIDE, CROP_SIDE)
    got_right, got_left = dark_centroids(aligned.crop)
    half = TEMPLATE_EYE_DISTANCE * CROP_SIDE / 2
    cx, cy = TEMPLATE_EYE_CENTER[0] * CROP_SIDE, TEMPLATE_EYE_CENTER[1] * CROP_SIDE
    np.testing.assert_allclose(got_right, [cx - half, cy], atol=2.0)
    np.testing.assert_allclose(got_left, [cx + half, cy], atol=2.0)


def test_eye_geometry_reports_distance_and_roll():
    center, distance, roll = eye_geometry(detection_with_eyes((100, 100), (130, 130), (400, 400)), 400, 400)
    np.testing.assert_allclose(center, [115, 115])
    assert distance == pytest.approx(np.hypot(30, 30))
    assert roll == pytest.approx(45.0)


def test_quality_brightness_and_sharpness():
    from PIL import ImageFilter

    from agegender.faces import quality

    flat_white = quality(Image.new("RGB", (200, 200), (255, 255, 255)))
    assert flat_white == {"Brightness": 100.0, "Sharpness": 0.0}
    assert quality(Image.new("RGB", (200, 200), (0, 0, 0)))["Brightness"] == 0.0
    rng = np.random.default_rng(0)
    detailed = Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8))
    sharp = quality(detailed)["Sharpness"]
    soft = quality(detailed.filter(ImageFilter.GaussianBlur(2)))["Sharpness"]
    assert sharp > 95
    assert soft < sharp
