/**
 * Artifact store on S3 or an S3-compatible server (MinIO).
 *
 * Each object carries its sha256 as user metadata (`x-amz-meta-sha256`), checked on every get. Puts are
 * create-only: PutObject with `If-None-Match: *` (verified against MinIO: an existing key answers 412), so of
 * several concurrent writers exactly one creates the object and the others compare hashes.
 *
 * Credentials come from the options or from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
 * never from the SDK's wider default chain, and they never appear in describe() or in error messages.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { sha256Hex } from '../../pipelines/hash.js';
import {
  ArtifactChecksumError,
  ArtifactConflictError,
  ArtifactNotFoundError,
  ArtifactStoreError,
  BaseArtifactStore,
  assertValidKey,
  assertValidPrefix,
  defaultContentType,
  toBytes,
  type PutOptions,
  type PutResult,
} from './store.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  /** e.g. `http://127.0.0.1:9000` for MinIO; omit for AWS itself. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, e.g. `studies`; leading and trailing '/' are ignored. */
  prefix?: string;
  /** Defaults to true when `endpoint` is set (MinIO and most clones need path-style URLs). */
  forcePathStyle?: boolean;
  credentials?: S3Credentials;
  /**
   * The SDK's flexible-checksum mode. The SDK default ('WHEN_SUPPORTED') works with MinIO; 'WHEN_REQUIRED' is for
   * S3 clones that reject the extra CRC headers.
   */
  checksumMode?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /** Where AWS_* credentials are read from when `credentials` is not given; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Keys per ListObjectsV2 page; the server's default (1000) unless set. Small values exercise pagination. */
  listPageSize?: number;
  /** PEM file of the CAs that sign the endpoint's certificate (a private CA), instead of Node's built-in ones. */
  caBundle?: string;
}

/** How often a put retries after S3 reports a concurrent conditional write still in progress (HTTP 409). */
const conflictRetries = 5;
const conflictRetryDelayMs = 100;

interface StoredObjectHead {
  /** null when the object has no sha256 metadata. */
  sha256: string | null;
}

