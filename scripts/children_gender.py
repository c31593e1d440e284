"""How far children's apparent gender, and with it the race gap, moves with the model (an analysis, not a step).

    python scripts/children_gender.py compare A.tflite B.tflite ...   # each model and every average of 2-3 of them
    python scripts/children_gender.py specialist --init_model model.keras --epochs 3

``compare`` classifies UTKFace's validation and test faces (aligned) with each model and with
the mean of the answers of every pair and triple of them (and of all), and prints per split the
gender accuracy, the gap between race groups, and the accuracy on children (under 18) and
babies (under 3). ``specialist`` fine-tunes a Keras model on the children's training rows alone
(``training.run.fit``, the shipped recipe's data) and prints children's, babies' and adults'
accuracy before and after on the validation faces of both crop paths (Keras; each face
averaged with its mirror image).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.preprocessing import prepare_face
from training.dataset import CHILD_AGE, UNKNOWN, FaceDataset
from training.metrics import RACE_GAP_AGE_BANDS, compute_metrics
from training.recipe import THREE_SOURCES

#: Babies: the evaluation's first age band (under 3).
BABY_AGE = RACE_GAP_AGE_BANDS[0][2]
#: The shipped recipe's data (training.recipe's last stage).
DATA_OPTIONS = [*THREE_SOURCES.split(), "--detector_views", "2", "--input_size", "72"]


def scores(held: FaceDataset, split: np.ndarray, p_female: np.ndarray, ages: np.ndarray) -> str:
    """Accuracy, race gap (``training.evaluate``'s), children and babies of the ``split`` rows, as one line."""
    faces, p_female, ages = held.subset_mask(split), p_female[split], ages[split]
    metrics = compute_metrics(faces.ages, faces.genders, faces.races, p_female, ages)
    right = (p_female >= 0.5) == (faces.genders == 1)
    child = (faces.ages != UNKNOWN) & (faces.ages < CHILD_AGE)
    baby = (faces.ages != UNKNOWN) & (faces.ages < BABY_AGE)
    return (f"{100 * metrics['gender_accuracy']:.2f}% gap {metrics['race_gender_accuracy_gap']:.2f} "
            f"children {100 * right[child].mean():.1f}% babies {100 * right[baby].mean():.1f}%")  # fmt: skip


def compare(models: list[Path]) -> None:
    """Each model and the averages of their answers on UTKFace's validation and test faces."""
    from agegender.classifier import AgeGenderClassifier
    from training.dataset import load_faces
    from training.options import DEFAULT_DATA

    faces = load_faces(DEFAULT_DATA, 72, cache_dir=Path.home() / ".cache" / "agegender")
    held = faces.subset_mask(faces.splits != "train")
    answers = {}
    for path in models:
        classifier = AgeGenderClassifier(path, num_threads=2, max_batch=64)
        side = classifier.input_size
        images = held.images
        if side != images.shape[1]:
            images = np.stack([prepare_face(Image.fromarray(face), side) for face in images])
        prediction = classifier.predict_inputs(images)
        answers[str(path)] = (prediction.p_female, prediction.age)
    sizes = [k for k in (1, 2, 3) if k <= len(models)] + ([len(models)] if len(models) > 3 else [])
    for size in sizes:
        for names in itertools.combinations(answers, size):
            p_female, ages = (np.mean([answers[name][i] for name in names], axis=0) for i in (0, 1))
            line = " | ".join(
                f"{split} {scores(held, held.splits == split, p_female, ages)}" for split in ("val", "test")
            )
            print(" + ".join(names), "|", line)


def specialist(init_model: Path, epochs: int) -> None:
    """Fine-tune ``init_model`` on children's training rows alone; children's accuracy before and after."""
    import keras

    from training import options, run
    from training.sources import MixedData

    work = Path("/tmp/children_specialist")
    args = options.parse_args([*DATA_OPTIONS, "--init_model", str(init_model), "--epochs", str(epochs),
                               "--learning_rate", "3e-4", "--warmup_epochs", "0.1", "--augment", "false",
                               "--export", "false", "--output_data_dir", str(work / "output"),
                               "--checkpoint_dir", str(work / "ckpt"), "--verbose", "2"])  # fmt: skip
    args.output_data_dir.mkdir(parents=True, exist_ok=True)
    data = run.load_data(args)

    def children(faces: FaceDataset) -> np.ndarray:
        return (faces.ages != UNKNOWN) & (faces.ages < CHILD_AGE)

    def report(model: keras.Model, tag: str) -> None:
        for key in ("utkface/val/aligned", "utkface/val/detected", "aaf/val/aligned"):
            faces = data.checks[key]
            x = faces.images.astype("float32")
            p_female = (
                sum(model.predict(view, batch_size=256, verbose=0)["gender"][:, 0] for view in (x, x[:, :, ::-1])) / 2
            )
            right = (p_female >= 0.5) == (faces.genders == 1)
            child, baby = children(faces), faces.ages < BABY_AGE
            print(f"{tag} {key}: children {100 * right[child].mean():.2f}% ({child.sum()}), babies "
                  f"{100 * right[baby & child].mean():.1f}%, adults {100 * right[~child].mean():.2f}%")  # fmt: skip

    report(keras.models.load_model(init_model, compile=False), "before")
    train = data.train.subset_mask(children(data.train))
    print(f"training on {len(train)} children's rows", flush=True)
    keras.utils.set_random_seed(args.seed)
    report(run.fit(args, MixedData(train, data.val, data.checks, data.misses, data.sources)), "after")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen analysis."""
    parser = argparse.ArgumentParser(prog="python scripts/children_gender.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compare_parser = commands.add_parser("compare", help="models and the averages of their answers")
    compare_parser.add_argument("models", type=Path, nargs="+", help="TFLite models (each with its contract)")
    specialist_parser = commands.add_parser("specialist", help="fine-tune on children alone")
    specialist_parser.add_argument("--init_model", type=Path, required=True, help="a Keras model.keras")
    specialist_parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "compare":
        compare(args.models)
    else:
        specialist(args.init_model, args.epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
