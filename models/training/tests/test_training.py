"""Fast tests for the CXR training package (< 60 s on 2 CPU cores).

    /usr/bin/python3 -m unittest discover -s models/training/tests -t .
"""
import json
import os
import tempfile
import types
import unittest

import numpy as np
import torch
from PIL import Image

from models.training import data as D
from models.training import preprocess as pp
from models.training import metrics as Mx
from models.training.augment import (apply_geometry, centernet_targets, normalise_batch, random_affines,
                                     swap_lungs)
from models.training.model import OUTPUT_NAMES, CXRNet, output_shapes

torch.set_num_threads(1)
DATA = D.default_data_root()
HAVE_DATA = os.path.exists(os.path.join(DATA, "tbx11k", "manifest.jsonl"))


class TestPreprocess(unittest.TestCase):
    def test_geometry_and_round_trip(self):
        g = pp.letterbox_geometry(400, 300, 256)
        self.assertEqual((g.new_w, g.new_h, g.pad_x, g.pad_y), (256, 192, 0, 32))
        for x, y in [(0, 0), (399.5, 299.5), (123.25, 77.0)]:
            xl, yl = g.to_lb(x, y)
            xb, yb = g.to_src(xl, yl)
            self.assertAlmostEqual(x, xb, places=9)
            self.assertAlmostEqual(y, yb, places=9)
        g2 = pp.letterbox_geometry(240, 320, 256)
        self.assertEqual((g2.new_w, g2.new_h, g2.pad_x, g2.pad_y), (192, 256, 32, 0))

    def test_letterbox_matches_pillow_and_pads_zero(self):
        rng = np.random.default_rng(0)
        img = rng.integers(0, 256, (300, 410)).astype(np.uint8)
        lb, g = pp.letterbox(pp.to_unit(img), 128)
        ref = np.asarray(Image.fromarray(img.astype(np.float32) / 255.0, mode="F").resize(
            (g.new_w, g.new_h), Image.BILINEAR))
        got = lb[g.pad_y:g.pad_y + g.new_h, g.pad_x:g.pad_x + g.new_w]
        self.assertLess(np.abs(got - ref).max(), 1e-4)
        self.assertTrue(np.all(lb[:g.pad_y] == 0.0) and np.all(lb[g.pad_y + g.new_h:] == 0.0))

    def test_normalise_and_uint16(self):
        img16 = (np.arange(200 * 150).reshape(150, 200) % 65535).astype(np.uint16)
        x, g = pp.preprocess(img16, 64)
        self.assertEqual(x.shape, (1, 1, 64, 64))
        self.assertEqual(x.dtype, np.float32)
        self.assertAlmostEqual(float(x.astype(np.float64).mean()), 0.0, places=5)
        self.assertAlmostEqual(float(x.astype(np.float64).std()), 1.0, places=4)
        # torch training-time twin agrees
        lb, _ = pp.letterbox(pp.to_unit(img16), 64)
        t = normalise_batch(torch.from_numpy(lb.astype(np.float32))[None, None]).numpy()
        self.assertLess(np.abs(t - x).max(), 1e-4)

    def test_identity_resize(self):
        img = np.random.default_rng(1).integers(0, 256, (64, 64)).astype(np.uint8)
        lb, g = pp.letterbox(pp.to_unit(img), 64)
        self.assertTrue(np.array_equal(lb, pp.to_unit(img)))


