// Settings, opened from the header: the station (data folder, model pack and its card, execution provider,
// version) and backup and data protection.
import { useEffect, useState } from 'react';
import { StationSetup } from './StationSetup';
import { BackupSettings } from './Backup';
import { NetworkPanel } from '../network/NetworkPanel';
import './settings.css';

type Tab = 'station' | 'backup' | 'network';

export function SettingsDialog(props: { onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('station');
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
    };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [props]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="settings-title" data-testid="settings-dialog">
        <div className="modal-head">
          <h2 id="settings-title">Settings</h2>
          <span className="toolbar-spacer" />
          <button type="button" className="btn btn-small" onClick={props.onClose} data-testid="settings-close">
            Close
          </button>
        </div>
        <div className="settings-tabs" role="tablist">
          <button type="button" role="tab" className="settings-tab" aria-selected={tab === 'station'} onClick={() => setTab('station')} data-testid="settings-tab-station">
            Station
          </button>
          <button type="button" role="tab" className="settings-tab" aria-selected={tab === 'backup'} onClick={() => setTab('backup')} data-testid="settings-tab-backup">
            Backup and data protection
          </button>
          <button type="button" role="tab" className="settings-tab" aria-selected={tab === 'network'} onClick={() => setTab('network')} data-testid="settings-tab-network">
            DICOM network
          </button>
        </div>
        <div role="tabpanel">{tab === 'station' ? <StationSetup /> : tab === 'network' ? <NetworkPanel /> : <BackupSettings />}</div>
      </div>
    </div>
  );
}
