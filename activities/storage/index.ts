/**
 * Opening an artifact store from a config object or from the environment.
 *
 *   BLOCKSCOPE_STORE        fs:///absolute/path  or  s3://bucket[/prefix]
 *   BLOCKSCOPE_S3_ENDPOINT  e.g. http://127.0.0.1:9000 (MinIO); unset means AWS itself
 *   AWS_REGION              default us-east-1
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   S3 credentials (read by S3ArtifactStore, never put in a config)
 */
import { isAbsolute } from 'node:path';
import { FsArtifactStore } from './fs-store.js';
import { S3ArtifactStore, type S3Credentials, type S3StoreOptions } from './s3-store.js';
import { InvalidArtifactKeyError, assertValidPrefix, type ArtifactStore } from './store.js';

export * from './store.js';
export { CountingArtifactStore, ForwardingArtifactStore, type ReadTally } from './counting-store.js';
export { FsArtifactStore } from './fs-store.js';
export { S3ArtifactStore, type S3Credentials, type S3StoreOptions } from './s3-store.js';

export type StoreConfig =
  { kind: 'fs'; root: string } | { kind: 's3'; endpoint?: string; bucket: string; region?: string; prefix?: string; forcePathStyle?: boolean; caBundle?: string };

export class StoreConfigError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    this.name = 'StoreConfigError';
  }
}

export const defaultRegion = 'us-east-1';

type Env = Readonly<Record<string, string | undefined>>;

export interface OpenStoreOptions {
  /** S3 only; otherwise AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from `env`. */
  credentials?: S3Credentials;
  /** S3 only; where credentials are read from, default process.env. */
  env?: Env;
}

/**
 * Opens the store a config describes. The config is checked at run time too, since it often comes from a file.
 * For S3 the bucket must exist; `S3ArtifactStore.ensureBucket()` creates it.
 */
export function openArtifactStore(config: StoreConfig, options: OpenStoreOptions = {}): ArtifactStore {
  const checked = validateStoreConfig(config);
  if (checked.kind === 'fs') return new FsArtifactStore(checked.root);
  const s3Options: S3StoreOptions = { region: checked.region ?? defaultRegion, bucket: checked.bucket };
  if (checked.endpoint !== undefined) s3Options.endpoint = checked.endpoint;
  if (checked.prefix !== undefined) s3Options.prefix = checked.prefix;
  if (checked.forcePathStyle !== undefined) s3Options.forcePathStyle = checked.forcePathStyle;
  if (checked.caBundle !== undefined) s3Options.caBundle = checked.caBundle;
  if (options.credentials !== undefined) s3Options.credentials = options.credentials;
  if (options.env !== undefined) s3Options.env = options.env;
  return new S3ArtifactStore(s3Options);
}

/** Reads BLOCKSCOPE_STORE, BLOCKSCOPE_S3_ENDPOINT, AWS_REGION and AWS_CA_BUNDLE. */
export function storeConfigFromEnv(env: Env = process.env): StoreConfig {
  const store = env['BLOCKSCOPE_STORE'];
  const expected = 'expected fs:///absolute/path or s3://bucket[/prefix]';
  if (store === undefined || store.trim() === '') throw new StoreConfigError(`BLOCKSCOPE_STORE is not set; ${expected}`);
  let url: URL;
  try {
    url = new URL(store.trim());
  } catch {
    throw new StoreConfigError(`BLOCKSCOPE_STORE is not a URL; ${expected}`);
  }
  if (url.search !== '' || url.hash !== '') throw new StoreConfigError(`BLOCKSCOPE_STORE must not have a query or fragment; ${expected}`);

  if (url.protocol === 'fs:') {
    const root = decodeURIComponent(url.pathname);
    if (url.host !== '' || !root.startsWith('/')) {
      throw new StoreConfigError(`BLOCKSCOPE_STORE ${JSON.stringify(store)} must name an absolute path, as in fs:///absolute/path`);
    }
    return validateStoreConfig({ kind: 'fs', root });
  }

  if (url.protocol === 's3:') {
    if (url.username !== '' || url.password !== '') {
      // Do not echo the value: it holds a credential.
      throw new StoreConfigError('BLOCKSCOPE_STORE must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead');
    }
    const config: StoreConfig = { kind: 's3', bucket: url.host, region: nonEmpty(env['AWS_REGION']) ?? defaultRegion };
    const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
    if (prefix !== '') config.prefix = prefix;
    const endpoint = nonEmpty(env['BLOCKSCOPE_S3_ENDPOINT']);
    if (endpoint !== undefined) config.endpoint = endpoint;
    const caBundle = nonEmpty(env['AWS_CA_BUNDLE']);
    if (caBundle !== undefined) config.caBundle = caBundle;
    return validateStoreConfig(config, {
      bucket: 'BLOCKSCOPE_STORE (bucket)',
      prefix: 'BLOCKSCOPE_STORE (prefix)',
      endpoint: 'BLOCKSCOPE_S3_ENDPOINT',
      region: 'AWS_REGION',
      caBundle: 'AWS_CA_BUNDLE',
    });
  }

  throw new StoreConfigError(`BLOCKSCOPE_STORE has scheme ${JSON.stringify(url.protocol)}; allowed schemes are fs: and s3:, ${expected}`);
}

