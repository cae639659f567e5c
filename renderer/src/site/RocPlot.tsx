// An ROC plot drawn as SVG: sensitivity against 1 − specificity, the chance diagonal, one curve per score (the
// pack's own, and the site head's where there is one), the WHO triage target (90 % sensitivity, 70 % specificity)
// and the operating points (the threshold in force, the one being considered).
import type { CalibrationView } from '../../../electron/contract/index';

type Roc = CalibrationView['base']['roc'];

export interface PlotPoint {
  label: string;
  sensitivity: number;
  specificity: number;
  kind: 'in-force' | 'candidate';
}

const SIZE = 280;
const PAD = 36;
const W = SIZE - PAD - 8;

const x = (fpr: number) => PAD + fpr * W;
const y = (tpr: number) => 8 + (1 - tpr) * W;

function path(roc: Roc): string {
  // a step curve: each point's (fpr, tpr), joined in order (ties move diagonally, as the trapezoid AUC counts them)
  return roc.map((p, i) => `${i ? 'L' : 'M'}${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`).join(' ');
}

export function RocPlot(props: { base: Roc; site: Roc | null; who: { sensitivity: number; specificity: number }; points: PlotPoint[] }) {
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  return (
    <svg className="roc-plot" data-testid="roc-plot" viewBox={`0 0 ${SIZE} ${SIZE + 22}`} width={SIZE} height={SIZE + 22} role="img" aria-label="ROC curve">
      <rect x={PAD} y={8} width={W} height={W} className="roc-frame" />
      {ticks.map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={8} y2={8 + W} className="roc-grid" />
          <line x1={PAD} x2={PAD + W} y1={y(t)} y2={y(t)} className="roc-grid" />
          <text x={x(t)} y={8 + W + 12} className="roc-tick" textAnchor="middle">
            {t.toFixed(1)}
          </text>
          <text x={PAD - 4} y={y(t) + 3} className="roc-tick" textAnchor="end">
            {t.toFixed(1)}
          </text>
        </g>
      ))}
      <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} className="roc-chance" />
      {/* the WHO triage target: sensitivity ≥ 90 % and specificity ≥ 70 % is the upper-left box */}
      <rect x={x(0)} y={y(1)} width={x(1 - props.who.specificity) - x(0)} height={y(props.who.sensitivity) - y(1)} className="roc-who-box" />
      <circle cx={x(1 - props.who.specificity)} cy={y(props.who.sensitivity)} r={4} className="roc-who" data-testid="roc-who" />
      <text x={x(1 - props.who.specificity) + 6} y={y(props.who.sensitivity) + 12} className="roc-label">
        WHO triage (90 % / 70 %)
      </text>
      <path d={path(props.base)} className="roc-base" data-testid="roc-base" />
      {props.site && <path d={path(props.site)} className="roc-site" data-testid="roc-site" />}
      {props.points.map((p) => (
        <g key={`${p.kind}-${p.label}`}>
          <circle cx={x(1 - p.specificity)} cy={y(p.sensitivity)} r={p.kind === 'in-force' ? 5 : 4} className={`roc-point roc-${p.kind}`} data-testid={`roc-${p.kind}`} />
          <title>{`${p.label}: sensitivity ${(100 * p.sensitivity).toFixed(0)} %, specificity ${(100 * p.specificity).toFixed(0)} %`}</title>
        </g>
      ))}
      <text x={PAD + W / 2} y={SIZE + 18} className="roc-axis" textAnchor="middle">
        1 − specificity
      </text>
      <text x={10} y={8 + W / 2} className="roc-axis" textAnchor="middle" transform={`rotate(-90 10 ${8 + W / 2})`}>
        sensitivity
      </text>
    </svg>
  );
}
