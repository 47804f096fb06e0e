/**
 * The artifact store contract shared by the filesystem and S3 backends.
 *
 * Artifacts are immutable: a key, once written, always holds the same bytes. Every artifact carries its sha256,
 * which is checked on every read.
 */
import { canonicalJson, sha256Hex } from '../../pipelines/hash.js';

export interface PutOptions {
  contentType?: string;
}

export interface PutResult {
  key: string;
  sha256: string;
  size: number;
  /** false when identical bytes were already stored at the key (the put was a no-op). */
  created: boolean;
}

export interface ContentPutOptions extends PutOptions {
  /** Key prefix; the artifact lands at `${prefix}/sha256/<hex>.<extension>`. */
  prefix: string;
  /** File extension without the dot, e.g. `onnx` or `tar.gz`. */
  extension: string;
}

export interface ArtifactStore {
  put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  /** The stored bytes, after checking them against the stored sha256. */
  get(key: string): Promise<Uint8Array>;
  getText(key: string): Promise<string>;
  getJson<T>(key: string): Promise<T>;
  /** Stores the canonical JSON of `value` (sorted keys, no whitespace), so equal values give equal bytes. */
  putJson(key: string, value: unknown, options?: PutOptions): Promise<PutResult>;
  /** Stores bytes under a key derived from their sha256 and returns that key. */
  putContent(data: Uint8Array | string, options: ContentPutOptions): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Keys starting with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Where the store lives, for logs; never contains credentials. */
  describe(): string;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export class ArtifactStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidArtifactKeyError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class ArtifactNotFoundError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    where: string,
  ) {
    super(`artifact ${JSON.stringify(key)} not found in ${where}`);
  }
}

export class ArtifactConflictError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    readonly existingSha256: string,
    readonly attemptedSha256: string,
  ) {
    super(
      `artifact ${JSON.stringify(key)} already exists with different content ` +
        `(stored sha256 ${existingSha256}, attempted ${attemptedSha256}); artifacts are immutable, write to a new key`,
    );
  }
}

export class ArtifactChecksumError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    /** null when no checksum was stored with the artifact. */
    readonly expected: string | null,
    readonly actual: string,
  ) {
    super(
      expected === null
        ? `artifact ${JSON.stringify(key)} has no stored sha256 (actual ${actual}); it was not written completely by ArtifactStore`
        : `artifact ${JSON.stringify(key)} failed its checksum: expected sha256 ${expected}, actual ${actual}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

const keyCharacters = /^[A-Za-z0-9._=+@:\-/]+$/;

/** The fs backend keeps `<file>.sha256` sidecars next to artifacts; keys may not collide with them. */
export const checksumSuffix = '.sha256';
/** The fs backend writes `.tmp-*` files before publishing; keys may not collide with them. */
export const tempFilePrefix = '.tmp-';

/** Throws InvalidArtifactKeyError unless `key` is a '/'-separated relative path of allowed characters. */
export function assertValidKey(key: string): void {
  const reason = keyProblem(key, { allowTrailingSlash: false });
  if (reason !== undefined) throw new InvalidArtifactKeyError(key, reason);
}

/** Prefixes follow the key rules but may be empty or end with '/'. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const reason = keyProblem(prefix, { allowTrailingSlash: true });
  if (reason !== undefined) throw new InvalidArtifactKeyError(prefix, `(as a prefix) ${reason}`);
}

function keyProblem(key: string, { allowTrailingSlash }: { allowTrailingSlash: boolean }): string | undefined {
  if (key === '') return 'empty';
  if (!keyCharacters.test(key)) return 'only the characters A-Z a-z 0-9 . _ = + @ : - / are allowed';
  if (key.startsWith('/')) return 'must be relative (no leading "/")';
  const segments = (allowTrailingSlash && key.endsWith('/') ? key.slice(0, -1) : key).split('/');
  for (const segment of segments) {
    if (segment === '') return 'empty path segment ("//" or trailing "/")';
    if (segment === '.' || segment === '..') return `"${segment}" segments are not allowed`;
    if (segment.startsWith(tempFilePrefix)) return `segments starting with "${tempFilePrefix}" are reserved`;
  }
  if (!allowTrailingSlash && key.endsWith(checksumSuffix)) return `keys ending in "${checksumSuffix}" are reserved`;
  return undefined;
}

const extensionPattern = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;

export function contentKey(prefix: string, sha256: string, extension: string): string {
  if (!extensionPattern.test(extension)) {
    throw new InvalidArtifactKeyError(`${prefix}/sha256/${sha256}.${extension}`, `extension ${JSON.stringify(extension)} must look like "onnx" or "tar.gz" (no leading dot)`);
  }
  const trimmedPrefix = prefix.replace(/\/+$/, '');
  const key = trimmedPrefix === '' ? `sha256/${sha256}.${extension}` : `${trimmedPrefix}/sha256/${sha256}.${extension}`;
  assertValidKey(key);
  return key;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared behaviour

export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

export function defaultContentType(data: Uint8Array | string): string {
  return typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

/** The derived operations, written once in terms of put/get. */
export abstract class BaseArtifactStore implements ArtifactStore {
  abstract put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  abstract get(key: string): Promise<Uint8Array>;
  abstract exists(key: string): Promise<boolean>;
  abstract list(prefix: string): Promise<string[]>;
  abstract describe(): string;

  async getText(key: string): Promise<string> {
    return new TextDecoder('utf-8', { fatal: true }).decode(await this.get(key));
  }

  async getJson<T>(key: string): Promise<T> {
    const text = await this.getText(key);
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ArtifactStoreError(`artifact ${JSON.stringify(key)} is not valid JSON: ${reason}`);
    }
  }

  putJson(key: string, value: unknown, options?: PutOptions): Promise<PutResult> {
    // JSON.stringify gives undefined (not a string) for undefined, functions and symbols.
    const text: string | undefined = canonicalJson(value);
    if (typeof text !== 'string') {
      return Promise.reject(new ArtifactStoreError(`putJson ${JSON.stringify(key)}: value of type ${typeof value} has no JSON form`));
    }
    return this.put(key, text, { contentType: 'application/json', ...options });
  }

  async putContent(data: Uint8Array | string, options: ContentPutOptions): Promise<string> {
    const bytes = toBytes(data);
    const key = contentKey(options.prefix, sha256Hex(bytes), options.extension);
    await this.put(key, bytes, { contentType: options.contentType ?? defaultContentType(data) });
    return key;
  }
}
