// Settings > DICOM network: the receiver (on/off, AE title, port, allowed senders), the archives (DIMSE or
// DICOMweb) with a connection test, query and retrieve, the outgoing queue's state, and what arrived lately.
import { useCallback, useEffect, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from 'react';
import { call, errorMessage, onEvent } from '../api';
import type { NetworkSettings, QueueCounts, QueueItem, ReceivedView, ReceiverStatus, RemoteInput, RemoteStudy, RemoteView } from '../../../electron/contract/index';
import './network.css';

type Section = 'receiver' | 'archives' | 'query' | 'queue';
type Notice = { kind: 'ok' | 'err'; text: string };

export function NetworkPanel() {
  const [section, setSection] = useState<Section>('receiver');
  const [remotes, setRemotes] = useState<RemoteView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const loadRemotes = useCallback(() => {
    call('network:listRemotes', {})
      .then(setRemotes)
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(loadRemotes, [loadRemotes]);
  return (
    <section className="network-panel" data-testid="network-panel">
      <nav className="network-sections">
        {(
          [
            ['receiver', 'Receiver'],
            ['archives', 'Archives'],
            ['query', 'Query and retrieve'],
            ['queue', 'Outgoing queue'],
          ] as const
        ).map(([k, label]) => (
          <button key={k} type="button" className="settings-tab" aria-selected={section === k} onClick={() => setSection(k)} data-testid={`network-section-${k}`}>
            {label}
          </button>
        ))}
      </nav>
      {error && (
        <p className="setup-error" role="alert">
          {error}
        </p>
      )}
      {section === 'receiver' && <ReceiverSection />}
      {section === 'archives' && <ArchivesSection remotes={remotes} onChanged={loadRemotes} />}
      {section === 'query' && <QuerySection remotes={remotes} />}
      {section === 'queue' && <QueueSection />}
    </section>
  );
}

function ReceiverSection() {
  const [settings, setSettings] = useState<NetworkSettings | null>(null);
  const [status, setStatus] = useState<ReceiverStatus | null>(null);
  const [draft, setDraft] = useState({ enabled: false, aeTitle: '', port: '', whitelist: '', autoSend: true });
  const [message, setMessage] = useState<Notice | null>(null);
  const [received, setReceived] = useState<ReceivedView[]>([]);
  const [saving, setSaving] = useState(false);

  const load = useCallback(() => {
    call('network:getSettings', {})
      .then((v) => {
        setSettings(v.settings);
        setStatus(v.receiver);
        setDraft({ enabled: v.settings.receiver.enabled, aeTitle: v.settings.receiver.aeTitle, port: String(v.settings.receiver.port), whitelist: v.settings.receiver.whitelist.join(', '), autoSend: v.settings.autoSendOnSign });
      })
      .catch((e) => setMessage({ kind: 'err', text: errorMessage(e) }));
    call('network:received', { limit: 20 })
      .then(setReceived)
      .catch(() => {});
  }, []);
  useEffect(load, [load]);
  useEffect(() => onEvent('network:onReceiver', setStatus), []);
  useEffect(() => onEvent('network:onReceived', () => call('network:received', { limit: 20 }).then(setReceived).catch(() => {})), []);

  const save = (e: FormEvent) => {
    e.preventDefault();
    const port = Number(draft.port);
    setSaving(true);
    setMessage(null);
    call('network:setSettings', {
      receiver: { enabled: draft.enabled, aeTitle: draft.aeTitle.trim(), port, whitelist: draft.whitelist.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean) },
      autoSendOnSign: draft.autoSend,
    })
      .then((v) => {
        setSettings(v.settings);
        setStatus(v.receiver);
        setMessage(v.receiver.error ? { kind: 'err', text: v.receiver.error.message } : { kind: 'ok', text: 'Saved.' });
      })
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }))
      .finally(() => setSaving(false));
  };

  if (!settings) return <p className="setup-dim">Loading…</p>;
  return (
    <div className="network-section" data-testid="network-receiver">
      <form className="network-form" onSubmit={save}>
        <CheckField draft={draft} setDraft={setDraft} field="enabled" data-testid="receiver-enabled">
          Receive images from the X-ray unit and other senders (DICOM C-STORE)
        </CheckField>
        <TextField label="AE title of this station" draft={draft} setDraft={setDraft} field="aeTitle" maxLength={16} data-testid="receiver-aet" />
        <TextField label="Port" draft={draft} setDraft={setDraft} field="port" inputMode="numeric" data-testid="receiver-port" />
        <TextField label="Allowed senders (calling AE titles; empty: any)" draft={draft} setDraft={setDraft} field="whitelist" placeholder="XRAYROOM1, XRAYROOM2" data-testid="receiver-whitelist" />
        <CheckField draft={draft} setDraft={setDraft} field="autoSend">
          Send the signed SR, SEG and PDF to the archives marked “send results” when a case is signed
        </CheckField>
        <div className="network-actions">
          <button type="submit" className="btn" disabled={saving} data-testid="receiver-save">
            Save
          </button>
          <NoticeLine notice={message} inline />
        </div>
      </form>
      <p className="network-status" data-testid="receiver-status">
        {status?.running
          ? `Listening as ${status.aeTitle} on port ${status.port} since ${new Date(status.since ?? '').toLocaleTimeString()}; ${status.received} received.`
          : status?.error
            ? `Not running: ${status.error.message}`
            : 'The receiver is off.'}
      </p>
      <h3>Recently received</h3>
      {received.length === 0 ? (
        <p className="setup-dim">Nothing yet.</p>
      ) : (
        <table className="network-table" data-testid="received-table">
          <thead>
            <tr>
              <th>When</th>
              <th>From</th>
              <th>Outcome</th>
              <th>Case</th>
            </tr>
          </thead>
          <tbody>
            {received.map((r) => (
              <tr key={r.id} title={r.message ?? ''}>
                <td>{new Date(r.receivedAt).toLocaleString()}</td>
                <td>{r.via === 'retrieve' ? `retrieved from ${r.remoteName ?? '?'}` : `${r.callingAe ?? '?'} (${(r.peerAddress ?? '').replace('::ffff:', '')})`}</td>
                <td className={`outcome-${r.outcome}`}>{r.outcome}{r.outcome === 'refused' && r.message ? `: ${r.message}` : ''}</td>
                <td>{r.caseId ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const EMPTY_REMOTE = { name: '', kind: 'dimse' as const, host: '', port: '104', aeTitle: '', retrieve: 'C-GET' as const, url: '', username: '', password: '', sendResults: false };

function ArchivesSection(props: { remotes: RemoteView[]; onChanged: () => void }) {
  const [draft, setDraft] = useState<{ id?: number; name: string; kind: 'dimse' | 'dicomweb'; host: string; port: string; aeTitle: string; retrieve: 'C-GET' | 'C-MOVE'; url: string; username: string; password: string; sendResults: boolean }>(EMPTY_REMOTE);
  const [message, setMessage] = useState<Notice | null>(null);
  const [testing, setTesting] = useState<number | null>(null);

  const edit = (r: RemoteView) => setDraft({ id: r.id, name: r.name, kind: r.kind, host: r.host ?? '', port: String(r.port ?? ''), aeTitle: r.aeTitle ?? '', retrieve: r.retrieve, url: r.url ?? '', username: r.username ?? '', password: '', sendResults: r.sendResults });
  const save = (e: FormEvent) => {
    e.preventDefault();
    const req: RemoteInput = draft.kind === 'dimse'
      ? { id: draft.id, name: draft.name, kind: 'dimse', host: draft.host.trim() || null, port: draft.port.trim() ? Number(draft.port) : null, aeTitle: draft.aeTitle.trim() || null, retrieve: draft.retrieve, sendResults: draft.sendResults }
      : { id: draft.id, name: draft.name, kind: 'dicomweb', url: draft.url.trim() || null, username: draft.username || null, password: draft.password ? draft.password : undefined, sendResults: draft.sendResults };
    call('network:saveRemote', req)
      .then((r) => {
        setMessage({ kind: 'ok', text: `Saved ${r.name}.` });
        setDraft(EMPTY_REMOTE);
        props.onChanged();
      })
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }));
  };
  const test = (r: RemoteView) => {
    setTesting(r.id);
    call('network:echo', { remoteId: r.id })
      .then((v) => setMessage({ kind: 'ok', text: `${r.name} answered in ${v.ms} ms.` }))
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }))
      .finally(() => setTesting(null));
  };
  const remove = (r: RemoteView) => {
    if (!window.confirm(`Remove the archive ${r.name}? Sends still waiting for it are marked failed.`)) return;
    call('network:removeRemote', { id: r.id })
      .then(() => props.onChanged())
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }));
  };

  return (
    <div className="network-section" data-testid="network-archives">
      {props.remotes.length === 0 ? (
        <p className="setup-dim">No archive yet: add the clinic’s PACS below.</p>
      ) : (
        <table className="network-table" data-testid="remotes-table">
          <tbody>
            {props.remotes.map((r) => (
              <tr key={r.id} data-testid="remote-row">
                <td>{r.name}</td>
                <td>{r.kind === 'dimse' ? `DIMSE ${r.aeTitle} @ ${r.host}:${r.port} (${r.retrieve})` : `DICOMweb ${r.url}`}</td>
                <td>{r.sendResults ? 'send results' : ''}</td>
                <td className="network-row-actions">
                  <button type="button" className="btn btn-small" disabled={testing === r.id} onClick={() => test(r)} data-testid="remote-test">
                    {testing === r.id ? 'Testing…' : 'Test'}
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => edit(r)}>
                    Edit
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => remove(r)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NoticeLine notice={message} data-testid="remote-message" />
      <form className="network-form" onSubmit={save} data-testid="remote-form">
        <h3>{draft.id ? `Edit ${draft.name}` : 'Add an archive'}</h3>
        <TextField label="Name" draft={draft} setDraft={setDraft} field="name" data-testid="remote-name" />
        <label>
          Protocol
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as 'dimse' | 'dicomweb' })} data-testid="remote-kind">
            <option value="dimse">DIMSE (C-FIND, C-GET/C-MOVE, C-STORE)</option>
            <option value="dicomweb">DICOMweb (QIDO-RS, WADO-RS, STOW-RS)</option>
          </select>
        </label>
        {draft.kind === 'dimse' ? (
          <>
            <TextField label="Host" draft={draft} setDraft={setDraft} field="host" data-testid="remote-host" />
            <TextField label="Port" draft={draft} setDraft={setDraft} field="port" inputMode="numeric" data-testid="remote-port" />
            <TextField label="AE title of the archive" draft={draft} setDraft={setDraft} field="aeTitle" maxLength={16} data-testid="remote-aet" />
            <label>
              Retrieve with
              <select value={draft.retrieve} onChange={(e) => setDraft({ ...draft, retrieve: e.target.value as 'C-GET' | 'C-MOVE' })}>
                <option value="C-GET">C-GET (on the station’s own connection)</option>
                <option value="C-MOVE">C-MOVE (to this station’s receiver; the archive must know its AE title)</option>
              </select>
            </label>
          </>
        ) : (
          <>
            <TextField label="Base URL" draft={draft} setDraft={setDraft} field="url" placeholder="http://pacs:8042/dicom-web" data-testid="remote-url" />
            <TextField label="User (optional)" draft={draft} setDraft={setDraft} field="username" autoComplete="off" />
            <TextField label={<>Password {draft.id ? '(empty: keep)' : '(optional)'}</>} draft={draft} setDraft={setDraft} field="password" type="password" autoComplete="new-password" />
          </>
        )}
        <CheckField draft={draft} setDraft={setDraft} field="sendResults" data-testid="remote-send-results">
          Send signed results here
        </CheckField>
        <div className="network-actions">
          <button type="submit" className="btn" data-testid="remote-save">
            {draft.id ? 'Save' : 'Add'}
          </button>
          {draft.id && (
            <button type="button" className="btn" onClick={() => setDraft(EMPTY_REMOTE)}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </div>
  );
}

function QuerySection(props: { remotes: RemoteView[] }) {
  const [remoteId, setRemoteId] = useState<number | null>(props.remotes[0]?.id ?? null);
  const [q, setQ] = useState({ patientName: '', patientId: '', accessionNumber: '', dateFrom: '', dateTo: '' });
  const [studies, setStudies] = useState<RemoteStudy[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<Notice | null>(null);
  useEffect(() => {
    if (remoteId === null && props.remotes[0]) setRemoteId(props.remotes[0].id);
  }, [props.remotes, remoteId]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    if (remoteId === null) return;
    setBusy('query');
    setMessage(null);
    const clean = Object.fromEntries(Object.entries(q).filter(([, v]) => v.trim() !== ''));
    call('network:query', { remoteId, ...clean })
      .then((r) => setStudies(r.studies))
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }))
      .finally(() => setBusy(null));
  };
  const retrieve = (s: RemoteStudy) => {
    if (remoteId === null) return;
    setBusy(s.studyInstanceUid);
    setMessage(null);
    call('network:retrieve', { remoteId, studyInstanceUid: s.studyInstanceUid })
      .then((r) => {
        setMessage({ kind: r.refused.length ? 'err' : 'ok', text: `${s.patientName || s.patientId}: ${r.imported} image(s) added to the worklist, ${r.duplicates} already here${r.skipped ? `, ${r.skipped} result(s) left in the archive` : ''}${r.refused.length ? `; refused: ${r.refused.map((x) => x.message).join('; ')}` : ''}.` });
        setStudies((list) => list?.map((x) => (x.studyInstanceUid === s.studyInstanceUid ? { ...x, localCaseId: r.caseIds[0] ?? x.localCaseId } : x)) ?? null);
      })
      .catch((err) => setMessage({ kind: 'err', text: errorMessage(err) }))
      .finally(() => setBusy(null));
  };

  if (!props.remotes.length) return <p className="setup-dim">Add an archive first (Archives).</p>;
  return (
    <div className="network-section" data-testid="network-query">
      <form className="network-form network-query-form" onSubmit={search}>
        <label>
          Archive
          <select value={remoteId ?? ''} onChange={(e) => setRemoteId(Number(e.target.value))} data-testid="query-remote">
            {props.remotes.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <TextField label="Patient name" draft={q} setDraft={setQ} field="patientName" placeholder="DOE^JOHN or DOE" data-testid="query-name" />
        <TextField label="Patient ID" draft={q} setDraft={setQ} field="patientId" data-testid="query-id" />
        <TextField label="Accession" draft={q} setDraft={setQ} field="accessionNumber" />
        <TextField label="From" draft={q} setDraft={setQ} field="dateFrom" type="date" />
        <TextField label="To" draft={q} setDraft={setQ} field="dateTo" type="date" />
        <div className="network-actions">
          <button type="submit" className="btn" disabled={busy === 'query'} data-testid="query-search">
            {busy === 'query' ? 'Searching…' : 'Search'}
          </button>
        </div>
      </form>
      <NoticeLine notice={message} data-testid="query-message" />
      {studies && (studies.length === 0 ? <p className="setup-dim">No study matches.</p> : (
        <table className="network-table" data-testid="query-results">
          <thead>
            <tr>
              <th>Date</th>
              <th>Patient</th>
              <th>ID</th>
              <th>Accession</th>
              <th>Modality</th>
              <th>Images</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {studies.map((s) => (
              <tr key={s.studyInstanceUid} data-testid="query-row" title={s.description ?? ''}>
                <td>{s.studyDate ?? '—'}</td>
                <td>{s.patientName}</td>
                <td>{s.patientId}</td>
                <td>{s.accessionNumber ?? ''}</td>
                <td>{s.modalities.join('/')}</td>
                <td>{s.instances ?? ''}</td>
                <td>
                  <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => retrieve(s)} data-testid="query-retrieve">
                    {busy === s.studyInstanceUid ? 'Retrieving…' : s.localCaseId !== null ? 'Retrieve again' : 'Retrieve'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}

const STATE_WORDS: Record<QueueItem['state'], string> = { pending: 'waiting', sending: 'sending', sent: 'sent', failed: 'failed' };

export function QueueSection(props: { caseId?: number }) {
  const [items, setItems] = useState<QueueItem[]>([]);
  const [counts, setCounts] = useState<QueueCounts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    call('network:queue', { caseId: props.caseId, limit: 100 })
      .then((v) => {
        setItems(v.items);
        setCounts(v.counts);
        setError(null);
      })
      .catch((e) => setError(errorMessage(e)));
  }, [props.caseId]);
  useEffect(load, [load]);
  useEffect(() => onEvent('network:onQueue', () => load()), [load]);
  const retry = (id: number) => {
    call('network:retry', { id })
      .then(load)
      .catch((e) => setError(errorMessage(e)));
  };
  return (
    <div className="network-section" data-testid="network-queue">
      {counts && !props.caseId && (
        <p className="network-status" data-testid="queue-counts">
          {counts.pending} waiting, {counts.sending} sending, {counts.sent} sent, {counts.failed} failed
        </p>
      )}
      {error && (
        <p className="setup-error" role="alert">
          {error}
        </p>
      )}
      {items.length === 0 ? (
        <p className="setup-dim">Nothing has been queued{props.caseId ? ' for this case' : ''}.</p>
      ) : (
        <table className="network-table" data-testid="queue-table">
          <thead>
            <tr>
              <th>What</th>
              <th>To</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Last error / next attempt</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id} data-testid="queue-row" data-state={i.state} title={i.sopInstanceUid}>
                <td>{i.kind.toUpperCase()}{i.caseId !== null ? ` · case ${i.caseId}` : ''}</td>
                <td>{i.remoteName}</td>
                <td className={`queue-${i.state}`}>{STATE_WORDS[i.state]}{i.state === 'sent' && i.verifiedBy === 'query' ? ' (found in the archive)' : ''}</td>
                <td>{i.attempts}</td>
                <td>
                  {i.lastError ?? ''}
                  {i.state === 'pending' && i.nextAttemptAt && i.attempts > 0 ? ` — next attempt ${new Date(i.nextAttemptAt).toLocaleTimeString()}` : ''}
                  {i.state === 'sent' && i.sentAt ? `sent ${new Date(i.sentAt).toLocaleString()}` : ''}
                </td>
                <td>
                  {(i.state === 'failed' || (i.state === 'pending' && i.attempts > 0)) && (
                    <button type="button" className="btn btn-small" onClick={() => retry(i.id)} data-testid="queue-retry">
                      Retry now
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

// What the last action came to: a quiet line when it went well, an alert when it did not.
function NoticeLine(props: { notice: Notice | null; inline?: boolean; 'data-testid'?: string }) {
  if (!props.notice) return null;
  const Tag = props.inline ? 'span' : 'p';
  return (
    <Tag className={props.notice.kind === 'ok' ? 'network-ok' : 'setup-error'} role={props.notice.kind === 'err' ? 'alert' : undefined} data-testid={props['data-testid']}>
      {props.notice.text}
    </Tag>
  );
}

// One form row bound to a field of a draft object: a labelled text input (TextField) or a checkbox (CheckField).
// Other input attributes (data-testid, maxLength, placeholder, inputMode, type, autoComplete) pass through.
// Keys of T whose value is exactly V (not a narrower union such as 'dimse' | 'dicomweb', which a free text input could break).
type KeysOf<T, V> = { [K in keyof T]-?: [T[K]] extends [V] ? ([V] extends [T[K]] ? K : never) : never }[keyof T];
type FieldInputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'checked' | 'onChange'> & { 'data-testid'?: string };

function TextField<T extends object, K extends KeysOf<T, string>>(props: { label: ReactNode; draft: T; setDraft: (d: T) => void; field: K } & FieldInputProps) {
  const { label, draft, setDraft, field, ...input } = props;
  return (
    <label>
      {label}
      <input {...input} value={draft[field] as string} onChange={(e) => setDraft({ ...draft, [field]: e.target.value })} />
    </label>
  );
}

function CheckField<T extends object, K extends KeysOf<T, boolean>>(props: { draft: T; setDraft: (d: T) => void; field: K; children: ReactNode } & Omit<FieldInputProps, 'type' | 'children'>) {
  const { draft, setDraft, field, children, ...input } = props;
  return (
    <label className="network-check">
      <input {...input} type="checkbox" checked={draft[field] as boolean} onChange={(e) => setDraft({ ...draft, [field]: e.target.checked })} />
      {children}
    </label>
  );
}
