// Settings: data protection, backup and restore. The administrator backs the whole case store up now (the station
// keeps working), picks a backup to restore (checked in full first, confirmed, then put in place by a restart),
// and sets the recovery passphrase that lets a backup open on another station.
import { useCallback, useEffect, useState } from 'react';
import { call, errorCode, errorMessage, onEvent } from '../api';
import type { CallResponse } from '../api';
import './backup.css';

type Protection = CallResponse<'system:dataProtection'>;
type BackupItem = CallResponse<'system:backup'>;

const PROTECTOR_WORDS: Record<string, string> = {
  os: 'the operating system’s key store',
  passphrase: 'the recovery passphrase',
  file: 'the key file alone (its folder’s permissions)',
};

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

export function BackupSettings() {
  const [folder, setFolder] = useState('');
  const [listed, setListed] = useState<{ folder: string; backups: BackupItem[] } | null>(null);
  const [protection, setProtection] = useState<Protection | null>(null);
  const [busy, setBusy] = useState<null | 'backup' | 'restore' | 'passphrase'>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirming, setConfirming] = useState<BackupItem | null>(null);
  const [restorePassphrase, setRestorePassphrase] = useState('');
  const [restartReason, setRestartReason] = useState<string | null>(null);
  const [phrase, setPhrase] = useState('');
  const [phrase2, setPhrase2] = useState('');

  const refresh = useCallback(async (dir: string) => {
    try {
      setListed(await call('system:listBackups', dir.trim() ? { folder: dir.trim() } : {}));
    } catch (e) {
      setMessage({ kind: 'error', text: `${errorCode(e)}: ${errorMessage(e)}` });
    }
  }, []);

  useEffect(() => {
    void refresh('');
    call('system:dataProtection', {})
      .then(setProtection)
      .catch(() => undefined);
    return onEvent('system:onRestartRequired', (p) => setRestartReason(p.reason));
  }, [refresh]);

  const backupNow = async () => {
    setBusy('backup');
    setMessage(null);
    try {
      const b = await call('system:backup', folder.trim() ? { folder: folder.trim() } : {});
      setMessage({ kind: 'ok', text: `Backup written: ${b.path} (${mb(b.bytes)}, ${b.cases} cases, ${b.images} images).` });
      await refresh(folder);
    } catch (e) {
      setMessage({ kind: 'error', text: `Backup failed. ${errorCode(e)}: ${errorMessage(e)}` });
    } finally {
      setBusy(null);
    }
  };

  const restore = async (b: BackupItem) => {
    setBusy('restore');
    setMessage(null);
    try {
      const r = await call('system:restore', { path: b.path, confirm: true, ...(restorePassphrase ? { passphrase: restorePassphrase } : {}) });
      setConfirming(null);
      setRestartReason(`The backup of ${r.restored.createdAt} was checked and replaces the case store when the app restarts. The current store is kept in ${r.previous}.`);
    } catch (e) {
      setMessage({ kind: 'error', text: `Nothing was restored. ${errorCode(e)}: ${errorMessage(e)}` });
    } finally {
      setBusy(null);
      setRestorePassphrase('');
    }
  };

  const savePassphrase = async () => {
    if (phrase !== phrase2) {
      setMessage({ kind: 'error', text: 'The two passphrases differ.' });
      return;
    }
    setBusy('passphrase');
    try {
      setProtection(await call('system:setRecoveryPassphrase', { passphrase: phrase }));
      setPhrase('');
      setPhrase2('');
      setMessage({ kind: 'ok', text: 'Recovery passphrase set. Keep it somewhere safe, away from this PC: without it, a backup cannot be opened on another station.' });
    } catch (e) {
      setMessage({ kind: 'error', text: `${errorCode(e)}: ${errorMessage(e)}` });
    } finally {
      setBusy(null);
    }
  };

  if (restartReason) {
    return (
      <section className="settings-section" data-testid="backup-settings" data-state="restart-required">
        <h2>Restore ready</h2>
        <p role="alert">{restartReason}</p>
        <p>Restart CXR Workstation now to finish. Work saved before the restart goes with the replaced store.</p>
      </section>
    );
  }

  return (
    <section className="settings-section" data-testid="backup-settings">
      <h2>Data protection</h2>
      {protection ? (
        <p data-testid="protection">
          The case database and the image files are encrypted. Their key is protected by{' '}
          {protection.protectors.map((p) => PROTECTOR_WORDS[p] ?? p).join(' and ')}.
          {protection.passphraseSetAt ? ` Recovery passphrase set ${new Date(protection.passphraseSetAt).toLocaleString()}.` : ' No recovery passphrase is set: backups open only on this station.'}
        </p>
      ) : null}
      <div className="settings-row">
        <input className="input" type="password" autoComplete="new-password" placeholder="New recovery passphrase (12+ characters)" value={phrase} onChange={(e) => setPhrase(e.target.value)} data-testid="passphrase" />
        <input className="input" type="password" autoComplete="new-password" placeholder="Repeat it" value={phrase2} onChange={(e) => setPhrase2(e.target.value)} data-testid="passphrase-repeat" />
        <button type="button" className="btn btn-small" disabled={busy !== null || phrase.length < 12} onClick={() => void savePassphrase()} data-testid="passphrase-save">
          Set recovery passphrase
        </button>
      </div>

      <h2>Backup</h2>
      <div className="settings-row">
        <input
          className="input"
          type="text"
          placeholder={listed ? `Folder (default ${listed.folder})` : 'Folder'}
          value={folder}
          onChange={(e) => setFolder(e.target.value)}
          onBlur={() => void refresh(folder)}
          data-testid="backup-folder"
          aria-label="Backup folder"
        />
        <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => void backupNow()} data-testid="backup-now">
          {busy === 'backup' ? 'Backing up…' : 'Back up now'}
        </button>
      </div>
      <p className="settings-hint">A backup holds every case and image, encrypted. Keep copies on another disk (a USB drive or a network share) as well.</p>
      {message ? (
        <p className={message.kind === 'error' ? 'settings-error' : 'settings-ok'} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="backup-message">
          {message.text}
        </p>
      ) : null}

      <h2>Restore</h2>
      {listed && listed.backups.length === 0 ? <p>No backups in {listed.folder}.</p> : null}
      <ul className="backup-list" data-testid="backup-list">
        {listed?.backups.map((b) => (
          <li key={b.path} data-testid="backup-item">
            <span title={b.path}>
              {new Date(b.createdAt).toLocaleString()} · {b.cases} cases · {b.images} images · {mb(b.bytes)}
              {b.portable ? '' : ' · this station only'}
            </span>
            <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => setConfirming(b)} data-testid="restore">
              Restore…
            </button>
          </li>
        ))}
      </ul>
      {confirming ? (
        <div role="dialog" aria-modal="true" aria-label="Confirm restore" className="settings-confirm" data-testid="restore-confirm">
          <p>
            Replace every case on this station by the backup of {new Date(confirming.createdAt).toLocaleString()} ({confirming.cases} cases)? Cases and edits made since then
            will not be in the restored store (the current store is kept in a before-restore folder in the data folder).
          </p>
          <input className="input" type="password" placeholder="Recovery passphrase (only for another station’s backup)" value={restorePassphrase} onChange={(e) => setRestorePassphrase(e.target.value)} />
          <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => void restore(confirming)} data-testid="restore-confirm-yes">
            {busy === 'restore' ? 'Checking the backup…' : 'Check and restore'}
          </button>
          <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      ) : null}
    </section>
  );
}