class FakeCorpus:
    def __init__(self, n_cls=900, n_det=300, n_seg=60):
        self.items = []
        for i in range(n_cls):
            lab = ["normal", "non_tb", "tb"][i % 3]
            src = ["a", "b", "c"][(i // 3) % 3]
            self.items.append(types.SimpleNamespace(source=src, label=lab))
        self.idx = {"cls": list(range(n_cls)), "det": list(range(n_det)), "seg": list(range(n_seg))}


class TestSampler(unittest.TestCase):
    def test_inverse_probabilities(self):
        sizes = {"cls": 900, "det": 300, "seg": 60}
        p = D.task_probabilities(sizes, "inverse")
        for a in sizes:
            for b in sizes:
                self.assertAlmostEqual(p[a] * sizes[a], p[b] * sizes[b], places=9)
        self.assertAlmostEqual(sum(p.values()), 1.0)
        q = D.task_probabilities(sizes, "proportional")
        self.assertAlmostEqual(q["cls"], 900 / 1260)
        s = D.task_probabilities(sizes, "single:det")
        self.assertEqual(s, {"cls": 0.0, "det": 1.0, "seg": 0.0})

    def test_explicit_weights(self):
        sizes = {"cls": 900, "det": 300, "seg": 60}
        w = D.task_probabilities(sizes, "weights:cls=3,det=1.5,seg=0.5")
        self.assertAlmostEqual(w["cls"], 0.6)
        self.assertAlmostEqual(w["det"], 0.3)
        self.assertAlmostEqual(w["seg"], 0.1)
        self.assertEqual(D.task_probabilities(sizes, "weights:cls=1")["det"], 0.0)
        for bad in ("weights:cls=0", "weights:lung=1", "weights:cls=-1", "weights:cls=x"):
            with self.assertRaises(ValueError):
                D.task_probabilities(sizes, bad)
        with self.assertRaises(ValueError):
            D.task_probabilities({"cls": 9, "det": 0, "seg": 3}, "weights:det=1")

    def test_empirical_draws(self):
        fc = FakeCorpus()
        s = D.TaskSampler(fc, "inverse", 4, seed=0, task_idx=fc.idx)
        n = 6000
        counts = {t: 0 for t in D.TASKS}
        for _ in range(n):
            t, b = s.draw()
            counts[t] += 1
            self.assertEqual(len(b), 4)
        expect = {t: s.probs[t] for t in D.TASKS}
        for t in D.TASKS:
            self.assertLess(abs(counts[t] / n - expect[t]), 0.02)
        self.assertGreater(counts["seg"], counts["det"])
        self.assertGreater(counts["det"], counts["cls"])
        # reproducible
        s1 = D.TaskSampler(fc, "inverse", 4, seed=5, task_idx=fc.idx)
        s2 = D.TaskSampler(fc, "inverse", 4, seed=5, task_idx=fc.idx)
        self.assertEqual([s1.draw() for _ in range(20)], [s2.draw() for _ in range(20)])


    def test_mixed_source_mass(self):
        # sources: "m" holds TB and not-TB (10 TB, 30 normal), "x" only not-TB (50), "t" only TB (100)
        items = ([types.SimpleNamespace(source="m", label="tb")] * 10 + [types.SimpleNamespace(source="m", label="normal")] * 30
                 + [types.SimpleNamespace(source="x", label="non_tb")] * 50 + [types.SimpleNamespace(source="t", label="tb")] * 100)
        fc = types.SimpleNamespace(items=items)
        idx = list(range(len(items)))
        w = D.mixed_source_weights(fc, idx, 0.6)
        self.assertAlmostEqual(w.sum(), 1.0)
        self.assertAlmostEqual(w[:10].sum(), 0.3)      # half of the mixed source's 0.6 to its TB images
        self.assertAlmostEqual(w[10:40].sum(), 0.3)
        self.assertAlmostEqual(w[40:].sum(), 0.4)      # the rest keeps the default rule
        self.assertTrue(np.allclose(w[:10], w[0]) and np.allclose(w[10:40], w[10]))
        np.testing.assert_allclose(D.mixed_source_weights(fc, idx, None), D.cls_group_weights(fc, idx))


class TestModel(unittest.TestCase):
    def test_shapes(self):
        net = CXRNet().eval()
        with torch.no_grad():
            o = net(torch.randn(2, 1, 128, 128))
        exp = output_shapes(128)
        for k in OUTPUT_NAMES:
            self.assertEqual(list(o[k].shape[1:]), exp[k][1:], k)
        self.assertTrue(float(o["det_heatmap"].min()) >= 0 and float(o["det_heatmap"].max()) <= 1)

    def test_geometry_boxes_identity(self):
        img = torch.rand(1, 1, 64, 64)
        boxes = [np.array([[10, 12, 30, 40, 0]], np.float32)]
        out, _, ob = apply_geometry(img, None, boxes, np.eye(2)[None], np.zeros((1, 2)))
        self.assertLess(float((out - img).abs().max()), 1e-5)
        self.assertTrue(np.allclose(ob[0], boxes[0], atol=1e-4))
        hm, wh, off, m = centernet_targets(ob, 64, 4, 2)
        self.assertEqual(float(m.sum()), 1.0)
        self.assertAlmostEqual(float(hm.max()), 1.0)

    def test_mirror_moves_image_boxes_and_lung_labels_together(self):
        # strength 0 leaves only the mirror: M = diag(-1, 1), T = 0
        M, T, flips = random_affines(3, np.random.default_rng(3), strength=0.0, hflip=1.0)
        self.assertTrue(flips.all())
        img = torch.rand(3, 1, 64, 64)
        seg = torch.zeros(3, 64, 64, dtype=torch.long)
        seg[:, 8:50, 4:28] = 1    # right lung on the image's left
        seg[:, 8:50, 36:60] = 2   # left lung on the image's right
        boxes = [np.array([[10, 12, 30, 40, 1]], np.float32)] * 3
        out, oseg, ob = apply_geometry(img, seg, boxes, M, T)
        oseg = swap_lungs(oseg, flips)
        self.assertLess(float((out - img.flip(-1)).abs().max()), 1e-5)
        self.assertTrue(np.allclose(ob[0], [[34, 12, 54, 40, 1]], atol=1e-4))
        # after the swap the lung on the image's left is still labelled right (1), and the mirror of the
        # right-lung region (columns 4..27 -> 36..59) is now labelled left (2)
        self.assertTrue(bool((oseg[:, 8:50, 36:60] == 2).all()))
        self.assertTrue(bool((oseg[:, 8:50, 4:28] == 1).all()))
        self.assertEqual(int((oseg == 1).sum()), int((seg == 1).sum()))

    def test_no_mirror_draws_no_extra_random_numbers(self):
        # runs trained before the mirror existed must replay bit for bit: with hflip=0 each sample
        # still takes exactly five draws (angle, scale, aspect, shift x, shift y)
        a = np.random.default_rng(9)
        _, _, flips = random_affines(4, a, hflip=0.0)
        self.assertFalse(flips.any())
        self.assertEqual(a.uniform(), np.random.default_rng(9).uniform(size=4 * 5 + 1)[-1])

    def test_metrics(self):
        self.assertAlmostEqual(Mx.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75)
        g = [np.array([[0, 0, 10, 10, 0]], np.float32)]
        d = [np.array([[0, 0, 10, 10, 0.9, 0], [20, 20, 30, 30, 0.8, 0]], np.float32)]
        self.assertAlmostEqual(Mx.average_precision(d, g, 0.5, 0), 1.0)
        self.assertEqual(Mx.threshold_for_sensitivity([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
                                                      list(range(10, 0, -1)) + [5], 0.9), 2.0)

    def test_display_calibration(self):
        # image 1: lesion found at 0.6, a false box at 0.3; image 2: no lesion, false box at 0.4; image 3: lesion
        # found only at 0.2. 2 lesions. t=0.2: tp 2, fp 2 (P 0.5, R 1, F1 0.667); t=0.3: tp 1, fp 2 (0.4);
        # t=0.4: tp 1, fp 1 (0.5); t=0.5, 0.6: tp 1, fp 0 (0.667); ties (0.2, 0.5, 0.6) -> the highest, 0.6;
        # t=0.7: nothing shown (0).
        g = [np.array([[0, 0, 10, 10, 0]], np.float32), np.zeros((0, 5), np.float32),
             np.array([[50, 50, 70, 70, 1]], np.float32)]
        d = [np.array([[1, 1, 10, 10, 0.6, 0], [30, 30, 40, 40, 0.3, 0]], np.float32),
             np.array([[5, 5, 9, 9, 0.4, 1]], np.float32),
             np.array([[50, 50, 70, 71, 0.2, 0]], np.float32)]  # other class: matching is class-agnostic
        best, curve = Mx.display_calibration(d, g, thresholds=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
        f1 = {c["t"]: round(c["f1"], 3) for c in curve}
        self.assertEqual(f1, {0.2: 0.667, 0.3: 0.4, 0.4: 0.5, 0.5: 0.667, 0.6: 0.667, 0.7: 0.0})
        self.assertEqual(best["t"], 0.6)
        self.assertEqual((best["lesion_images_with_a_correct_box"], best["lesion_free_images_with_a_box"]), (1, 0))
        self.assertEqual(curve[0]["lesion_free_images_with_a_box"], 1)
        # class-wise NMS as in the runtime: same-class overlap suppressed, other class kept
        n = Mx.nms_by_class(np.array([[0, 0, 10, 10, 0.9, 0], [1, 0, 10, 10, 0.8, 0], [1, 0, 10, 10, 0.7, 1]], np.float32))
        np.testing.assert_allclose(n[:, 4], [0.9, 0.7], rtol=1e-6)


@unittest.skipUnless(HAVE_DATA, "datasets not available")
class TestSmoke(unittest.TestCase):
    def test_train_3_steps_and_export(self):
        from models.training import train as T
        from models.training import export as E
        rows = D.load_rows(DATA)
        pick = []
        def take(pred, k):
            pick.extend([r["id"] for r in rows if pred(r)][:k])
        take(lambda r: r["_set"] == "tbx11k" and r["_split"] == "train" and r["boxes"], 3)
        take(lambda r: r["_set"] == "shenzhen" and r["_split"] == "train" and r.get("lung_polygons"), 3)
        take(lambda r: r["_set"] == "nih_cxr14_talo" and r["_split"] == "train", 3)
        take(lambda r: r["_set"] == "ieee8023_covid_cxr" and r["_split"] == "train", 2)
        take(lambda r: r["_set"] == "tbx11k" and r["_split"] in ("val", "test"), 2)
        take(lambda r: r["_set"] == "shenzhen" and r["_split"] in ("val", "test") and r.get("lung_polygons"), 3)
        take(lambda r: r["_set"] == "nih_cxr14_talo" and r["_split"] in ("val", "test"), 3)
        with tempfile.TemporaryDirectory() as td:
            a = T.parse_args(["--run", "smoke", "--runs-dir", td, "--cache-dir", os.path.join(td, "c"),
                              "--size", "128", "--steps", "3", "--batch-size", "4", "--warmup", "1",
                              "--ckpt-every", "2", "--log-every", "1", "--sampler", "uniform",
                              "--ids", ",".join(pick)])
            net, corpus = T.train(a)
            run = os.path.join(td, "smoke")
            log = [json.loads(l) for l in open(os.path.join(run, "train_log.jsonl"))]
            self.assertTrue(any(r["msg"] == "step 3" for r in log))
            ev = json.load(open(os.path.join(run, "eval.json")))
            self.assertIn("pooled", ev["splits"]["val"]["classification"])
            # resume continues from the checkpoint to a larger budget
            a2 = T.parse_args(["--run", "smoke", "--runs-dir", td, "--cache-dir", os.path.join(td, "c"),
                               "--size", "128", "--steps", "4", "--batch-size", "4", "--resume",
                               "--no-final-eval", "--ids", ",".join(pick), "--sampler", "uniform"])
            T.train(a2)
            onnx_path = os.path.join(td, "m.onnx")
            sha = E.export_onnx(net, 128, onnx_path)
            self.assertEqual(len(sha), 64)
            import onnx
            m = onnx.load(onnx_path)
            self.assertEqual([o.name for o in m.graph.output], OUTPUT_NAMES)
            self.assertEqual(m.graph.input[0].type.tensor_type.shape.dim[0].dim_param, "N")
            idx = E.write_parity(net, 128, os.path.join(td, "par"), which=[0, 3], model_sha=sha)
            self.assertEqual(len(idx["samples"]), 2)
            # same seed -> identical weights (reproducibility)
            a3 = T.parse_args(["--run", "smoke2", "--runs-dir", td, "--cache-dir", os.path.join(td, "c"),
                               "--size", "128", "--steps", "3", "--batch-size", "4", "--warmup", "1",
                               "--ckpt-every", "2", "--log-every", "1", "--sampler", "uniform",
                               "--no-final-eval", "--ids", ",".join(pick)])
            net3, _ = T.train(a3)
            for (k, v), (k3, v3) in zip(net.state_dict().items(), net3.state_dict().items()):
                self.assertTrue(torch.equal(v, v3), k)
            # weight averaging of two checkpoints, BatchNorm statistics re-estimated on train images
            from models.training import soup as S
            out = os.path.join(td, "soup.pt")
            S.main(["--ckpt", os.path.join(run, "final.pt"), "--ckpt", os.path.join(td, "smoke2", "final.pt"),
                    "--out", out, "--cache-dir", os.path.join(td, "c"), "--bn-batches", "2", "--batch-size", "4"])
            ck = torch.load(out, map_location="cpu")
            self.assertEqual(len(ck["args"]["soup_of"]), 2)
            ne = CXRNet(**ck["model_kwargs"])
            ne.load_state_dict(ck["model"])
            self.assertTrue(all(torch.isfinite(v).all() for v in ck["model"].values() if v.dtype.is_floating_point))


class TestSoup(unittest.TestCase):
    def test_average_state(self):
        a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
        b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(7)}
        from models.training.soup import average_state
        m = average_state([a, b])
        self.assertTrue(torch.equal(m["w"], torch.tensor([2.0, 4.0])))
        self.assertEqual(int(m["n"]), 7)
        one = average_state([a])
        self.assertTrue(torch.equal(one["w"], a["w"]))


if __name__ == "__main__":
    unittest.main()
