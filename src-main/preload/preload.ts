// The renderer's only door into the app: one allowlisted invoke and one subscribe, nothing else
// of Node or Electron. The allowlists are the contract's own, so a new call needs no edit here.
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { CALL_NAMES, EVENT_NAMES } from '../../src-shared/call-names.ts';

const callNames = new Set<string>(CALL_NAMES);
const eventNames = new Set<string>(EVENT_NAMES);

contextBridge.exposeInMainWorld('haocha', {
  invoke(name: string, args: unknown): Promise<unknown> {
    if (!callNames.has(name)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'UNKNOWN_CALL', message: `unknown call: ${name}` },
      });
    }
    return ipcRenderer.invoke('haocha:invoke', name, args);
  },
  subscribe(event: string, cb: (payload: unknown) => void): () => void {
    if (!eventNames.has(event)) return () => {};
    const listener = (_e: IpcRendererEvent, name: string, payload: unknown) => {
      if (name === event) cb(payload);
    };
    ipcRenderer.on('haocha:event', listener);
    return () => ipcRenderer.off('haocha:event', listener);
  },
});
