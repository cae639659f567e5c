// Every signed version of a case, newest first, each viewable exactly as it was signed: the report text, the
// findings of each image, the annotation version, the signer and time, the amendment's reason, and the hash.
import { useEffect, useState } from 'react';
import { call, errorMessage } from '../api';
import { LESION_LABEL_NAMES, type SignedRecordView, type SignoffView } from '../../../electron/contract/index';

export function SignedVersions(props: { state: SignoffView; onClose: () => void }) {
  const { state } = props;
  const [selected, setSelected] = useState<number>(state.signatures[0]?.id ?? 0);
  const [record, setRecord] = useState<SignedRecordView | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!selected) return;
    setRecord(null);
    call('accounts:signature', { signatureId: selected })
      .then(setRecord)
      .catch((e) => setError(errorMessage(e)));
  }, [selected]);

  const report = record?.content.report as { text?: string; source?: string; version?: number } | null | undefined;
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && props.onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="signed-title" data-testid="signed-versions">
        <div className="modal-head">
          <h2 id="signed-title">Signed versions</h2>
          <span className="toolbar-spacer" />
          <button type="button" className="btn btn-small" onClick={props.onClose} data-testid="signed-versions-close">
            Close
          </button>
        </div>
        <div className="auth-actions">
          {state.signatures.map((s) => (
            <button key={s.id} type="button" className={`btn btn-small ${s.id === selected ? 'active' : ''}`} aria-pressed={s.id === selected} onClick={() => setSelected(s.id)} data-testid="signed-version-tab">
              {s.sequence === 1 ? 'Original' : `Amendment ${s.sequence - 1}`} · {s.signerName}
            </button>
          ))}
        </div>
        {error && <p className="signoff-error">{error}</p>}
        {record && (
          <div data-testid="signed-version" data-sequence={record.signature.sequence}>
            <p>
              Signed by <strong>{record.signature.signerName}</strong> on {new Date(record.signature.signedAt).toLocaleString()}
              {record.content.amendment && (
                <>
                  {' '}
                  — amendment of version {record.content.amendment.amendsSequence}, reason: <em data-testid="signed-version-reason">{record.content.amendment.reason}</em> (opened by {record.content.amendment.openedBy})
                </>
              )}
            </p>
            {!record.intact && (
              <p className="signoff-error" role="alert">
                This stored record no longer matches its signed hash: it was altered outside the application.
              </p>
            )}
            <h3>Report</h3>
            {report?.text ? (
              <pre className="signed-text" data-testid="signed-version-report">
                {report.text}
              </pre>
            ) : (
              <p className="signoff-note">No report text was part of this signature.</p>
            )}
            {record.content.images.map((im) => (
              <div key={im.imageId}>
                <h3>
                  Image {im.imageId} findings (annotation version {im.annotations.version || 'AI proposal'})
                </h3>
                <ul data-testid="signed-version-findings">
                  {im.annotations.findings
                    .filter((f) => f.state !== 'rejected')
                    .map((f) => (
                      <li key={f.id} data-testid="signed-version-finding">
                        {LESION_LABEL_NAMES[f.label] ?? f.label} at ({Math.round(f.x)}, {Math.round(f.y)}), {Math.round(f.w)} × {Math.round(f.h)} px · {f.state}
                      </li>
                    ))}
                  {im.annotations.findings.every((f) => f.state === 'rejected') && <li>No findings.</li>}
                </ul>
              </div>
            ))}
            <p className="hash">SHA-256 of the signed record: {record.signature.contentSha256}</p>
          </div>
        )}
      </div>
    </div>
  );
}
