"""Tests of the transfer work: held-out sources, LOSO and probe statistics, the lung-only TB reader, and the two-stage
export with its embedding.

    /usr/bin/python3 -m unittest discover -s models/training/tests -t .
"""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from models.training import data as D
from models.training import metrics as Mx
from models.training import transfer as TR
from models.training.model import EMBEDDING_NAME, OUTPUT_NAMES, CXRNet, ExportWrapper, lung_pool, lung_weights
from models.training.reader import TBReader, TwoStage, masked_standardise

torch.set_num_threads(1)
DATA = D.default_data_root()
HAVE_DATA = os.path.exists(os.path.join(DATA, "tbx11k", "manifest.jsonl"))


def lung_blob(n=2, s=64):
    """Two elliptic 'lungs' as a soft mask [n,1,s,s]."""
    yy, xx = np.mgrid[0:s, 0:s] / s
    m = np.zeros((s, s), np.float32)
    for cx in (0.32, 0.68):
        m = np.maximum(m, (((xx - cx) / 0.14) ** 2 + ((yy - 0.5) / 0.28) ** 2 < 1).astype(np.float32))
    return torch.from_numpy(np.repeat(m[None, None], n, 0))


class TestStatistics(unittest.TestCase):
    def test_loso_block_on_a_hand_made_case(self):
        y = [1, 1, 1, 1, 0, 0, 0, 0]
        s = [90, 80, 70, 20, 60, 30, 10, 5]
        b = TR.loso_block(y, s, threshold=50)
        # 16 TB / not-TB pairs: 90, 80 and 70 rank above all four not-TB scores, 20 above 10 and 5 only -> 14
        self.assertAlmostEqual(b["auc"], 14 / 16, places=4)
        self.assertEqual((b["n"], b["n_tb"], b["n_not_tb"]), (8, 4, 4))
        self.assertAlmostEqual(b["sensitivity_at_threshold"], 0.75)
        self.assertAlmostEqual(b["specificity_at_threshold"], 0.75)
        self.assertAlmostEqual(b["accuracy_at_threshold"], 0.75)
        # 90 % sensitivity needs all 4 TB: threshold 20, so not-TB below 20: 10 and 5 -> 2 of 4
        self.assertAlmostEqual(b["specificity_at_90_sensitivity"], 0.5)
        lo, hi = b["auc95"]
        self.assertLessEqual(lo, b["auc"])
        self.assertGreaterEqual(hi, b["auc"])
        self.assertLess(lo, hi)

    def test_bootstrap_is_deterministic_and_narrows_with_more_data(self):
        rng = np.random.default_rng(3)
        y_small = np.r_[np.ones(15), np.zeros(15)].astype(bool)
        s_small = np.r_[rng.normal(1, 1, 15), rng.normal(0, 1, 15)]
        y_big = np.r_[np.ones(300), np.zeros(300)].astype(bool)
        s_big = np.r_[rng.normal(1, 1, 300), rng.normal(0, 1, 300)]
        a = TR.bootstrap(y_small, s_small, Mx.roc_auc, draws=300)
        self.assertEqual(a, TR.bootstrap(y_small, s_small, Mx.roc_auc, draws=300))
        b = TR.bootstrap(y_big, s_big, Mx.roc_auc, draws=300)
        self.assertLess(b[1] - b[0], a[1] - a[0])

    def test_probe_finds_a_planted_source_signal_and_not_a_missing_one(self):
        rng = np.random.default_rng(0)
        src = np.array(["a"] * 60 + ["b"] * 40)
        noise = rng.normal(0, 1, (100, 8))
        planted = noise.copy()
        planted[:, 0] += np.where(src == "a", 3.0, -3.0)
        hi = TR.probe_accuracy(planted, src)
        lo = TR.probe_accuracy(noise, src)
        self.assertGreater(hi["accuracy"], 0.95)
        self.assertAlmostEqual(hi["chance"], 0.6)
        self.assertLess(lo["balanced_accuracy"], 0.7)
        self.assertEqual(hi["sources"], {"a": 60, "b": 40})

    def test_probe_splits_tb_and_not_tb(self):
        rng = np.random.default_rng(1)
        src = np.array(["x", "y"] * 50)
        tb = np.array([True] * 50 + [False] * 50)
        r = TR.shortcut_probe(rng.normal(0, 1, (100, 4)), src, tb)
        self.assertEqual(r["tb"]["n"], 50)
        self.assertEqual(r["not_tb"]["n"], 50)


