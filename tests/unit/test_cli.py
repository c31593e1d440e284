import io
import json

import pytest
from PIL import Image

from agegender.cli import main
from tests.conftest import synthetic_face


def run(capsys, *args):
    assert main(["predict", *map(str, args)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_image_gets_one_line_and_bad_ones_a_typed_error(capsys, tmp_path, shipped_model):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (320, 240), (90, 90, 90)).save(plain)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    results = run(capsys, plain, corrupt, tmp_path / "missing.jpg")
    assert [r["Source"]["Path"] for r in results] == [str(plain), str(corrupt), str(tmp_path / "missing.jpg")]
    assert results[0]["Error"] is None
    assert results[0]["FaceDetails"] == []
    assert results[0]["Image"] == {"Width": 320, "Height": 240, "Format": "PNG"}
    assert results[1]["Error"]["Code"] == "InvalidImageFormat"
    assert results[2]["Error"]["Code"] == "InvalidPath"


def test_no_detect_classifies_the_whole_image(capsys, tmp_path, shipped_model):
    face = tmp_path / "face.jpg"
    synthetic_face(30, 1, 200).save(face)
    (result,) = run(capsys, "--no-detect", face)
    (detail,) = result["FaceDetails"]
    assert detail["BoundingBox"] == {"Width": 1.0, "Height": 1.0, "Left": 0.0, "Top": 0.0}
    assert detail["Gender"]["Value"] in ("Male", "Female")
    assert 0 <= detail["Age"]["Value"] <= 100
    assert result["Model"]["Detector"] is None


def test_usage_errors_exit_non_zero():
    with pytest.raises(SystemExit) as exit_info:
        main(["predict"])
    assert exit_info.value.code == 2


@pytest.mark.dataset
def test_finds_and_classifies_utkface_faces_in_a_frame(capsys, tmp_path, shipped_model, utkface_dir):
    from training.dataset import iter_files, parse_name, split_of

    faces = []
    for name, blob in iter_files(utkface_dir / "UTKFace.tar.gz"):
        label = parse_name(name)
        if label and split_of(name) == "test" and 20 <= label.age <= 60:
            faces.append(Image.open(io.BytesIO(blob)).convert("RGB"))
        if len(faces) == 2:
            break
    frame = Image.new("RGB", (1280, 720), (100, 110, 105))
    frame.paste(faces[0].resize((180, 180)), (150, 200))
    frame.paste(faces[1].resize((240, 240)), (800, 250))
    path = tmp_path / "frame.jpg"
    frame.save(path, quality=92)
    (result,) = run(capsys, path)
    boxes = sorted((f["BoundingBox"] for f in result["FaceDetails"]), key=lambda box: box["Left"])
    assert len(boxes) == 2
    for box, (left, top, side) in zip(boxes, [(150, 200, 180), (800, 250, 240)], strict=True):
        centre_x, centre_y = (box["Left"] + box["Width"] / 2) * 1280, (box["Top"] + box["Height"] / 2) * 720
        assert left < centre_x < left + side
        assert top < centre_y < top + side
        assert 0.4 * side < box["Width"] * 1280 < side
    assert all(f["Classified"] for f in result["FaceDetails"])


def test_without_the_close_up_pass_a_plain_image_still_analyses(shipped_model):
    from agegender.analyzer import AnalyzerSettings, ImageAnalyzer

    analyzer = ImageAnalyzer(settings=AnalyzerSettings(close_up_side=0))
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 90, 90)).save(buffer, format="PNG")
    assert analyzer.analyze(buffer.getvalue()).faces == []


def test_the_installed_command_adds_the_local_pipeline_commands(capsys):
    from local_pipeline.cli import main as installed_main

    with pytest.raises(SystemExit) as exit_info:
        installed_main(["--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    for command in ("predict", "local", "redrive", "demo"):
        assert command in usage


def test_predict_reads_no_more_than_the_limit_and_goes_on_after_bad_files(capsys, shipped_model, tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 48), (90, 90, 90)).save(good)
    results = run(capsys, "/dev/zero", tmp_path / "missing.jpg", good)
    assert [r["Error"]["Code"] if r["Error"] else None for r in results] == ["ImageTooLarge", "InvalidPath", None]


def test_local_up_on_a_busy_port_says_so_and_exits(capsys):
    import socket

    from local_pipeline.cli import main as installed_main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert installed_main(["local", "up", "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err


def test_appearance_is_described_only_when_asked(shipped_model, sample_portrait):
    from agegender.analyzer import ImageAnalyzer

    frame = Image.new("RGB", (640, 480), (90, 90, 90))
    frame.paste(sample_portrait, (240, 150))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=92)
    analyzer = ImageAnalyzer()
    assert analyzer.analyze(buffer.getvalue()).appearance == []  # an upload: no histograms computed
    described = analyzer.analyze(buffer.getvalue(), appearance=True)
    assert len(described.appearance) == len(described.faces) == 1
    assert len(described.appearance[0]) == 24
