from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest

from models.metrics import (
    IOU_THRESHOLDS,
    GroundTruth,
    Predictions,
    box_iou,
    evaluate_detections,
)

GT_BOX = [0.0, 0.0, 10.0, 10.0]


def det(boxes: list[list[float]], conf: list[float], cls: list[int]) -> Predictions:
    return Predictions(np.array(boxes, float).reshape(-1, 4), np.array(conf), np.array(cls))


def gt(boxes: list[list[float]], cls: list[int]) -> GroundTruth:
    return GroundTruth(np.array(boxes, float).reshape(-1, 4), np.array(cls))


def shifted(box: list[float], dx: float) -> list[float]:
    return [box[0] + dx, box[1], box[2] + dx, box[3]]


def test_box_iou_known_values() -> None:
    a = np.array([GT_BOX, [0, 0, 0, 5]])  # second box is degenerate
    b = np.array([GT_BOX, [5, 0, 15, 10], [20, 20, 30, 30]])
    expected = np.array([[1.0, 50 / 150, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(box_iou(a, b), expected)


def test_perfect_predictions_score_one() -> None:
    gts = [gt([GT_BOX, [20, 20, 40, 30]], [0, 1]), gt([[5, 5, 9, 9]], [2])]
    preds = [det(g.boxes_xyxy.tolist(), [0.9] * len(g.class_id), g.class_id.tolist()) for g in gts]
    report = evaluate_detections(preds, gts, 3)
    assert report.map50 == pytest.approx(1.0)
    assert report.map50_95 == pytest.approx(1.0)
    np.testing.assert_allclose(report.precision, 1.0)
    np.testing.assert_allclose(report.recall, 1.0)


def test_no_predictions_score_zero() -> None:
    gts = [gt([GT_BOX], [0])]
    report = evaluate_detections([det([], [], [])], gts, 1)
    assert report.map50 == 0.0
    assert report.map50_95 == 0.0
    summary = report.to_dict()["per_class"]["0"]
    assert summary["recall"] == 0.0
    assert summary["precision"] is None  # nothing predicted: precision undefined


def test_false_positive_ranked_above_true_positives() -> None:
    # Ranked FP, TP, TP over 2 GT: precision 0, 1/2, 2/3 -> envelope 2/3 everywhere.
    gts = [gt([GT_BOX, [20, 0, 30, 10]], [0, 0])]
    preds = [det([[50, 50, 60, 60], GT_BOX, [20, 0, 30, 10]], [0.9, 0.8, 0.7], [0, 0, 0])]
    assert evaluate_detections(preds, gts, 1).map50 == pytest.approx(2 / 3)


def test_false_positive_between_true_positives() -> None:
    # Ranked TP, FP, TP over 2 GT: recall .5 at precision 1 (recall points 0..0.50, 51 of
    # them), then recall 1 at precision 2/3 (the other 50 points).
    gts = [gt([GT_BOX, [20, 0, 30, 10]], [0, 0])]
    preds = [det([GT_BOX, [50, 50, 60, 60], [20, 0, 30, 10]], [0.9, 0.8, 0.7], [0, 0, 0])]
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert evaluate_detections(preds, gts, 1).map50 == pytest.approx(expected)


def test_ranking_spans_images() -> None:
    # Same as above, with the FP in a second image: ranking is global, not per image.
    gts = [gt([GT_BOX, [20, 0, 30, 10]], [0, 0]), gt([], [])]
    preds = [
        det([GT_BOX, [20, 0, 30, 10]], [0.9, 0.7], [0, 0]),
        det([[50, 50, 60, 60]], [0.8], [0]),
    ]
    expected = (51 * 1.0 + 50 * 2 / 3) / 101
    assert evaluate_detections(preds, gts, 1).map50 == pytest.approx(expected)


def test_duplicate_detection_is_a_false_positive() -> None:
    gts = [gt([GT_BOX], [0])]
    preds = [det([GT_BOX, GT_BOX], [0.9, 0.8], [0, 0])]
    report = evaluate_detections(preds, gts, 1)
    assert report.map50 == pytest.approx(1.0)  # the TP comes first, full recall at precision 1
    assert report.precision[0] == pytest.approx(0.5)
    assert report.recall[0] == pytest.approx(1.0)


def test_wrong_class_does_not_match() -> None:
    gts = [gt([GT_BOX], [0])]
    report = evaluate_detections([det([GT_BOX], [0.9], [1])], gts, 2)
    assert report.map50 == 0.0
    assert report.precision[1] == 0.0


def test_class_without_ground_truth_is_excluded_from_mean() -> None:
    gts = [gt([GT_BOX], [0])]
    preds = [det([GT_BOX, [30, 30, 40, 40]], [0.9, 0.9], [0, 1])]
    report = evaluate_detections(preds, gts, 2, names=["person", "net"])
    assert report.map50 == pytest.approx(1.0)
    assert report.map50_95 == pytest.approx(1.0)
    net = report.to_dict()["per_class"]["net"]
    assert net == {
        "map50": None,
        "map50_95": None,
        "precision": 0.0,
        "recall": None,
        "instances": 0,
    }


def test_partial_overlap_counts_for_map50_but_partly_for_map50_95() -> None:
    gts = [gt([GT_BOX], [0])]
    # IoU 0.625: a TP at thresholds 0.50, 0.55, 0.60 only -> 3 of 10.
    report = evaluate_detections([det([[0, 0, 10, 6.25]], [0.9], [0])], gts, 1)
    assert report.map50 == pytest.approx(1.0)
    assert report.map50_95 == pytest.approx(0.3)
    # IoU exactly 0.5 still counts at 0.5.
    report = evaluate_detections([det([[0, 0, 10, 5]], [0.9], [0])], gts, 1)
    assert report.map50 == pytest.approx(1.0)
    assert report.map50_95 == pytest.approx(0.1)


def test_greedy_match_takes_highest_iou_free_ground_truth() -> None:
    # GT A, B. The top detection has IoU .739 with A and .905 with B, so takes B (up to
    # threshold .90); the second is B exactly (IoU 1) and .667 with A, so gets A up to .65,
    # nothing from .70 to .90, and B at .95 where the top detection matched nothing.
    gts = [gt([GT_BOX, [2, 0, 12, 10]], [0, 0])]
    preds = [det([[1.5, 0, 11.5, 10], [2, 0, 12, 10]], [0.9, 0.8], [0, 0])]
    report = evaluate_detections(preds, gts, 1)
    tp_fp = 51 / 101  # recall .5 at precision 1
    fp_tp = 51 * 0.5 / 101  # recall .5 at precision .5
    np.testing.assert_allclose(report.ap[0], [1.0] * 4 + [tp_fp] * 5 + [fp_tp])


def test_confidence_threshold_affects_precision_recall_not_ap() -> None:
    gts = [gt([GT_BOX, [20, 0, 30, 10]], [0, 0])]
    preds = [det([GT_BOX, [20, 0, 30, 10]], [0.9, 0.1], [0, 0])]
    report = evaluate_detections(preds, gts, 1, conf_threshold=0.25)
    assert report.map50 == pytest.approx(1.0)
    assert report.recall[0] == pytest.approx(0.5)
    assert report.precision[0] == pytest.approx(1.0)


def test_prediction_order_within_image_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    gts, preds = _random_case(rng, images=20)
    base = evaluate_detections(preds, gts, 4)
    shuffled = []
    for p in preds:
        perm = rng.permutation(len(p.confidence))
        shuffled.append(Predictions(p.boxes_xyxy[perm], p.confidence[perm], p.class_id[perm]))
    again = evaluate_detections(shuffled, gts, 4)
    np.testing.assert_allclose(again.ap, base.ap)


def test_to_dict_is_json_ready() -> None:
    gts = [gt([GT_BOX], [0])]
    report = evaluate_detections([det([GT_BOX], [0.9], [0])], gts, 2, names=["person", "boat"])
    summary = json.loads(json.dumps(report.to_dict()))
    assert summary["map50"] == pytest.approx(1.0)
    assert set(summary["per_class"]) == {"person", "boat"}
    assert summary["per_class"]["person"]["instances"] == 1


def test_plain_tuples_are_accepted() -> None:
    report = evaluate_detections([(np.array([GT_BOX]), [0.9], [0])], [([GT_BOX], [0])], 1)
    assert report.map50 == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("preds", "gts", "message"),
    [
        ([], [([GT_BOX], [0])], "prediction entries"),
        ([([GT_BOX], [0.9], [3])], [([GT_BOX], [0])], "class ids"),
        ([([GT_BOX], [0.9], [0.5])], [([GT_BOX], [0])], "class ids"),
        ([([GT_BOX], [], [0])], [([GT_BOX], [0])], "confidence"),
        ([([[0, 0, 1]], [0.9], [0])], [([GT_BOX], [0])], "shape"),
    ],
)
def test_bad_input_is_rejected(preds: list, gts: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate_detections(preds, gts, 2)


def _random_case(
    rng: np.random.Generator, images: int, boxes_per_image: int = 20, num_classes: int = 4
) -> tuple[list[GroundTruth], list[Predictions]]:
    """Ground truth plus jittered copies (some dropped, some wrong class) and pure FPs."""
    gts, preds = [], []
    for _ in range(images):
        xy = rng.uniform(0, 600, (boxes_per_image, 2))
        wh = rng.uniform(10, 80, (boxes_per_image, 2))
        g_boxes = np.hstack([xy, xy + wh])
        g_cls = rng.integers(0, num_classes, boxes_per_image)
        keep = rng.random(boxes_per_image) < 0.8
        jitter = rng.normal(0, 4, (boxes_per_image, 4))
        p_cls = np.where(rng.random(boxes_per_image) < 0.1, (g_cls + 1) % num_classes, g_cls)
        fp_xy = rng.uniform(0, 600, (5, 2))
        p_boxes = np.vstack([(g_boxes + jitter)[keep], np.hstack([fp_xy, fp_xy + 40])])
        p_cls = np.concatenate([p_cls[keep], rng.integers(0, num_classes, 5)])
        conf = rng.uniform(0.05, 1.0, len(p_boxes))
        gts.append(GroundTruth(g_boxes, g_cls))
        preds.append(Predictions(p_boxes, conf, p_cls))
    return gts, preds


def test_300_images_evaluate_quickly() -> None:
    gts, preds = _random_case(np.random.default_rng(0), images=300)
    start = time.perf_counter()
    report = evaluate_detections(preds, gts, 4)
    elapsed = time.perf_counter() - start
    assert 0.3 < report.map50 < 1.0
    assert report.map50_95 < report.map50
    assert elapsed < 1.0


@pytest.mark.train
def test_agrees_with_ultralytics() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import ap_per_class
    from ultralytics.utils.metrics import box_iou as ul_box_iou

    gts, preds = _random_case(np.random.default_rng(7), images=50)
    validator = SimpleNamespace(iouv=torch.tensor(IOU_THRESHOLDS, dtype=torch.float32))
    tps, confs, pred_cls, target_cls = [], [], [], []
    for g, p in zip(gts, preds, strict=True):
        order = np.argsort(-p.confidence)  # Ultralytics matches in descending confidence
        iou = ul_box_iou(torch.tensor(g.boxes_xyxy), torch.tensor(p.boxes_xyxy[order]))
        correct = BaseValidator.match_predictions(
            validator, torch.tensor(p.class_id[order]), torch.tensor(g.class_id), iou
        )
        tps.append(correct.numpy())
        confs.append(p.confidence[order])
        pred_cls.append(p.class_id[order])
        target_cls.append(g.class_id)
    ap = ap_per_class(
        np.concatenate(tps),
        np.concatenate(confs),
        np.concatenate(pred_cls),
        np.concatenate(target_cls),
    )[5]
    report = evaluate_detections(preds, gts, 4)
    np.testing.assert_allclose(report.map50_per_class, ap[:, 0], atol=0.02)
    assert report.map50 == pytest.approx(ap[:, 0].mean(), abs=0.02)
    assert report.map50_95 == pytest.approx(ap.mean(), abs=0.02)
