// Test support: a real Orthanc (Debian's /usr/sbin/Orthanc) on loopback ports with its own storage in a temporary
// folder, and a small TCP proxy that can cut a connection mid-transfer. Used by the network tests and the bench;
// never by the app.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from '../../testing/index';

export const ORTHANC_BIN = '/usr/sbin/Orthanc';
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** Why the Orthanc tests cannot run here, or null when they can. */
export function orthancMissing(): string | null {
  return fs.existsSync(ORTHANC_BIN) ? null : `missing tool: Orthanc (${ORTHANC_BIN}; Debian packages orthanc orthanc-dicomweb; scripts/install-system-packages.sh installs them): the DICOM network integration tests are skipped`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface OrthancOptions {
  aeTitle?: string;
  /** AE titles Orthanc knows (for C-MOVE destinations and its own checks): name -> [AE, host, port] */
  modalities?: Record<string, [string, string, number]>;
}

export class TestOrthanc {
  readonly aeTitle: string;
  private proc: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly dicomPort: number,
    readonly httpPort: number,
    aeTitle: string,
    readonly dicomweb: boolean,
  ) {
    this.aeTitle = aeTitle;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }
  get dicomwebUrl(): string {
    return `${this.httpUrl}/dicom-web`;
  }

  /** Write a configuration in a new temporary folder and start Orthanc on free loopback ports. */
  static async start(opts: OrthancOptions = {}): Promise<TestOrthanc> {
    const dir = tempDir('cxr-orthanc-');
    const o = new TestOrthanc(dir, await freePort(), await freePort(), opts.aeTitle ?? 'ORTHANC', fs.existsSync(DICOMWEB_PLUGIN));
    o.writeConfig(opts.modalities ?? {});
    await o.launch();
    return o;
  }

  private writeConfig(modalities: Record<string, [string, string, number]>): void {
    const config = {
      Name: 'cxr-test-orthanc',
      StorageDirectory: path.join(this.dir, 'storage'),
      IndexDirectory: path.join(this.dir, 'index'),
      StorageCompression: false,
      HttpServerEnabled: true,
      HttpPort: this.httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: true,
      DicomAet: this.aeTitle,
      DicomPort: this.dicomPort,
      DicomCheckCalledAet: true,
      DicomCheckModalityHost: false,
      DicomAlwaysAllowEcho: true,
      DicomAlwaysAllowStore: true,
      DicomAlwaysAllowFind: true,
      DicomAlwaysAllowGet: true,
      DicomAlwaysAllowMove: true,
      DicomModalities: modalities,
      OverwriteInstances: false,
      StableAge: 1,
      SaveJobs: false,
      ConcurrentJobs: 2,
      HttpTimeout: 20,
      DicomScuTimeout: 10,
      DicomAssociationCloseDelay: 0,
      Plugins: this.dicomweb ? [DICOMWEB_PLUGIN] : [],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, StudiesMetadata: 'MainDicomTags', SeriesMetadata: 'MainDicomTags' },
    };
    fs.writeFileSync(path.join(this.dir, 'orthanc.json'), JSON.stringify(config, null, 2));
  }

  /** Start (or start again, on the same ports and storage) and wait until it answers HTTP. */
  async launch(): Promise<void> {
    if (this.proc) return;
    const log = fs.openSync(path.join(this.dir, 'orthanc.log'), 'a');
    const proc = spawn(ORTHANC_BIN, [path.join(this.dir, 'orthanc.json')], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = proc;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`Orthanc exited with ${proc.exitCode}; log: ${this.logTail()}`);
      try {
        const res = await fetch(`${this.httpUrl}/system`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.halt();
    throw new Error(`Orthanc did not answer within 20 s; log: ${this.logTail()}`);
  }

  logTail(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'orthanc.log'), 'utf8').slice(-2000);
    } catch {
      return '(no log)';
    }
  }

  /** Stop the process (storage kept, for launch() again). */
  async halt(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stop and remove its folder. */
  async stop(): Promise<void> {
    await this.halt();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async json<T>(p: string, init?: RequestInit): Promise<T> {
    const res = await fetch(`${this.httpUrl}${p}`, init);
    if (!res.ok) throw new Error(`Orthanc ${p}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  async countInstances(): Promise<number> {
    return (await this.json<{ CountInstances: number }>('/statistics')).CountInstances;
  }

  /** Orthanc's ids of the instances with this SOP Instance UID (0 or 1 of them). */
  async findInstance(sopInstanceUid: string): Promise<string[]> {
    const found = await this.json<{ ID: string; Type: string }[]>('/tools/lookup', { method: 'POST', body: sopInstanceUid });
    return found.filter((f) => f.Type === 'Instance').map((f) => f.ID);
  }

  async instanceFile(id: string): Promise<Uint8Array> {
    const res = await fetch(`${this.httpUrl}/instances/${id}/file`);
    if (!res.ok) throw new Error(`Orthanc /instances/${id}/file: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Upload a Part 10 file through the REST API (test set-up). */
  async upload(bytes: Uint8Array): Promise<void> {
    const res = await fetch(`${this.httpUrl}/instances`, { method: 'POST', body: bytes as unknown as BodyInit });
    if (!res.ok) throw new Error(`Orthanc upload: HTTP ${res.status} ${await res.text()}`);
  }
}

/**
 * A TCP proxy on a loopback port to a target, counting connections. `cut` decides, per connection, to destroy it
 * after so many bytes went one way: toTarget (the data was on its way: may or may not have arrived) or
 * fromTarget (the archive answered, but the answer never reaches the station).
 */
export class CuttingProxy {
  connections = 0;
  /** bytes forwarded to the target, per connection */
  readonly uploaded: number[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  cut: ((connection: number) => { fromTargetChunks?: number; toTargetBytes?: number } | null) | null = null;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const n = this.connections++;
      this.uploaded[n] = 0;
      const rule = this.cut?.(n) ?? null;
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      }
      let fromTarget = 0;
      const kill = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('data', (d) => {
        this.uploaded[n] += d.byteLength;
        if (rule?.toTargetBytes !== undefined && this.uploaded[n] >= rule.toTargetBytes) {
          upstream.write(d.subarray(0, Math.max(0, d.byteLength - (this.uploaded[n] - rule.toTargetBytes))));
          kill();
          return;
        }
        upstream.write(d);
      });
      upstream.on('data', (d) => {
        fromTarget++;
        if (rule?.fromTargetChunks !== undefined && fromTarget > rule.fromTargetChunks) {
          kill();
          return;
        }
        client.write(d);
      });
      client.on('error', kill);
      upstream.on('error', kill);
      client.on('close', () => upstream.end());
      upstream.on('close', () => client.end());
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
