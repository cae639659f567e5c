// What this station is set up with, checked now: the data folder, the model pack (its checksum verified against
// the manifest, its card readable), and the execution provider that runs it. Shown on the first-run screen beside
// the administrator's form, and in Settings > Station afterwards.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { SystemStatus } from '../../../electron/contract/index';
import { Markdown } from './Markdown';
import './settings.css';

const SOURCE_WORDS: Record<SystemStatus['dataFolder']['source'], string> = {
  chosen: 'chosen for this station at first run',
  default: 'the default folder for this user',
  env: 'set by the CXR_DB environment variable',
  argument: 'the database this server was started with (cxr serve --db)',
};

const EP_WORDS: Record<string, string> = { cpu: 'the CPU', cuda: 'the NVIDIA GPU (CUDA)', dml: 'the GPU (DirectML)' };

export function formatBytes(n: number | null): string {
  if (n === null) return 'unknown';
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} KB`;
}

const shortSha = (s: string | null) => (s ? `${s.slice(0, 12)}…${s.slice(-4)}` : '—');

function Step(props: { state: 'ok' | 'warn' | 'err' | 'todo'; title: string; testId: string; children: ReactNode }) {
  const mark = { ok: '✓', warn: '!', err: '✗', todo: '○' }[props.state];
  return (
    <li className="setup-step" data-testid={props.testId} data-state={props.state}>
      <span className={`setup-mark ${props.state}`} aria-hidden="true">
        {mark}
      </span>
      <div>
        <h3>{props.title}</h3>
        {props.children}
      </div>
    </li>
  );
}

export function StationSetup(props: { firstRun?: boolean }) {
  const [status, setStatus] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showCard, setShowCard] = useState(false);
  const [checking, setChecking] = useState(false);

  const load = useCallback(() => {
    setChecking(true);
    call('system:status', {})
      .then((s) => {
        setStatus(s);
        setError(null);
      })
      .catch((e) => setError(`The station’s status could not be read: ${errorMessage(e)}`))
      .finally(() => setChecking(false));
  }, []);
  useEffect(load, [load]);
  // The model may still be loading when the screen opens: ask again when the analysis reports in (and every two
  // seconds, in case that report came before this screen listened).
  const loading = status?.execution.loading ?? false;
  useEffect(() => {
    if (!loading) return;
    const off = onEvent('analysis:onProgress', () => load());
    const timer = setInterval(load, 2000);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [loading, load]);

  if (error) {
    return (
      <section className="station-setup" data-testid="station-setup">
        <p className="setup-error" role="alert">
          {error}
        </p>
        <button type="button" className="btn" onClick={load}>
          Retry
        </button>
      </section>
    );
  }
  if (!status) return <section className="station-setup" data-testid="station-setup" aria-busy="true">Checking the station…</section>;

  const { dataFolder: d, model: m, execution: x } = status;
  const lowSpace = d.freeBytes !== null && d.freeBytes < 5 * 2 ** 30;
  const epState = x.loading ? 'todo' : x.active === null ? 'err' : x.active === 'cpu' && x.gpuCandidate && x.fallbackReason ? 'warn' : 'ok';
  return (
    <section className="station-setup" data-testid="station-setup" aria-labelledby="station-setup-title">
      <h2 id="station-setup-title">{props.firstRun ? 'This workstation' : `${status.appName} ${status.appVersion}`}</h2>
      <ol className="setup-steps">
        <Step state={lowSpace ? 'warn' : 'ok'} title="Data folder" testId="setup-data-folder">
          <p className="setup-path" data-testid="setup-data-dir">
            {d.dataDir}
          </p>
          <p className="setup-dim">
            {SOURCE_WORDS[d.source]} · {formatBytes(d.freeBytes)} free{lowSpace ? ' — less than 5 GB: free some space or move the store to a larger disk' : ''}
          </p>
          {status.transport === 'http' && <p className="setup-dim">The desktop app asks for this folder at its first start; the web mode uses the folder it was started with.</p>}
        </Step>
        <Step state={m.status === 'verified' ? 'ok' : 'err'} title="Model pack" testId="setup-model">
          {m.status === 'verified' ? (
            <p data-testid="setup-model-verified">
              {m.name} {m.version} verified: model.onnx ({formatBytes(m.bytes)}) matches the checksum in its manifest (sha256 <code title={m.sha256 ?? ''}>{shortSha(m.sha256)}</code>).
            </p>
          ) : (
            <>
              <p className="setup-error" role="alert" data-testid="setup-model-error">
                {m.error?.code}: {m.error?.message}
              </p>
              {m.expectedSha256 && <p className="setup-dim">The manifest expects sha256 {m.expectedSha256}. The station works without the model: images are not analysed.</p>}
            </>
          )}
          {m.dir && <p className="setup-path setup-dim">{m.dir}</p>}
          <div className="auth-actions">
            {m.card && (
              <button type="button" className="btn btn-small" onClick={() => setShowCard((v) => !v)} aria-expanded={showCard} data-testid="setup-model-card-toggle">
                {showCard ? 'Hide the model card' : 'Read the model card'}
              </button>
            )}
            <button type="button" className="btn btn-small" onClick={load} disabled={checking} data-testid="setup-verify-again">
              {checking ? 'Checking…' : 'Check again'}
            </button>
          </div>
          {showCard && m.card && <Markdown source={m.card} testId="model-card" />}
        </Step>
        <Step state={epState} title="Execution provider" testId="setup-ep">
          {x.loading ? (
            <p data-testid="setup-ep-active" data-ep="loading">
              <span className="spinner" /> Loading the model…
            </p>
          ) : x.active ? (
            <p data-testid="setup-ep-active" data-ep={x.active}>
              The model runs on {EP_WORDS[x.active] ?? x.active}.
            </p>
          ) : (
            <p className="setup-error" data-testid="setup-ep-active" data-ep="none">
              The model is not running{x.fallbackReason ? `: ${x.fallbackReason}` : '.'}
            </p>
          )}
          {x.active === 'cpu' && x.gpuCandidate && (
            <p className="setup-dim">
              {x.fallbackReason ? `${x.gpuCandidate === 'cuda' ? 'CUDA' : 'DirectML'} is not used: ${x.fallbackReason}. ` : ''}
              {x.gpuCandidate === 'cuda'
                ? 'An NVIDIA GPU with CUDA 12 speeds reading up; the CPU is enough for one station (see “GPU acceleration” in the installation guide).'
                : 'DirectML uses the PC’s GPU when Windows has a DirectX 12 driver for it.'}
            </p>
          )}
        </Step>
        {props.firstRun && (
          <Step state="todo" title="Administrator account" testId="setup-admin">
            <p>Create the administrator in the form: the administrator then creates the radiologists’ and technicians’ accounts.</p>
          </Step>
        )}
      </ol>
      {!props.firstRun && (
        <p className="setup-dim" data-testid="setup-about">
          {status.appName} {status.appVersion} · {status.platform} {status.arch} · {status.transport === 'ipc' ? 'desktop app' : 'local web mode'}
        </p>
      )}
    </section>
  );
}
