// The station's DICOM receiver (a C-STORE and C-ECHO SCP on dcmjs-dimse). Each association is checked (called AE
// title, calling AE title against the whitelist), only projection-radiography image classes are negotiated, and
// each received data set is wrapped unchanged in a Part 10 file and handed to `onInstance`, which imports it. The
// C-STORE response is sent only after the import committed (or was refused, with the reason), so that a sender
// that got Success can forget the image.
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { AppError } from '../errors';
import { TRANSFER_SYNTAXES } from '../imaging/index';
import { dimse } from './dimse';
import { IMAGE_STORAGE_CLASSES, part10FromDataset } from './dicom';

const { Server, Scp, Dataset } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass } = dimse.constants;

export interface ReceivedInstance {
  part10: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
  callingAeTitle: string;
  peerAddress: string | null;
}

/** What became of a received instance: the C-STORE status to answer with, and a short reason on failure. */
export interface StoreVerdict {
  status: 'stored' | 'duplicate' | 'refused';
  /** the reason given to the sender (Error Comment, 64 characters at most) */
  comment?: string;
  /** 'cannot-understand' (0xC000) for a file that is not a usable image, 'out-of-resources' (0xA700) for a full disk */
  failure?: 'cannot-understand' | 'out-of-resources' | 'processing';
}

export interface ReceiverOptions {
  aeTitle: string;
  port: number;
  /** calling AE titles allowed; empty: anyone */
  whitelist: string[];
  onInstance(instance: ReceivedInstance): Promise<StoreVerdict>;
  /** an association refused or a context rejected, for the log */
  onRefused?(r: { callingAeTitle: string; peerAddress: string | null; reason: string }): void;
}

/** Transfer syntaxes the import path decodes, in the order we prefer them when a sender offers several. */
function acceptableSyntaxes(): Set<string> {
  return new Set(Object.entries(TRANSFER_SYNTAXES).filter(([, t]) => t.kind !== 'unsupported').map(([uid]) => uid));
}

/**
 * The transfer syntax to accept from those offered: a compressed one we decode (the image arrives as the modality
 * made it, smaller on the wire), else explicit, then implicit little endian, and big endian only as a last resort.
 */
export function preferredSyntax(offered: string[], decodable: Set<string>): string | undefined {
  const uncompressed = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2', '1.2.840.10008.1.2.2'];
  const compressed = offered.find((t) => decodable.has(t) && !uncompressed.includes(t) && t !== '1.2.840.10008.1.2.1.99');
  return compressed ?? uncompressed.find((t) => offered.includes(t) && decodable.has(t));
}

const MAX_PDU_LENGTH = 1 << 20;

/** The writable the library streams a C-STORE data set into: keeps the pieces (views of the received PDUs). */
class ChunkCollector extends Writable {
  readonly chunks: Uint8Array[] = [];
  override _write(chunk: Uint8Array, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    this.chunks.push(chunk);
    done();
  }
}

export class DicomReceiver {
  private server: InstanceType<typeof Server> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** when an image last arrived or finished importing (performance.now()) */
  private lastActivity = -Infinity;
  received = 0;
  since: string | null = null;
  port: number | null = null;

  constructor(private readonly opts: ReceiverOptions) {}

  get aeTitle(): string {
    return this.opts.aeTitle;
  }

