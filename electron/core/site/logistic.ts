// L2-regularised logistic regression, fitted by Newton's method, and the stratified k-fold cross-validation that
// chooses its regularisation. Deterministic: no random start, folds from a seeded generator, a fixed grid.
//
// The fit: features are standardised with the training rows' mean and standard deviation (a constant feature
// becomes 0), then the penalised negative log-likelihood
//     Σ_i [log(1 + e^η_i) − y_i η_i] + (λ/2) ‖w‖²,   η_i = b + w·z_i
// is minimised over (b, w) (the intercept b is not penalised). With λ > 0 it is strictly convex, so Newton's method
// with a step-halving line search reaches its one minimum; each step solves the (d+1)×(d+1) system by Cholesky.
import { seededRandom, shuffle } from './stats';

export interface LogisticModel {
  /** per feature: the training mean and standard deviation (1 where the feature was constant) */
  mean: number[];
  scale: number[];
  /** weights on the standardised features */
  weights: number[];
  intercept: number;
  lambda: number;
}

export interface FitInfo {
  iterations: number;
  converged: boolean;
  /** the penalised negative log-likelihood at the solution */
  objective: number;
}

/** Rows × columns, row-major. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: readonly (readonly number[])[]): Matrix {
  const r = rows.length;
  const c = r ? rows[0].length : 0;
  const data = new Float64Array(r * c);
  rows.forEach((row, i) => {
    if (row.length !== c) throw new Error(`row ${i} has ${row.length} values, expected ${c}`);
    data.set(row, i * c);
  });
  return { rows: r, cols: c, data };
}

/** The rows `idx` of a matrix, as a new matrix. */
export function selectRows(m: Matrix, idx: readonly number[]): Matrix {
  const data = new Float64Array(idx.length * m.cols);
  idx.forEach((i, k) => data.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), k * m.cols));
  return { rows: idx.length, cols: m.cols, data };
}

function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function standardise(X: Matrix): { Z: Float64Array; mean: number[]; scale: number[] } {
  const { rows: n, cols: d, data } = X;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n || 1;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) scale[j] += (data[i * d + j] - mean[j]) ** 2;
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j] / (n || 1));
    scale[j] = sd > 1e-12 ? sd : 1;
  }
  const Z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) Z[i * d + j] = (data[i * d + j] - mean[j]) / scale[j];
  }
  return { Z, mean, scale };
}

/** Solve A x = b for a symmetric positive definite A (n×n, row-major; overwritten by its Cholesky factor). */
function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= A[j * n + k] * A[j * n + k];
    if (!(s > 0)) s = 1e-12; // numerically singular direction: a tiny pivot instead of a failure
    const l = Math.sqrt(s);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j];
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) t -= A[ri + k] * A[rj + k];
      A[ri + j] = t / l;
    }
  }
  const x = new Float64Array(b);
  for (let i = 0; i < n; i++) {
    let t = x[i];
    for (let k = 0; k < i; k++) t -= A[i * n + k] * x[k];
    x[i] = t / A[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = x[i];
    for (let k = i + 1; k < n; k++) t -= A[k * n + i] * x[k];
    x[i] = t / A[i * n + i];
  }
  return x;
}

function objectiveOf(Z: Float64Array, n: number, d: number, y: readonly boolean[], b: number, w: Float64Array, lambda: number): number {
  let f = 0;
  for (let i = 0; i < n; i++) {
    let eta = b;
    const r = i * d;
    for (let j = 0; j < d; j++) eta += w[j] * Z[r + j];
    f += log1pExp(eta) - (y[i] ? eta : 0);
  }
  let ww = 0;
  for (let j = 0; j < d; j++) ww += w[j] * w[j];
  return f + 0.5 * lambda * ww;
}

export interface FitOptions {
  /** start from these standardised-space coefficients (a neighbouring λ's solution) */
  start?: { intercept: number; weights: readonly number[] };
  maxIterations?: number;
  /** stop when no coefficient moves more than this */
  tolerance?: number;
}

