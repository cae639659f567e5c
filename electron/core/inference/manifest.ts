// The model pack's manifest.json (written by models/training/pack.py): the fields the runtime relies on are
// checked here; everything else in the file is kept as read (see PackManifest.raw).
import { z } from 'zod';

const Dim = z.union([z.number().int().positive(), z.string().min(1)]);

export const OutputSpec = z.object({
  name: z.string().min(1),
  shape: z.array(Dim).min(1),
  dtype: z.literal('float32'),
  description: z.string().optional(),
});

export const ManifestSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  created_utc: z.string().optional(),
  model_file: z.string().min(1).default('model.onnx'),
  model_sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'a 64-digit hex sha256'),
  model_bytes: z.number().int().positive().optional(),
  input: z.object({ name: z.string().min(1), shape: z.array(Dim).length(4), dtype: z.literal('float32') }),
  input_size: z.number().int().min(16).max(4096),
  preprocess: z.object({
    letterbox: z.object({ size: z.number().int().positive(), pad_value: z.number() }).passthrough(),
    normalisation: z.object({ kind: z.literal('per_image_zscore'), eps: z.number().positive() }).passthrough(),
  }).passthrough(),
  outputs: z.array(OutputSpec).min(1),
  class_names: z.array(z.string().min(1)).min(2),
  tb_class_index: z.number().int().nonnegative(),
  det_class_names: z.array(z.string().min(1)).min(1),
  det_stride: z.number().int().positive(),
  det_decode: z.object({
    top_k: z.number().int().positive().default(100),
    suggested_display_score: z.number().min(0).max(1),
  }).passthrough(),
  lung_class_names: z.array(z.string().min(1)).length(3),
  lung_stride: z.number().int().positive(),
  evidence: z.object({ name: z.string().min(1), stride: z.number().int().positive() }).passthrough().optional(),
  operating_point: z.object({ tb_score_threshold: z.number().min(0).max(100) }).passthrough(),
  /** the lung-pooled feature vector a station's site head reads (packs from 1.2.1 on) */
  embedding: z.object({ name: z.string().min(1), dim: z.number().int().positive() }).passthrough().optional(),
  parity_fixture: z.string().optional(),
  intended_use: z.string().optional(),
}).passthrough();

export type PackManifest = z.infer<typeof ManifestSchema>;

/** Outputs the post-processing needs; `evidence` is optional (recomputed as the max over det_heatmap). */
export const REQUIRED_OUTPUTS = ['cls_logits', 'det_heatmap', 'det_size', 'det_offset', 'lung_logits'] as const;

/** Shape inconsistencies between the manifest's own fields (not yet against the ONNX file). */
export function manifestInconsistencies(m: PackManifest): string[] {
  const out: string[] = [];
  const byName = new Map(m.outputs.map((o) => [o.name, o]));
  for (const n of REQUIRED_OUTPUTS) if (!byName.has(n)) out.push(`output ${n} is not declared`);
  const S = m.input_size;
  const hm = S / m.det_stride;
  const lg = S / m.lung_stride;
  const expect: Record<string, (number | null)[]> = {
    cls_logits: [null, m.class_names.length],
    det_heatmap: [null, m.det_class_names.length, hm, hm],
    det_size: [null, 2, hm, hm],
    det_offset: [null, 2, hm, hm],
    lung_logits: [null, 3, lg, lg],
  };
  if (m.evidence) {
    const es = S / m.evidence.stride;
    expect[m.evidence.name] = [null, 1, es, es];
  }
  if (m.embedding) {
    if (!byName.has(m.embedding.name)) out.push(`output ${m.embedding.name} (the embedding) is not declared`);
    expect[m.embedding.name] = [null, m.embedding.dim];
  }
  for (const [name, dims] of Object.entries(expect)) {
    const o = byName.get(name);
    if (!o) continue;
    const ok = o.shape.length === dims.length && dims.every((d, i) => d === null || o.shape[i] === d);
    if (!ok) out.push(`output ${name} is declared as [${o.shape.join(', ')}], expected [${dims.map((d) => d ?? 'N').join(', ')}]`);
  }
  const inShape = m.input.shape;
  if (inShape[1] !== 1 || inShape[2] !== S || inShape[3] !== S) out.push(`input ${m.input.name} is declared as [${inShape.join(', ')}], expected [N, 1, ${S}, ${S}]`);
  if (m.preprocess.letterbox.size !== S) out.push(`preprocess.letterbox.size ${m.preprocess.letterbox.size} differs from input_size ${S}`);
  if (m.tb_class_index >= m.class_names.length) out.push(`tb_class_index ${m.tb_class_index} is outside class_names`);
  return out;
}
