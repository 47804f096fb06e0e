/**
 * An ArtifactStore decorator that tallies what is read through it, per key and per label (a name for who read it,
 * taken at read time: e.g. the running activity), so tests and the scale run can state the bytes a batch reads.
 * Only `get` (and so getText/getJson) reads bytes; puts, exists and list pass through uncounted. Decorators
 * extend ForwardingArtifactStore and override what they change.
 */
import { BaseArtifactStore, type ArtifactStore, type PutOptions, type PutResult } from './store.js';

export interface ReadTally {
  label: string;
  key: string;
  objects: number;
  bytes: number;
}

/** A store that passes every call to another: the base of decorators, which override what they change. */
export class ForwardingArtifactStore extends BaseArtifactStore {
  constructor(protected readonly inner: ArtifactStore) {
    super();
  }

  put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<PutResult> {
    return this.inner.put(key, data, options);
  }

  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key);
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  describe(): string {
    return this.inner.describe();
  }
}

export class CountingArtifactStore extends ForwardingArtifactStore {
  private readonly tallies = new Map<string, ReadTally>();

  constructor(
    inner: ArtifactStore,
    private readonly label: () => string = () => '',
  ) {
    super(inner);
  }

  override async get(key: string): Promise<Uint8Array> {
    const label = this.label();
    const bytes = await this.inner.get(key);
    const id = `${label}\n${key}`;
    const tally = this.tallies.get(id) ?? { label, key, objects: 0, bytes: 0 };
    tally.objects += 1;
    tally.bytes += bytes.length;
    this.tallies.set(id, tally);
    return bytes;
  }

  /** Every (label, key) read so far, in the order first read. */
  reads(): ReadTally[] {
    return [...this.tallies.values()].map((tally) => ({ ...tally }));
  }
}
