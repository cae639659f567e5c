// The typed API client. One `Api` (the contract's interface) over either transport:
//  - Electron: the preload's `window.cxr` (IPC, structured clone; Uint8Array arrives as Uint8Array);
//  - local web mode: POST /api/call/<name> with the binary wire format, and server-sent events for `on`.
// `call()` unwraps a reply and throws an ApiError carrying the contract's error `code` on `ok: false`.
import './zod-setup'; // first: before the contract creates its schemas
import {
  contract,
  events,
  type Api,
  type CallName,
  type CallReply,
  type CallRequest,
  type CallResponse,
  type EventName,
  type EventPayload,
} from '../../../electron/contract/index';
import { decodeWire, encodeWire } from '../../../electron/contract/wire';

export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** The error code of anything thrown by `call()` (or INTERNAL for other errors). */
export function errorCode(e: unknown): string {
  return e instanceof ApiError ? e.code : 'INTERNAL';
}
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface PreloadBridge {
  invoke(name: string, request: unknown): Promise<unknown>;
  on(name: string, callback: (payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    cxr?: PreloadBridge;
  }
}

const TOKEN_KEY = 'cxr.token';

/**
 * Reads the web-mode access token from `?token=` once, keeps it in sessionStorage (so a reload still works) and
 * removes it from the address bar so that it does not linger in history or screenshots.
 */
export function takeToken(): string | null {
  let token: string | null = null;
  try {
    const url = new URL(window.location.href);
    const fromQuery = url.searchParams.get('token');
    if (fromQuery) {
      try {
        sessionStorage.setItem(TOKEN_KEY, fromQuery);
      } catch {
        /* storage disabled: keep it in memory only */
      }
      url.searchParams.delete('token');
      window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
      token = fromQuery;
    } else {
      token = sessionStorage.getItem(TOKEN_KEY);
    }
  } catch {
    token = null;
  }
  return token;
}

function ipcApi(bridge: PreloadBridge): Api {
  return {
    invoke: (name, request) => bridge.invoke(name, request) as Promise<CallReply<typeof name>>,
    on: (name, callback) => bridge.on(name, callback as (payload: unknown) => void),
  };
}

function failure(code: string, message: string): { ok: false; error: { code: string; message: string } } {
  return { ok: false, error: { code, message } };
}

function httpApi(token: string | null): Api {
  let source: EventSource | null = null;
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();

  const ensureSource = () => {
    if (source || !token) return;
    source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
    for (const name of Object.keys(events) as EventName[]) {
      source.addEventListener(name, (e) => {
        let payload: unknown;
        try {
          payload = JSON.parse((e as MessageEvent<string>).data);
        } catch {
          return;
        }
        const parsed = events[name].safeParse(payload);
        if (!parsed.success) {
          console.warn(`cxr: dropped malformed ${name} event`, parsed.error);
          return;
        }
        for (const cb of listeners.get(name) ?? []) cb(parsed.data);
      });
    }
  };

  return {
    async invoke(name, request) {
      if (!token) return failure('UNAUTHORIZED', 'No access token: open the address that `cxr serve` printed (it ends in ?token=…).');
      let res: Response;
      try {
        res = await fetch(`/api/call/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream' },
          body: encodeWire(request) as Uint8Array<ArrayBuffer>,
          cache: 'no-store',
        });
      } catch (e) {
        return failure('NETWORK', `The workstation service is not reachable (${errorMessage(e)}).`);
      }
      let body: Uint8Array;
      try {
        body = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        return failure('NETWORK', `The reply was cut off (${errorMessage(e)}).`);
      }
      try {
        return decodeWire(body) as CallReply<typeof name>;
      } catch (e) {
        return failure(res.ok ? 'BAD_REPLY' : `HTTP_${res.status}`, `Unreadable reply from the service (HTTP ${res.status}): ${errorMessage(e)}`);
      }
    },
    on(name, callback) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      const cb = callback as (payload: unknown) => void;
      set.add(cb);
      ensureSource();
      return () => {
        set.delete(cb);
      };
    },
  };
}

let api: Api | null = null;

/** The API for this page: Electron IPC when the preload is present, else HTTP to the local web server. */
export function getApi(): Api {
  if (!api) api = typeof window !== 'undefined' && window.cxr ? ipcApi(window.cxr) : httpApi(takeToken());
  return api;
}

/** For tests and tools: replace the transport. */
export function setApi(next: Api | null): void {
  api = next;
}

/** Responses are checked against the contract in development builds (and when `localStorage['cxr.validate']` is set). */
const validate = (() => {
  if (import.meta.env.DEV) return true;
  try {
    return localStorage.getItem('cxr.validate') === '1';
  } catch {
    return false;
  }
})();

/** Calls `name` and returns its value; throws an ApiError with the contract's error code on `ok: false`. */
export async function call<N extends CallName>(name: N, request: CallRequest<N>): Promise<CallResponse<N>> {
  let reply: CallReply<N>;
  try {
    reply = await getApi().invoke(name, request);
  } catch (e) {
    throw new ApiError('NETWORK', errorMessage(e));
  }
  if (!reply || typeof reply !== 'object') throw new ApiError('BAD_REPLY', `Empty reply to ${name}.`);
  if (!reply.ok) throw new ApiError(reply.error?.code ?? 'INTERNAL', reply.error?.message ?? 'Unknown error');
  if (validate) {
    const parsed = contract[name].response.safeParse(reply.value);
    if (!parsed.success) {
      console.error(`cxr: ${name} reply does not match the contract`, parsed.error);
      throw new ApiError('BAD_REPLY', `The reply to ${name} does not match the contract: ${parsed.error.message}`);
    }
    return parsed.data as CallResponse<N>;
  }
  return reply.value;
}

/** Subscribes to a pushed event; returns the unsubscribe function. */
export function onEvent<E extends EventName>(name: E, callback: (payload: EventPayload<E>) => void): () => void {
  return getApi().on(name, callback);
}
