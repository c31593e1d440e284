import numpy as np
import pytest
from PIL import Image

from agegender.detector import Detection
from agegender.faces import CROP_SIDE, TEMPLATE, align_face, eye_geometry, similarity_to


def detection_at(points, size):
    """A detection whose five keypoints sit at the given pixel positions of a ``size`` image."""
    return Detection((0.0, 0.0, 1.0, 1.0), 0.9, np.array(points, dtype=float) / size)


def detection_with_eyes(right_eye, left_eye, size):
    """A detection with only its eye keypoints set."""
    points = np.zeros((5, 2))
    points[0], points[1] = right_eye, left_eye
    return detection_at(points, size)


def dots_image(size, points, radius):
    """White image with a black square dot at each point."""
    pixels = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    for x, y in points:
        pixels[int(y) - radius : int(y) + radius + 1, int(x) - radius : int(x) + radius + 1] = 0
    return Image.fromarray(pixels)


def dot_centroids(crop, near):
    """Centroid of the dark pixels nearest each of ``near`` (crop pixels)."""
    grey = np.asarray(crop.convert("L"), dtype=float)
    ys, xs = np.nonzero(grey < 60)  # the dots, not the grey fill beyond the image edge
    dark = np.stack([xs, ys], axis=1).astype(float)
    owner = np.argmin(((dark[:, None, :] - near[None]) ** 2).sum(-1), axis=1)
    return np.array([dark[owner == i].mean(axis=0) for i in range(len(near))])


@pytest.mark.parametrize(
    ("scale", "degrees", "offset", "size"),
    [
        (0.25, 0.0, (250, 150), (640, 480)),  # level, small face (50 px crop side)
        (0.6, 30.0, (200, 100), (640, 480)),  # tilted 30 degrees
        (4.0, -10.0, (300, 150), (1600, 1200)),  # a large face: the antialiased reduce path
    ],
)
def test_keypoints_land_on_the_template(scale, degrees, offset, size):
    angle = np.radians(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (TEMPLATE * CROP_SIDE) @ rotation.T * scale + offset
    radius = max(2, int(3 * scale))
    aligned = align_face(dots_image(size, points, radius), detection_at(points, size))
    assert aligned.crop.size == (CROP_SIDE, CROP_SIDE)
    np.testing.assert_allclose(dot_centroids(aligned.crop, TEMPLATE * CROP_SIDE), TEMPLATE * CROP_SIDE, atol=2.0)
    assert aligned.roll_degrees == pytest.approx(degrees + np.degrees(np.arctan2(*(TEMPLATE[1] - TEMPLATE[0])[::-1])))


def test_similarity_is_exact_for_a_similar_copy_and_least_squares_otherwise():
    a, b, tx, ty = similarity_to(TEMPLATE, TEMPLATE * 2 + 5)
    assert (a, b, tx, ty) == pytest.approx((2.0, 0.0, 5.0, 5.0))
    noisy = TEMPLATE + np.array([[0.01, 0], [-0.01, 0], [0, 0], [0, 0], [0, 0]])
    a, b, _, _ = similarity_to(TEMPLATE, noisy)
    assert a == pytest.approx(1.0, abs=0.02)
    assert b == pytest.approx(0.0, abs=0.02)


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


def test_a_wider_crop_keeps_the_face_centred_and_its_template_crop_is_the_usual_framing():
    points = TEMPLATE * CROP_SIDE * 1.5 + (200, 100)
    image = dots_image((640, 480), points, 4)
    usual = align_face(image, detection_at(points, (640, 480)))
    wide = align_face(image, detection_at(points, (640, 480)), scale=1.33, crop_side=224)
    assert wide.crop.size == (224, 224)
    squeezed = (0.5 + (TEMPLATE - 0.5) / 1.33) * 224  # the keypoints sit 1.33x closer to the centre
    np.testing.assert_allclose(dot_centroids(wide.crop, squeezed), squeezed, atol=2.0)
    inner = wide.template_crop
    assert abs(inner.width - 224 / 1.33) <= 1
    assert usual.template_crop is usual.crop
