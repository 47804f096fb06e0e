/**
 * Artifact store on a local directory.
 *
 * Layout: `<root>/<key>` holds the bytes and `<root>/<key>.sha256` their sha256 (hex).
 * Publishing is atomic and exclusive: the bytes go to a fsynced temp file in the same directory, which is then
 * hard-linked to the final name. link(2) fails if the name exists, so of several writers (threads or processes)
 * exactly one publishes; the others compare hashes and report a no-op or a conflict. A final name therefore always
 * holds complete bytes. Only the publisher writes the sidecar, so bytes and checksum can never come from
 * different writers.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { sha256Hex } from '../../pipelines/hash.js';
import {
  ArtifactChecksumError,
  ArtifactConflictError,
  ArtifactNotFoundError,
  ArtifactStoreError,
  BaseArtifactStore,
  assertValidKey,
  assertValidPrefix,
  checksumSuffix,
  tempFilePrefix,
  toBytes,
  type PutOptions,
  type PutResult,
} from './store.js';

/** A reader may arrive between a writer's publish and its sidecar write; give the writer this long. */
const sidecarWaitMs = 1_000;

export class FsArtifactStore extends BaseArtifactStore {
  readonly root: string;

  constructor(root: string) {
    super();
    if (!isAbsolute(root)) throw new ArtifactStoreError(`FsArtifactStore root must be an absolute path, got ${JSON.stringify(root)}`);
    this.root = resolve(root);
  }

  describe(): string {
    return `fs:${this.root}`;
  }

  /** Content type is not kept on disk; the option exists for interface parity with S3. */
  async put(key: string, data: Uint8Array | string, _options?: PutOptions): Promise<PutResult> {
    assertValidKey(key);
    const bytes = toBytes(data);
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(key);

    // Fast path for re-puts: answer from the sidecar without writing anything.
    if (await isFile(path)) return this.settleExisting(key, path, sha256, bytes.length);

    const directory = dirname(path);
    try {
      await mkdir(directory, { recursive: true });
    } catch (error) {
      if (errorCode(error) === 'EEXIST' || errorCode(error) === 'ENOTDIR') {
        throw new ArtifactStoreError(`cannot store ${JSON.stringify(key)} in ${this.describe()}: a parent of it is an artifact (a file), not a directory`);
      }
      throw error;
    }
    const tempPath = join(directory, `${tempFilePrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
    let published: boolean;
    try {
      await writeDurably(tempPath, bytes);
      published = await linkExclusive(tempPath, path);
    } finally {
      await rm(tempPath, { force: true });
    }
    if (!published) return this.settleExisting(key, path, sha256, bytes.length);

    await writeSidecar(path, sha256);
    await syncDirectory(directory);
    return { key, sha256, size: bytes.length, created: true };
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    const path = this.pathOf(key);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw new ArtifactNotFoundError(key, this.describe());
      throw error;
    }
    const expected = await readSidecar(path, sidecarWaitMs);
    const actual = sha256Hex(bytes);
    if (expected !== actual) throw new ArtifactChecksumError(key, expected, actual);
    return bytes;
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    return isFile(this.pathOf(key));
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Walk only the directory the prefix names; its last partial segment is matched as a string prefix.
    const directoryPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const keys: string[] = [];
    await this.collectKeys(directoryPart, keys);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }

  private async collectKeys(relativeDirectory: string, into: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(join(this.root, relativeDirectory), { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(tempFilePrefix)) continue;
      const relative = `${relativeDirectory}${entry.name}`;
      if (entry.isDirectory()) await this.collectKeys(`${relative}/`, into);
      else if (entry.isFile() && !entry.name.endsWith(checksumSuffix)) into.push(relative);
    }
  }

  /** The key exists already: a no-op when the content matches, a conflict otherwise. */
  private async settleExisting(key: string, path: string, sha256: string, size: number): Promise<PutResult> {
    let existingSha256 = await readSidecar(path, 0);
    if (existingSha256 === null) {
      // Published bytes are always complete, so hashing them is authoritative; restore the missing sidecar
      // (left by a writer that died between publish and sidecar) only when it says the same as ours.
      existingSha256 = sha256Hex(new Uint8Array(await readFile(path)));
      if (existingSha256 === sha256) await writeSidecar(path, sha256);
    }
    if (existingSha256 !== sha256) throw new ArtifactConflictError(key, existingSha256, sha256);
    return { key, sha256, size, created: false };
  }

  private pathOf(key: string): string {
    const path = join(this.root, ...key.split('/'));
    // Key validation already forbids '..'; this guards the invariant the layout relies on.
    if (!path.startsWith(this.root + sep)) throw new ArtifactStoreError(`key ${JSON.stringify(key)} resolves outside the store root`);
    return path;
  }
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  // 'wx': never reuse an existing file, even a stale temp file.
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Publishes `from` under `to` unless `to` exists; returns whether it did. */
async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

async function writeSidecar(path: string, sha256: string): Promise<void> {
  const sidecarPath = path + checksumSuffix;
  const tempPath = join(dirname(path), `${tempFilePrefix}${process.pid}-${randomBytes(6).toString('hex')}${checksumSuffix}`);
  try {
    await writeDurably(tempPath, new TextEncoder().encode(`${sha256}\n`));
    // Plain rename: only the publisher (or a repair with the same hash) gets here, so replacing is harmless.
    await rename(tempPath, sidecarPath);
  } finally {
    await rm(tempPath, { force: true });
  }
}

/** The stored sha256, or null if there is no sidecar after waiting up to `waitMs` for one. */
async function readSidecar(path: string, waitMs: number): Promise<string | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return (await readFile(path + checksumSuffix, 'utf8')).trim();
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Makes the new directory entries durable, not just the file contents. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}