class TestReader(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.r = TBReader(width=(8, 8, 16, 16, 24), blocks=(1, 1, 1, 1), head="hier", dilate=3).eval()

    def test_nothing_outside_the_lungs_reaches_the_score(self):
        m = lung_blob(2, 64)
        x = torch.rand(2, 1, 64, 64)
        y = x.clone()
        outside = (torch.nn.functional.max_pool2d(m, 3, 1, 1) == 0)
        y[outside] = torch.rand(int(outside.sum()))  # other texture, a frame, a label block: anything outside
        y[:, :, :4, :] = 1.0 * outside[:, :, :4, :] + y[:, :, :4, :] * ~outside[:, :, :4, :]
        with torch.no_grad():
            a, b = self.r(x, m), self.r(y, m)
        self.assertLess((a["logits"] - b["logits"]).abs().max().item(), 1e-5)
        self.assertLess((a["embedding"] - b["embedding"]).abs().max().item(), 1e-5)

    def test_brightness_and_contrast_inside_the_lungs_are_standardised(self):
        m = lung_blob(1, 64)
        x = torch.rand(1, 1, 64, 64)
        with torch.no_grad():
            a = self.r(x, m)["logits"]
            b = self.r(0.3 * x + 0.5, m)["logits"]
        self.assertLess((a - b).abs().max().item(), 1e-3)
        xs, mm = masked_standardise(x, m, 3)
        w = mm / mm.sum()
        self.assertAlmostEqual(float((xs * w).sum()), 0.0, places=4)

    def test_hier_three_class_view_is_a_distribution_with_tb_equal_sigmoid(self):
        logits = torch.tensor([[2.0, -1.0], [-3.0, 4.0], [0.0, 0.0]])
        lp = self.r.class_log_probs(logits)
        np.testing.assert_allclose(lp.exp().sum(1).numpy(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(lp[:, 2].exp().numpy(), torch.sigmoid(logits[:, 1]).numpy(), rtol=1e-6)
        np.testing.assert_allclose(self.r.tb_logit(logits).numpy(), logits[:, 1].numpy())
        tri = TBReader(width=(8, 8, 16, 16, 24), blocks=(1, 1, 1, 1), head="tri")
        l3 = torch.tensor([[0.1, 0.2, 1.5]])
        p = torch.softmax(l3, 1)[0, 2]
        self.assertAlmostEqual(float(tri.tb_logit(l3)), float(torch.log(p / (1 - p))), places=5)

    def test_lung_pool_ignores_cells_outside(self):
        f = torch.zeros(1, 2, 4, 4)
        f[0, :, 0, 0] = 100.0  # a hot cell outside the lungs
        f[0, :, 2, 2] = 3.0
        w = torch.zeros(1, 1, 4, 4)
        w[0, 0, 2, 2] = 1.0
        e = lung_pool(f, w)
        self.assertEqual(e.shape, (1, 4))
        np.testing.assert_allclose(e[0].numpy(), [3.0, 3.0, 3.0, 3.0])
        lg = torch.zeros(1, 3, 16, 16)
        lg[0, 1] = 10.0  # all lung
        np.testing.assert_allclose(lung_weights(lg, 4).numpy(), 1.0, atol=1e-4)


class TestTwoStageExport(unittest.TestCase):
    def test_export_declares_the_embedding_and_keeps_the_tb_score_rule(self):
        from models.training import export as E
        torch.manual_seed(0)
        net = CXRNet(width=(8, 8, 16, 16, 24), dec=16, blocks=(1, 1, 1, 1)).eval()
        rd = TBReader(width=(8, 8, 16, 16, 24), blocks=(1, 1, 1, 1), head="hier", dilate=3).eval()
        two = TwoStage(net, rd).eval()
        two.det_stride = net.det_stride
        x = torch.randn(2, 1, 64, 64)
        with torch.no_grad():
            outs = ExportWrapper(two, True)(x)
        self.assertEqual(len(outs), len(OUTPUT_NAMES) + 1)
        self.assertEqual(tuple(outs[-1].shape), (2, 48))
        cls = outs[OUTPUT_NAMES.index("cls_logits")]
        np.testing.assert_allclose(torch.softmax(cls, 1).sum(1).numpy(), 1.0, rtol=1e-5)
        with tempfile.TemporaryDirectory() as td:
            p = os.path.join(td, "m.onnx")
            E.export_onnx(two, 64, p, with_embedding=True)
            import onnx
            m = onnx.load(p)
            self.assertEqual([o.name for o in m.graph.output], OUTPUT_NAMES + [EMBEDDING_NAME])
            self.assertEqual(E.embedding_dim(two, 64), 48)


@unittest.skipUnless(HAVE_DATA, "datasets not available")
class TestHoldOut(unittest.TestCase):
    def test_held_out_source_is_in_no_working_split(self):
        rows = D.load_rows(DATA, hold_out=("tbx11k_extra_da_db",))
        dadb = [r for r in rows if r["_set"] == "tbx11k_extra_da_db"]
        self.assertTrue(dadb)
        self.assertTrue(all(r["_split"] == D.HELD_OUT for r in dadb))
        self.assertFalse(any(r["_split"] == D.HELD_OUT for r in rows if r["_set"] != "tbx11k_extra_da_db"))
        with self.assertRaises(ValueError):
            D.load_rows(DATA, hold_out=("montgomery",))

    def test_reader_trains_without_the_held_out_source_and_scores_all_of_it(self):
        from models.training import train_reader as R
        rows = D.load_rows(DATA)
        pick = []

        def take(pred, k):
            pick.extend([r["id"] for r in rows if pred(r)][:k])
        for s in ("tbx11k", "nih_cxr14_talo", "ieee8023_covid_cxr"):
            take(lambda r, s=s: r["_set"] == s and r["_split"] == "train", 3)
            take(lambda r, s=s: r["_set"] == s and r["_split"] in ("val", "test"), 3)
        take(lambda r: r["_set"] == "shenzhen" and r["label"] == "tb", 3)
        take(lambda r: r["_set"] == "shenzhen" and r["label"] == "normal", 3)
        ckpt = os.path.join(os.path.dirname(__file__), "..", "runs", "single_seg_1207", "final.pt")
        with tempfile.TemporaryDirectory() as td:
            a = R.parse_args(["--run", "arm", "--runs-dir", td, "--cache-dir", os.path.join(td, "c"),
                              "--lungs", ckpt, "--hold-out-source", "shenzhen", "--steps", "2",
                              "--batch-size", "4", "--warmup", "1", "--head", "hier", "--aug", "acq",
                              "--sampler", "balanced", "--adv", "0.3", "--ids", ",".join(pick)])
            R.train(a)
            with open(os.path.join(td, "arm", "eval.json")) as f:
                ev = json.load(f)
            self.assertEqual(ev["hold_out"], ["shenzhen"])
            self.assertEqual(ev["loso"]["shenzhen"]["n"], 6)
            self.assertEqual(ev["loso"]["shenzhen"]["n_tb"], 3)
            self.assertNotIn("shenzhen", ev["splits"]["val"]["classification"])
            with open(os.path.join(td, "arm", "train_log.jsonl")) as f:
                log = [json.loads(line) for line in f]
            start = next(r for r in log if r["msg"] == "start")
            self.assertNotIn("shenzhen", start["sources_tb"] + start["sources_not_tb"])


class BurnInTest(unittest.TestCase):
    def test_marks_only_near_the_content_edges_and_none_at_zero(self):
        from models.training.augment import burn_in
        x = torch.zeros(8, 1, 128, 128)
        x[:, :, 16:112, :] = 0.4  # content letterboxed top and bottom
        rng = np.random.default_rng(3)
        self.assertTrue(torch.equal(burn_in(x, rng, 0.0), x))
        self.assertEqual(rng.random(), np.random.default_rng(3).random())  # nothing drawn at p = 0
        y = burn_in(x, np.random.default_rng(4), 1.0)
        changed = (y - x).abs() > 0
        self.assertTrue(all(changed[b].any() for b in range(8)))  # every sample got a mark at p = 1
        # the marks sit on the content (never on the letterbox padding) and away from its middle, where the lungs are
        self.assertFalse(changed[:, :, :16].any() or changed[:, :, 112:].any())
        self.assertFalse(changed[:, :, 40:88, 30:98].any())
        self.assertTrue(torch.equal(x[:, :, 16:112, :] == 0.4, torch.ones_like(x[:, :, 16:112, :], dtype=torch.bool)))
