#!/usr/bin/env bash
# The model card's transfer section (LOSO table, shortcut probe, out-of-lung perturbation) from the runs' files.
#   models/training/card_transfer.sh RUNS_DIR OUT.md
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=$1; OUT=$2
/usr/bin/python3 -m models.training.card_transfer --runs-dir "$RUNS" --text models/training/card_transfer.md --out "$OUT" \
  --method "rs_lung_acq=lung-only reader, acquisition randomisation, 3-way head, mixed sampler (chosen by the rule; not shipped, see below)" \
  --method "rs_global=whole image, 3-way head, base augmentation, mixed sampler (the shipped design)" \
  --method "rs_lung_acq_hier_bal=lung-only reader, acquisition randomisation, abnormal + TB heads, source-balanced sampler" \
  --probe "1.2.1, whole image (what its TB head read)=ft_cls2/probe.json:whole_image" \
  --probe "1.2.1, lung-pooled (its embedding output)=ft_cls2/probe.json:lung" \
  --probe "1.2.1 fine-tuned with burned-in marks, ft_burn (not shipped), lung-pooled=ft_burn/probe.json:lung" \
  --probe "lung-only TB reader rl_acq_ship (not shipped; what its head reads)=rl_acq_ship/eval.json:shortcut_probe" \
  --perturb "1.2.1 (whole-image classifier)=ft_cls2/perturb.json" \
  --perturb "lung-only TB reader rl_acq_ship (not shipped)=rl_acq_ship/perturb.json" \
  --perturb "1.2.1 fine-tuned with burned-in marks, ft_burn (not shipped)=ft_burn/perturb.json"