  /** Listen on the port (every interface); resolves once listening, rejects with NETWORK_PORT_IN_USE and the like. */
  async start(): Promise<void> {
    const receiver = this;
    const opts = this.opts;
    const syntaxes = acceptableSyntaxes();
    const whitelist = new Set(opts.whitelist.map((a) => a.trim()));
    // Raw data set bytes by the Dataset object handed to cStoreRequest: the library would otherwise parse (and
    // later we would re-encode) the whole image; we keep the bytes exactly as sent, as the received pieces.
    const rawOf = new WeakMap<object, { chunks: Uint8Array[]; ts: string }>();

    class StationScp extends Scp {
      private association: InstanceType<typeof dimse.association.Association> | undefined;
      private peer(): string | null {
        return (this as unknown as { socket?: Socket }).socket?.remoteAddress ?? null;
      }

      override associationRequested(association: InstanceType<typeof dimse.association.Association>): void {
        this.association = association;
        const calling = association.getCallingAeTitle().trim();
        const called = association.getCalledAeTitle().trim();
        if (whitelist.size > 0 && !whitelist.has(calling)) {
          opts.onRefused?.({ callingAeTitle: calling, peerAddress: this.peer(), reason: `calling AE title ${calling} is not on the whitelist` });
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
          return;
        }
        if (called !== opts.aeTitle) {
          opts.onRefused?.({ callingAeTitle: calling, peerAddress: this.peer(), reason: `called AE title ${called} is not this station's (${opts.aeTitle})` });
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
          return;
        }
        // Large PDUs: a 10 MB radiograph in 16 kB pieces costs the parser more than the import's hashing.
        association.setMaxPduLength(MAX_PDU_LENGTH);
        for (const c of association.getPresentationContexts()) {
          const context = association.getPresentationContext(c.id);
          const abstract = context.getAbstractSyntaxUid();
          const verification = abstract === SopClass.Verification;
          if (!verification && !IMAGE_STORAGE_CLASSES[abstract]) {
            context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
            continue;
          }
          const offered = context.getTransferSyntaxUids();
          const pick = verification ? offered.find((t) => t === '1.2.840.10008.1.2' || t === '1.2.840.10008.1.2.1') : preferredSyntax(offered, syntaxes);
          if (pick) context.setResult(PresentationContextResult.Accept, pick);
          else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }

      // A sender that gives up sends A-ABORT and waits for us to close the connection (PS3.8 9.3.8).
      override abort(): void {
        (this as unknown as { socket?: Socket }).socket?.end();
      }

      override cEchoRequest(request: InstanceType<typeof dimse.requests.CEchoRequest>, callback: (r: InstanceType<typeof CEchoResponse>) => void): void {
        const response = CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }

      // The data set's pieces are collected as they arrive (no growing buffer, no copy) and copied once, into the
      // Part 10 file that is imported.
      override createStoreWritableStream(): ChunkCollector {
        return new ChunkCollector();
      }

      override createDatasetFromStoreWritableStream(writable: unknown, context: InstanceType<typeof dimse.association.PresentationContext>, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
        const ts = context.getAcceptedTransferSyntaxUid() ?? '1.2.840.10008.1.2';
        const ds = new Dataset({}, ts);
        rawOf.set(ds, { chunks: (writable as ChunkCollector).chunks, ts });
        callback(ds);
      }

      override cStoreRequest(request: InstanceType<typeof dimse.requests.CStoreRequest>, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
        const response = CStoreResponse.fromRequest(request);
        const ds = request.getDataset();
        const raw = ds ? rawOf.get(ds) : undefined;
        const sopClassUid = request.getAffectedSopClassUid();
        const sopInstanceUid = request.getAffectedSopInstanceUid();
        if (!raw || !IMAGE_STORAGE_CLASSES[sopClassUid]) {
          response.setStatus(Status.SopClassNotSupported);
          response.setErrorComment('SOP class not taken by this station');
          callback(response);
          return;
        }
        const instance: ReceivedInstance = {
          part10: part10FromDataset(raw.chunks, { sopClassUid, sopInstanceUid, transferSyntaxUid: raw.ts, sourceAeTitle: this.association?.getCallingAeTitle().trim() }, { shared: true }),
          sopClassUid,
          sopInstanceUid,
          callingAeTitle: this.association?.getCallingAeTitle().trim() ?? '',
          peerAddress: this.peer(),
        };
        receiver.enqueue(instance).then(
          (verdict) => {
            if (verdict.status === 'refused') {
              response.setStatus(verdict.failure === 'out-of-resources' ? Status.ResourceLimitation : verdict.failure === 'cannot-understand' ? 0xc000 : Status.ProcessingFailure);
              if (verdict.comment) response.setErrorComment(verdict.comment.slice(0, 64));
            } else response.setStatus(Status.Success);
            callback(response);
          },
          () => {
            response.setStatus(Status.ProcessingFailure);
            callback(response);
          },
        );
      }
    }

    const server = new Server(StationScp as unknown as typeof Scp);
    await new Promise<void>((resolve, reject) => {
      server.on('listening', () => resolve());
      server.on('networkError', (e: Error) => {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') reject(new AppError('NETWORK_PORT_IN_USE', `Port ${opts.port} is in use by another program: choose another port for the DICOM receiver.`, { cause: e }));
        else if (code === 'EACCES') reject(new AppError('NETWORK_PORT_IN_USE', `Port ${opts.port} needs administrator rights on this computer: choose a port above 1023.`, { cause: e }));
        else if (!receiver.server) reject(new AppError('NETWORK_UNREACHABLE', `The DICOM receiver could not start: ${e.message}`, { cause: e }));
        // Errors of one association (a sender that vanished) end that association only; the receiver goes on.
      });
      server.listen(opts.port);
    });
    this.server = server;
    const address = (server as unknown as { server: { address(): { port: number } | string | null } }).server.address();
    this.port = typeof address === 'object' && address ? address.port : opts.port;
    this.since = new Date().toISOString();
  }

  /** One import at a time, in arrival order: the import path is not built for concurrent writers of one case. */
  private enqueue(instance: ReceivedInstance): Promise<StoreVerdict> {
    this.inFlight++;
    this.lastActivity = performance.now();
    const run = this.chain.then(() => this.opts.onInstance(instance));
    this.chain = run.catch(() => undefined);
    return run.finally(() => {
      this.received++;
      this.lastActivity = performance.now();
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  /**
   * Resolves once nothing has arrived or been imported for `quietMs` (a burst from a modality is over), or after
   * `maxWaitMs` at the latest, so that background work (the model's reading) waiting on it still moves on during a
   * long stream. The gap between two images of one sender (the next one on the wire) is far below `quietMs`.
   */
  async quiet(quietMs = 300, maxWaitMs = 5000): Promise<void> {
    const until = performance.now() + maxWaitMs;
    for (;;) {
      const now = performance.now();
      const since = now - this.lastActivity;
      if ((this.inFlight === 0 && since >= quietMs) || now >= until) return;
      const wait = Math.min(until - now, this.inFlight > 0 ? 50 : quietMs - since);
      await new Promise<void>((r) => setTimeout(r, Math.max(1, wait)).unref());
    }
  }

  /** Resolves when every instance received so far is imported. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Stop listening, drop open associations, and wait for the imports already under way. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      const net = (server as unknown as { server?: { listening: boolean; once(e: string, cb: () => void): void } }).server;
      const closed = net?.listening ? new Promise<void>((r) => net.once('close', () => r())) : Promise.resolve();
      server.close();
      await closed;
    }
    await this.idle();
  }
}
