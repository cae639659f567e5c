// A case store for the site calibration tests: cases with a model reading each (a TB score, a base logit and an
// embedding) and, for chosen cases, reference results, written through the store's own calls. The readings are
// synthetic and seeded: the embedding carries `signal` (how far TB cases sit from the others along a few
// dimensions) that the pack's own score (`scoreSignal`) only partly shows, so a site head has something to find.
import { CaseStore } from '../core/store/index';
import { seededRandom } from '../core/site/stats';
import type { SitePack } from '../core/site/threshold';
import { testImageRecord } from './records';
import { tempDbPath } from './index';

export const TEST_PACK: SitePack = { name: 'site-test-pack', version: '1.0.0', sha256: 'a'.repeat(64), defaultThreshold: 50, embeddingDim: 8 };

export interface SiteCaseSpec {
  /** truth for the synthetic reading (what the reference result will say) */
  positive: boolean;
}

export interface SiteStoreOptions {
  pack?: SitePack;
  positives: number;
  negatives: number;
  /** separation of the classes in the embedding (0: pure noise) */
  signal?: number;
  /** separation in the pack's own logit */
  scoreSignal?: number;
  seed?: number;
  /** enter an Xpert result for every case (default true) */
  results?: boolean;
  /** study date of every case, YYYYMMDD */
  studyDate?: string | null;
  tag?: string;
}

export interface SiteStore {
  store: CaseStore;
  pack: SitePack;
  cases: { caseId: number; imageId: number; analysisId: number; positive: boolean; tbScore: number }[];
}

/** Numbers with a normal distribution from a seeded uniform generator (Box–Muller). */
function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Add cases (with readings and, unless told not to, Xpert results) to a store. */
export function addSiteCases(store: CaseStore, o: SiteStoreOptions, first = 1): SiteStore['cases'] {
  const pack = o.pack ?? TEST_PACK;
  const dim = pack.embeddingDim ?? 8;
  const rand = seededRandom(o.seed ?? 7);
  const gauss = normal(rand);
  const out: SiteStore['cases'] = [];
  const specs = [...Array(o.positives).fill(true), ...Array(o.negatives).fill(false)] as boolean[];
  specs.forEach((positive, k) => {
    const i = first + k;
    const rec = testImageRecord(i, { tag: o.tag ?? 'site', studyDate: o.studyDate === undefined ? '20260115' : o.studyDate });
    rec.study.accessionNumber = `ACC${i}`;
    const { caseId, imageId } = store.insertImage(rec);
    const y = positive ? 1 : -1;
    const embedding = new Float32Array(dim);
    for (let j = 0; j < dim; j++) embedding[j] = gauss() + (j < 3 ? (y * (o.signal ?? 0)) / 2 : 0);
    const baseLogit = gauss() + (y * (o.scoreSignal ?? 1)) / 2;
    const tbScore = Math.round((100 / (1 + Math.exp(-baseLogit))) * 1e4) / 1e4;
    const { analysisId } = store.saveAnalysis({
      imageId, model: { name: pack.name, version: pack.version, sha256: pack.sha256, ep: 'cpu' }, tbScore, label: tbScore >= pack.defaultThreshold ? 'tb' : 'healthy',
      result: { threshold: pack.defaultThreshold, boxes: [], lungs: { right: [], left: [] }, zones: [] }, embedding, baseLogit,
    });
    if (o.results !== false) {
      store.db
        .prepare("INSERT INTO reference_results (case_ref, test, result, result_date, note, source, entered_by, entered_at) VALUES (?, 'xpert', ?, '2026-01-20', '', 'cli', 'test', '2026-01-20T00:00:00Z')")
        .run(caseId, positive ? 'detected' : 'not_detected');
    }
    out.push({ caseId, imageId, analysisId, positive, tbScore });
  });
  return out;
}

/** A new store holding the cases. */
export function siteStore(o: SiteStoreOptions): SiteStore {
  const store = CaseStore.open(tempDbPath());
  return { store, pack: o.pack ?? TEST_PACK, cases: addSiteCases(store, o) };
}