/** Fit the model to the rows of X with labels y at regularisation λ (> 0; 0 is allowed where the data are not separable). */
export function fitLogistic(X: Matrix, y: readonly boolean[], lambda: number, opts: FitOptions = {}): LogisticModel & FitInfo {
  const n = X.rows;
  const d = X.cols;
  if (y.length !== n) throw new Error(`${n} rows but ${y.length} labels`);
  if (!(lambda >= 0)) throw new Error('lambda must be ≥ 0');
  const { Z, mean, scale } = standardise(X);
  const D = d + 1;
  let b = opts.start?.intercept ?? 0;
  let w = new Float64Array(d);
  if (opts.start) w.set(opts.start.weights);
  else {
    const pos = y.filter(Boolean).length;
    const p0 = Math.min(1 - 1e-6, Math.max(1e-6, pos / Math.max(1, n)));
    b = Math.log(p0 / (1 - p0));
  }
  const maxIt = opts.maxIterations ?? 100;
  const tol = opts.tolerance ?? 1e-10;
  let f = objectiveOf(Z, n, d, y, b, w, lambda);
  let it = 0;
  let converged = false;
  const H = new Float64Array(D * D);
  const g = new Float64Array(D);
  const eta = new Float64Array(n);
  for (; it < maxIt; it++) {
    // gradient and Hessian; index 0 is the intercept
    H.fill(0);
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let e = b;
      const r = i * d;
      for (let j = 0; j < d; j++) e += w[j] * Z[r + j];
      eta[i] = e;
      const p = sigmoid(e);
      const res = p - (y[i] ? 1 : 0);
      const wt = Math.max(p * (1 - p), 1e-12);
      g[0] += res;
      H[0] += wt;
      for (let j = 0; j < d; j++) {
        const zj = Z[r + j];
        g[j + 1] += res * zj;
        const wz = wt * zj;
        H[j + 1] += wz; // row 0
        const row = (j + 1) * D;
        for (let k = 0; k <= j; k++) H[row + k + 1] += wz * Z[r + k];
      }
    }
    for (let j = 0; j < d; j++) {
      g[j + 1] += lambda * w[j];
      H[(j + 1) * D + j + 1] += lambda;
    }
    // mirror: the loops filled row 0 and the lower triangle of the feature block
    for (let j = 1; j < D; j++) {
      H[j * D] = H[j];
      for (let k = j + 1; k < D; k++) H[j * D + k] = H[k * D + j];
    }
    const step = choleskySolve(H, g, D);
    let t = 1;
    let nb = b;
    let nw = w;
    let nf = f;
    for (let h = 0; h < 40; h++) {
      nb = b - t * step[0];
      nw = new Float64Array(d);
      for (let j = 0; j < d; j++) nw[j] = w[j] - t * step[j + 1];
      nf = objectiveOf(Z, n, d, y, nb, nw, lambda);
      if (nf <= f + 1e-12 * Math.abs(f)) break;
      t /= 2;
    }
    let moved = Math.abs(nb - b);
    for (let j = 0; j < d; j++) moved = Math.max(moved, Math.abs(nw[j] - w[j]));
    b = nb;
    w = nw;
    const fell = f - nf;
    f = nf;
    if (moved < tol || fell < 1e-14 * Math.max(1, Math.abs(f))) {
      converged = true;
      it++;
      break;
    }
  }
  return { mean, scale, weights: Array.from(w), intercept: b, lambda, iterations: it, converged, objective: f };
}

/** The model's logit for one feature vector (raw, not standardised). */
export function predictLogit(m: Pick<LogisticModel, 'mean' | 'scale' | 'weights' | 'intercept'>, x: ArrayLike<number>): number {
  if (x.length !== m.weights.length) throw new Error(`the model reads ${m.weights.length} features, got ${x.length}`);
  let e = m.intercept;
  for (let j = 0; j < x.length; j++) e += m.weights[j] * ((x[j] - m.mean[j]) / m.scale[j]);
  return e;
}

export function probability(logit: number): number {
  return sigmoid(logit);
}