export class S3ArtifactStore extends BaseArtifactStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly location: string;
  private readonly secrets: string[];
  private readonly listPageSize: number | undefined;

  constructor(options: S3StoreOptions) {
    super();
    this.bucket = options.bucket;
    this.prefix = options.prefix?.replace(/^\/+|\/+$/g, '') ?? '';
    assertValidPrefix(this.prefix);
    const endpointLabel = options.endpoint === undefined ? `aws:${options.region}` : endpointWithoutUserInfo(options.endpoint);
    this.location = `s3://${this.bucket}/${this.prefix}@${endpointLabel}`;

    const credentials = resolveCredentials(options.credentials, options.env ?? process.env);
    this.secrets = [credentials.accessKeyId, credentials.secretAccessKey, credentials.sessionToken].filter((secret): secret is string => secret !== undefined && secret !== '');
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials,
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.caBundle !== undefined) config.requestHandler = { httpsAgent: new HttpsAgent({ ca: readCaBundle(options.caBundle), keepAlive: true }) };
    if (options.checksumMode !== undefined) {
      config.requestChecksumCalculation = options.checksumMode;
      config.responseChecksumValidation = options.checksumMode;
    }
    this.client = new S3Client(config);
    this.listPageSize = options.listPageSize;
  }

  describe(): string {
    return this.location;
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  /** Creates the bucket unless it exists already. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (httpStatus(error) !== 404) this.fail('HeadBucket', '', error);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      // Another process may have created it between our HEAD and CREATE.
      if (errorName(error) === 'BucketAlreadyOwnedByYou') return;
      this.fail('CreateBucket', '', error);
    }
  }

  async put(key: string, data: Uint8Array | string, options?: PutOptions): Promise<PutResult> {
    assertValidKey(key);
    const bytes = toBytes(data);
    const sha256 = sha256Hex(bytes);
    const objectKey = this.objectKey(key);

    for (let attempt = 0; ; attempt++) {
      // HEAD first so that re-putting a large artifact does not upload it again.
      const existing = await this.head(objectKey);
      if (existing !== undefined) return settleExisting(key, existing, sha256, bytes.length);
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: bytes,
            ContentLength: bytes.length,
            ContentType: options?.contentType ?? defaultContentType(data),
            Metadata: { sha256 },
            IfNoneMatch: '*',
          }),
        );
        return { key, sha256, size: bytes.length, created: true };
      } catch (error) {
        const status = httpStatus(error);
        // 412: the key exists now (someone won the race). 409: a concurrent conditional write is in flight.
        if ((status === 412 || status === 409) && attempt < conflictRetries) {
          if (status === 409) await new Promise((r) => setTimeout(r, conflictRetryDelayMs));
          continue;
        }
        this.fail('PutObject', objectKey, error);
      }
    }
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    const objectKey = this.objectKey(key);
    let bytes: Uint8Array;
    let expected: string | null;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (response.Body === undefined) throw new ArtifactStoreError(`S3 GetObject ${this.location} ${objectKey}: response has no body`);
      bytes = await response.Body.transformToByteArray();
      expected = response.Metadata?.['sha256'] ?? null;
    } catch (error) {
      if (error instanceof ArtifactStoreError) throw error;
      if (httpStatus(error) === 404 && errorName(error) === 'NoSuchKey') throw new ArtifactNotFoundError(key, this.location);
      this.fail('GetObject', objectKey, error);
    }
    const actual = sha256Hex(bytes);
    if (expected !== actual) throw new ArtifactChecksumError(key, expected, actual);
    return bytes;
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    return (await this.head(this.objectKey(key))) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const storePrefix = this.objectKey('');
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: storePrefix + prefix,
            ContinuationToken: continuationToken,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (error) {
        this.fail('ListObjectsV2', storePrefix + prefix, error);
      }
      for (const object of page.Contents ?? []) {
        // Keys ending in '/' are "folder" markers made by other tools, not artifacts.
        if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key.slice(storePrefix.length));
      }
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return keys.sort();
  }

  private objectKey(key: string): string {
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  /** The object's stored checksum, or undefined when there is no object. */
  private async head(objectKey: string): Promise<StoredObjectHead | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { sha256: response.Metadata?.['sha256'] ?? null };
    } catch (error) {
      // HEAD responses have no body, so a missing bucket also reads as a plain 404 here; put/get name it.
      if (httpStatus(error) === 404) return undefined;
      this.fail('HeadObject', objectKey, error);
    }
  }

  /** Rethrows an SDK error as an ArtifactStoreError with the location, status and a credential-free message. */
  private fail(operation: string, objectKey: string, error: unknown): never {
    const name = errorName(error) ?? 'Error';
    const status = httpStatus(error);
    let message = error instanceof Error ? error.message : String(error);
    for (const secret of this.secrets) message = message.split(secret).join('***');
    const hint = name === 'NoSuchBucket' ? ' (create the bucket first, e.g. with ensureBucket())' : '';
    throw new ArtifactStoreError(
      `S3 ${operation} ${objectKey === '' ? '' : `${JSON.stringify(objectKey)} `}in ${this.location} failed: ` +
        `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${message}${hint}`,
    );
  }
}

function readCaBundle(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ArtifactStoreError(`the S3 CA bundle (store.caBundle / AWS_CA_BUNDLE) cannot be read: ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function settleExisting(key: string, existing: StoredObjectHead, sha256: string, size: number): PutResult {
  if (existing.sha256 === null) {
    throw new ArtifactStoreError(`S3 object for artifact ${JSON.stringify(key)} exists without sha256 metadata; it was not written by ArtifactStore and will not be overwritten`);
  }
  if (existing.sha256 !== sha256) throw new ArtifactConflictError(key, existing.sha256, sha256);
  return { key, sha256, size, created: false };
}

function resolveCredentials(explicit: S3Credentials | undefined, env: Readonly<Record<string, string | undefined>>): S3Credentials {
  if (explicit !== undefined) {
    if (explicit.accessKeyId === '' || explicit.secretAccessKey === '') {
      throw new ArtifactStoreError('S3 credentials: accessKeyId and secretAccessKey must be non-empty');
    }
    return explicit;
  }
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '') {
    throw new ArtifactStoreError('S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or pass credentials)');
  }
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return sessionToken === undefined || sessionToken === '' ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

function endpointWithoutUserInfo(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    throw new ArtifactStoreError('S3 endpoint is not a valid URL (expected e.g. http://127.0.0.1:9000)');
  }
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
