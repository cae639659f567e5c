// The case's sign-off in the viewer: its state (not signed, signed by whom and when, amendment open and why), the
// radiologist's Sign (with a confirmation that says what locks), Amend (with a reason), and every signed version,
// viewable exactly as it was signed. Other panels learn of the lock from the `cxr:signoff` window event.
// What the confirmation says about undecided AI findings is read when Sign is pressed, after the open image's last
// edit has reached the store, and again after every save: it describes the findings that will be signed.
import { useCallback, useEffect, useState } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { SignoffView } from '../../../electron/contract/index';
import { useSession } from './session';
import { SignedVersions } from './SignedVersions';

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function SignoffBar(props: { caseId: number; flushEdits?: () => Promise<void> }) {
  const { caseId, flushEdits } = props;
  const { session } = useSession();
  const [state, setState] = useState<SignoffView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [amending, setAmending] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [versionsOpen, setVersionsOpen] = useState(false);

  const publish = useCallback((s: SignoffView) => {
    setState(s);
    window.dispatchEvent(new CustomEvent('cxr:signoff', { detail: { caseId: s.caseId, locked: s.locked, signed: s.signed } }));
  }, []);

  const load = useCallback(
    () =>
      call('accounts:signoff', { caseId })
        .then(publish)
        .catch((e) => setError(errorMessage(e))),
    [caseId, publish],
  );
  useEffect(() => {
    void load();
    const offs = [
      onEvent('cases:onChanged', (e) => {
        if (e.caseIds.includes(caseId)) void load();
      }),
      // an accept, a reject or any other saved edit changes what would be signed
      onEvent('annotations:onSaved', (e) => {
        if (e.caseId === caseId) void load();
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [caseId, load]);

  /** Sign pressed: the open image's pending edit goes to the store first, then the state the warning reads. */
  const startSigning = async () => {
    setBusy(true);
    setError(null);
    try {
      await flushEdits?.();
      await load();
      setConfirming(true);
    } finally {
      setBusy(false);
    }
  };

  const act = async (action: () => Promise<SignoffView>) => {
    setBusy(true);
    setError(null);
    try {
      publish(await action());
      setConfirming(false);
      setAmending(false);
      setReason('');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  if (!state) return error ? <div className="signoff-bar signoff-error">{error}</div> : null;
  const user = session.user!;
  const radiologist = user.role === 'radiologist';
  const last = state.signatures[0] ?? null;
  const canSign = radiologist && !state.locked;
  const signTitle = !radiologist ? 'Only a radiologist can sign' : state.locked ? 'Signed: open an amendment to change and sign again' : 'Sign the report and the findings';

  return (
    <div className="signoff-bar" data-testid="signoff-bar" data-locked={state.locked ? 'true' : 'false'} data-status={state.status}>
      <span data-testid="signoff-status" className={`signoff-state ${state.locked ? 'signed' : state.openAmendment ? 'amending' : ''}`}>
        {state.locked && last
          ? `Signed by ${last.signerName} · ${when(last.signedAt)}${last.sequence > 1 ? ` (amendment ${last.sequence - 1})` : ''}`
          : state.openAmendment
            ? `Amendment open: ${state.openAmendment.reason}`
            : 'Not signed'}
      </span>
      {state.locked && <span className="signoff-note">The report and findings are locked.</span>}
      {state.openAmendment && <span className="signoff-note">Opened by {state.openAmendment.openedBy} · {when(state.openAmendment.openedAt)}; sign again to close it.</span>}
      <span className="toolbar-spacer" />
      {state.signatures.length > 0 && (
        <button type="button" className="btn btn-small" data-testid="signed-versions-button" onClick={() => setVersionsOpen(true)}>
          Signed versions ({state.signatures.length})
        </button>
      )}
      {state.locked && radiologist && !amending && (
        <button type="button" className="btn btn-small" data-testid="amend-button" onClick={() => setAmending(true)}>
          Amend…
        </button>
      )}
      {amending && (
        <form
          className="signoff-amend"
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => call('accounts:amend', { caseId, reason }));
          }}
        >
          <input className="input" autoFocus placeholder="Reason for the amendment (kept with the signed record)" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="amend-reason" maxLength={2000} />
          <button type="submit" className="btn btn-small btn-primary" disabled={busy || reason.trim().length < 3} data-testid="amend-submit">
            Open amendment
          </button>
          <button type="button" className="btn btn-small" onClick={() => setAmending(false)}>
            Cancel
          </button>
        </form>
      )}
      {!state.locked &&
        (confirming ? (
          <>
            <span className="signoff-note" data-testid="sign-confirm-note">
              Sign as {user.displayName}? The report and findings lock; later changes need an amendment.
              {state.undecidedFindings > 0 && (
                <strong className="signoff-warn">
                  {' '}
                  {state.undecidedFindings} AI finding{state.undecidedFindings === 1 ? ' has' : 's have'} not been accepted or rejected and will be signed as proposed.
                </strong>
              )}
            </span>
            <button
              type="button"
              className="btn btn-small btn-primary"
              disabled={busy}
              data-testid="sign-confirm"
              onClick={() =>
                void act(async () => {
                  await flushEdits?.();
                  return call('accounts:sign', { caseId });
                })
              }
            >
              Confirm signature
            </button>
            <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="button" className="btn btn-small btn-primary" data-testid="sign-button" disabled={!canSign || busy} title={signTitle} onClick={() => void startSigning()}>
            {state.openAmendment ? 'Sign amendment' : 'Sign'}
          </button>
        ))}
      {!radiologist && !state.locked && <span className="signoff-note">Only a radiologist can sign.</span>}
      {error && (
        <span className="signoff-error" role="alert" data-testid="signoff-error">
          {error}
        </span>
      )}
      {versionsOpen && <SignedVersions state={state} onClose={() => setVersionsOpen(false)} />}
    </div>
  );
}