/**
 * Stratified folds: each class's rows are shuffled with the seeded generator and dealt to the folds in turn, so
 * every fold holds its share of both classes. Returns each row's fold (0..k-1).
 */
export function stratifiedFolds(y: readonly boolean[], k: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const fold = new Array<number>(y.length).fill(0);
  let next = 0;
  for (const cls of [true, false]) {
    const idx = shuffle(y.map((v, i) => (v === cls ? i : -1)).filter((i) => i >= 0), rand);
    for (const i of idx) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/** The regularisation grid the cross-validation searches (on standardised features), largest first. */
export const LAMBDA_GRID: readonly number[] = [3000, 1000, 300, 100, 30, 10, 3, 1, 0.3, 0.1];
export const CV_FOLDS = 5;
export const CV_SEED = 17;

export interface CrossValidation {
  lambda: number;
  folds: number;
  seed: number;
  /** per λ of the grid: the mean out-of-fold deviance (−2 log-likelihood per case) */
  deviance: { lambda: number; deviance: number }[];
  /** out-of-fold logits at the chosen λ (each case scored by the model fitted without its fold) */
  oofLogit: number[];
  /** the final model, fitted on every case at the chosen λ */
  model: LogisticModel;
}

export interface CvOptions {
  folds?: number;
  seed?: number;
  lambdas?: readonly number[];
  /** awaited between fits, so that a long fit lets other work run */
  tick?: () => Promise<void>;
}

/** How many folds a stratified CV can have: at most `wanted`, at most the smaller class's count, at least 2. */
export function foldCount(y: readonly boolean[], wanted = CV_FOLDS): number {
  const pos = y.filter(Boolean).length;
  return Math.max(2, Math.min(wanted, pos, y.length - pos));
}

/**
 * Choose λ by stratified k-fold cross-validation (lowest mean out-of-fold deviance; a tie goes to the larger λ, the
 * simpler model), then fit every case at that λ. Each fold walks the grid from the largest λ down, each fit starting
 * from the previous one's solution.
 */
export async function crossValidate(X: Matrix, y: readonly boolean[], opts: CvOptions = {}): Promise<CrossValidation> {
  const pos = y.filter(Boolean).length;
  if (pos < 2 || y.length - pos < 2) throw new Error('cross-validation needs at least two cases of each class');
  const k = foldCount(y, opts.folds ?? CV_FOLDS);
  const seed = opts.seed ?? CV_SEED;
  const lambdas = [...(opts.lambdas ?? LAMBDA_GRID)].sort((a, b) => b - a);
  const fold = stratifiedFolds(y, k, seed);
  const oof = lambdas.map(() => new Array<number>(y.length).fill(0));
  for (let f = 0; f < k; f++) {
    const train = fold.map((v, i) => (v !== f ? i : -1)).filter((i) => i >= 0);
    const test = fold.map((v, i) => (v === f ? i : -1)).filter((i) => i >= 0);
    const Xt = selectRows(X, train);
    const yt = train.map((i) => y[i]);
    let start: FitOptions['start'];
    for (let li = 0; li < lambdas.length; li++) {
      const m = fitLogistic(Xt, yt, lambdas[li], { start });
      start = { intercept: m.intercept, weights: m.weights };
      for (const i of test) oof[li][i] = predictLogit(m, X.data.subarray(i * X.cols, (i + 1) * X.cols));
      if (opts.tick) await opts.tick();
    }
  }
  const deviance = lambdas.map((lambda, li) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += 2 * (log1pExp(oof[li][i]) - (y[i] ? oof[li][i] : 0));
    return { lambda, deviance: s / y.length };
  });
  let best = 0;
  for (let li = 1; li < lambdas.length; li++) if (deviance[li].deviance < deviance[best].deviance - 1e-12) best = li;
  const model = fitLogistic(X, y, lambdas[best]);
  const { iterations: _i, converged: _c, objective: _o, ...plain } = model;
  return { lambda: lambdas[best], folds: k, seed, deviance, oofLogit: oof[best], model: plain };
}