/** Field names as the user wrote them (config field or environment variable), for error messages. */
interface FieldLabels {
  bucket: string;
  prefix: string;
  endpoint: string;
  region: string;
  caBundle: string;
}

const configFieldLabels: FieldLabels = { bucket: 'store.bucket', prefix: 'store.prefix', endpoint: 'store.endpoint', region: 'store.region', caBundle: 'store.caBundle' };

/** S3 bucket naming rules: 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit. */
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const regionPattern = /^[a-z0-9-]+$/;

export function validateStoreConfig(config: unknown, labels: FieldLabels = configFieldLabels): StoreConfig {
  if (typeof config !== 'object' || config === null) throw new StoreConfigError('store config must be an object with kind "fs" or "s3"');
  const fields = config as Record<string, unknown>;
  const kind = fields['kind'];

  if (kind === 'fs') {
    const root = fields['root'];
    if (typeof root !== 'string' || !isAbsolute(root)) {
      throw new StoreConfigError(`store.root must be an absolute directory path, got ${JSON.stringify(root)}`);
    }
    return { kind: 'fs', root };
  }

  if (kind === 's3') {
    const bucket = fields['bucket'];
    if (typeof bucket !== 'string' || !bucketPattern.test(bucket) || bucket.includes('..')) {
      throw new StoreConfigError(
        `${labels.bucket} must be an S3 bucket name (3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit), got ${JSON.stringify(bucket)}`,
      );
    }
    const result: StoreConfig = { kind: 's3', bucket };

    const region = fields['region'];
    if (region !== undefined) {
      if (typeof region !== 'string' || !regionPattern.test(region)) {
        throw new StoreConfigError(`${labels.region} must look like "us-east-1", got ${JSON.stringify(region)}`);
      }
      result.region = region;
    }

    const prefix = fields['prefix'];
    if (prefix !== undefined) {
      if (typeof prefix !== 'string') throw new StoreConfigError(`${labels.prefix} must be a string`);
      try {
        assertValidPrefix(prefix.replace(/^\/+|\/+$/g, ''));
      } catch (error) {
        if (error instanceof InvalidArtifactKeyError) throw new StoreConfigError(`${labels.prefix}: ${error.message}`);
        throw error;
      }
      result.prefix = prefix;
    }

    const endpoint = fields['endpoint'];
    if (endpoint !== undefined) {
      if (typeof endpoint !== 'string') throw new StoreConfigError(`${labels.endpoint} must be an http:// or https:// URL`);
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new StoreConfigError(`${labels.endpoint} must be an http:// or https:// URL such as http://127.0.0.1:9000`);
      }
      if (url.username !== '' || url.password !== '') {
        throw new StoreConfigError(`${labels.endpoint} must not contain credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new StoreConfigError(`${labels.endpoint} must use http or https, got ${JSON.stringify(url.protocol)}`);
      }
      result.endpoint = endpoint;
    }

    const forcePathStyle = fields['forcePathStyle'];
    if (forcePathStyle !== undefined) {
      if (typeof forcePathStyle !== 'boolean') throw new StoreConfigError('store.forcePathStyle must be true or false');
      result.forcePathStyle = forcePathStyle;
    }

    const caBundle = fields['caBundle'];
    if (caBundle !== undefined) {
      if (typeof caBundle !== 'string' || !isAbsolute(caBundle))
        throw new StoreConfigError(`${labels.caBundle} must be the absolute path of a PEM file, got ${JSON.stringify(caBundle)}`);
      result.caBundle = caBundle;
    }
    return result;
  }

  throw new StoreConfigError(`store.kind must be "fs" or "s3", got ${JSON.stringify(kind)}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
