// The preload exposes exactly the API contract to the page, nothing else: `invoke` for known call names and
// `on` for known event names. Runs sandboxed with context isolation; it is bundled to one CommonJS file.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isKnownCall, isKnownEvent } from '../contract/names';

const api = {
  invoke(name: string, request: unknown): Promise<unknown> {
    if (!isKnownCall(name)) return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_CALL', message: `No such call: ${String(name).slice(0, 80)}` } });
    return ipcRenderer.invoke('cxr:invoke', name, request);
  },
  on(name: string, callback: (payload: unknown) => void): () => void {
    if (!isKnownEvent(name)) throw new Error(`No such event: ${String(name).slice(0, 80)}`);
    const listener = (_e: IpcRendererEvent, eventName: string, payload: unknown) => {
      if (eventName === name) callback(payload);
    };
    ipcRenderer.on('cxr:event', listener);
    return () => {
      ipcRenderer.removeListener('cxr:event', listener);
    };
  },
};

contextBridge.exposeInMainWorld('cxr', api);
