/**
 * The artifact store contract, run against both backends: a temp directory and a real MinIO server.
 * No mocks: corruption is done by writing to the disk / bucket behind the store's back.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactChecksumError,
  ArtifactConflictError,
  ArtifactNotFoundError,
  FsArtifactStore,
  InvalidArtifactKeyError,
  S3ArtifactStore,
  StoreConfigError,
  openArtifactStore,
  storeConfigFromEnv,
  type ArtifactStore,
} from '../activities/storage/index.js';
import { canonicalJson, sha256Hex } from '../pipelines/hash.js';
import { startMinio, type MinioServer } from './helpers/minio.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What a contract test needs from a backend beyond the store itself. */
interface Harness {
  store: ArtifactStore;
  /** Replaces the stored bytes of `key` behind the store's back; the stored checksum stays as it was. */
  corruptKeepingChecksum: (key: string, bytes: Uint8Array) => Promise<void>;
  /** Strings that must never show up in describe() or errors. */
  secrets: string[];
}

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const allByteValues = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));

// ---------------------------------------------------------------------------------------------------------------
// Backends

let fsRoot = '';
let minio: MinioServer | undefined;
let rawS3: S3Client | undefined;
const bucket = 'blockscope-test';
const s3Prefix = 'run-1';
const harnesses = new Map<string, Harness>();

beforeAll(async () => {
  fsRoot = await mkdtemp(join(tmpdir(), 'blockscope-store-'));
  harnesses.set('fs', {
    store: new FsArtifactStore(fsRoot),
    corruptKeepingChecksum: (key, bytes) => writeFile(join(fsRoot, ...key.split('/')), bytes),
    secrets: [],
  });

  minio = await startMinio();
  const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  const s3Store = new S3ArtifactStore({ endpoint: minio.endpoint, region: 'us-east-1', bucket, prefix: s3Prefix, credentials, listPageSize: 2 });
  await s3Store.ensureBucket();
  const client = new S3Client({ endpoint: minio.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  rawS3 = client;
  harnesses.set('s3', {
    store: s3Store,
    corruptKeepingChecksum: async (key, bytes) => {
      const head = await s3Store.exists(key);
      expect(head).toBe(true);
      const original = sha256Hex(await s3Store.get(key));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${s3Prefix}/${key}`, Body: bytes, Metadata: { sha256: original } }));
    },
    secrets: [minio.accessKeyId, minio.secretAccessKey],
  });
});

afterAll(async () => {
  const s3Store = harnesses.get('s3')?.store;
  if (s3Store instanceof S3ArtifactStore) s3Store.close();
  rawS3?.destroy();
  await minio?.stop();
  if (fsRoot !== '') await rm(fsRoot, { recursive: true, force: true });
});

function harness(name: string): Harness {
  const found = harnesses.get(name);
  if (found === undefined) throw new Error(`backend ${name} was not set up`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The contract

describe.each(['fs', 's3'])('%s artifact store', (backend) => {
  const store = (): ArtifactStore => harness(backend).store;

  it('round-trips bytes, text and JSON', async () => {
    const s = store();
    const put = await s.put('roundtrip/bytes.bin', allByteValues);
    expect(put).toEqual({ key: 'roundtrip/bytes.bin', sha256: sha256Hex(allByteValues), size: 256, created: true });
    expect(await s.get('roundtrip/bytes.bin')).toEqual(allByteValues);

    const text = 'latency µs ≈ 1.5\nsecond line';
    await s.put('roundtrip/text.txt', text, { contentType: 'text/plain' });
    expect(await s.getText('roundtrip/text.txt')).toBe(text);

    const value = { z: 1, a: [3, { y: null, b: 'x' }], m: { k: true } };
    const jsonPut = await s.putJson('roundtrip/value.json', value);
    expect(jsonPut.sha256).toBe(sha256Hex(canonicalJson(value)));
    expect(await s.getText('roundtrip/value.json')).toBe('{"a":[3,{"b":"x","y":null}],"m":{"k":true},"z":1}');
    expect(await s.getJson<typeof value>('roundtrip/value.json')).toEqual(value);

    expect(await s.exists('roundtrip/value.json')).toBe(true);
    expect(await s.exists('roundtrip/missing.json')).toBe(false);
    await expect(s.get('roundtrip/missing.json')).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(s.getJson('roundtrip/text.txt')).rejects.toThrow(/roundtrip\/text\.txt.*not valid JSON/);
  });

  it('treats a put of identical bytes as a no-op', async () => {
    const s = store();
    expect((await s.put('idempotent/a.txt', 'same')).created).toBe(true);
    const again = await s.put('idempotent/a.txt', bytesOf('same'));
    expect(again).toEqual({ key: 'idempotent/a.txt', sha256: sha256Hex('same'), size: 4, created: false });
    // Canonical JSON makes key order irrelevant.
    expect((await s.putJson('idempotent/v.json', { a: 1, b: 2 })).created).toBe(true);
    expect((await s.putJson('idempotent/v.json', { b: 2, a: 1 })).created).toBe(false);
  });

  it('refuses to overwrite an artifact with different bytes', async () => {
    const s = store();
    await s.put('conflict/a.txt', 'first');
    const attempt = s.put('conflict/a.txt', 'second');
    await expect(attempt).rejects.toBeInstanceOf(ArtifactConflictError);
    await expect(attempt).rejects.toThrow(/"conflict\/a\.txt" already exists with different content/);
    expect(await s.getText('conflict/a.txt')).toBe('first');
  });

  it('settles concurrent puts: one creates, the rest are no-ops or conflicts', async () => {
    const s = store();
    const same = await Promise.all(Array.from({ length: 6 }, () => s.put('race/same.txt', 'identical')));
    expect(same.filter((r) => r.created)).toHaveLength(1);

    const contenders = Array.from({ length: 6 }, (_, i) => `writer ${i}`);
    const outcomes = await Promise.allSettled(contenders.map((text) => s.put('race/different.txt', text)));
    const winners = outcomes.filter((o) => o.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ArtifactConflictError);
    expect(contenders).toContain(await s.getText('race/different.txt'));
  });

  it('lists keys under a prefix, sorted', async () => {
    const s = store();
    for (const key of ['list/b.txt', 'list/a/y.txt', 'list/ab.txt', 'list/a/x.txt', 'lister/z.txt', 'other/c.txt']) await s.put(key, key);
    expect(await s.list('list/')).toEqual(['list/a/x.txt', 'list/a/y.txt', 'list/ab.txt', 'list/b.txt']);
    expect(await s.list('list/a')).toEqual(['list/a/x.txt', 'list/a/y.txt', 'list/ab.txt']);
    expect(await s.list('list')).toEqual(['list/a/x.txt', 'list/a/y.txt', 'list/ab.txt', 'list/b.txt', 'lister/z.txt']);
    expect(await s.list('nothing/here/')).toEqual([]);
    expect(await s.list('')).toContain('other/c.txt');
  });

  it('stores content-addressed artifacts under their sha256', async () => {
    const s = store();
    const model = bytesOf('pretend this is an ONNX model');
    const key = await s.putContent(model, { prefix: 'models', extension: 'onnx' });
    expect(key).toBe(`models/sha256/${sha256Hex(model)}.onnx`);
    expect(await s.get(key)).toEqual(model);
    expect(await s.putContent(model, { prefix: 'models/', extension: 'onnx' })).toBe(key);
    await expect(s.putContent(model, { prefix: 'models', extension: '.onnx' })).rejects.toBeInstanceOf(InvalidArtifactKeyError);
    await expect(s.putContent(model, { prefix: '../up', extension: 'onnx' })).rejects.toBeInstanceOf(InvalidArtifactKeyError);
  });

  it('detects stored bytes that no longer match their checksum', async () => {
    const { store: s, corruptKeepingChecksum } = harness(backend);
    const original = bytesOf('{"latencyMs":1.25}');
    const { sha256 } = await s.put('corrupt/measurement.json', original);
    const tampered = bytesOf('{"latencyMs":9.99}');
    await corruptKeepingChecksum('corrupt/measurement.json', tampered);

    const read = s.get('corrupt/measurement.json');
    await expect(read).rejects.toBeInstanceOf(ArtifactChecksumError);
    await expect(read).rejects.toMatchObject({ key: 'corrupt/measurement.json', expected: sha256, actual: sha256Hex(tampered) });
    await expect(read).rejects.toThrow(/corrupt\/measurement\.json/);
    await expect(s.getText('corrupt/measurement.json')).rejects.toBeInstanceOf(ArtifactChecksumError);
  });

  it('rejects malformed keys, naming them', async () => {
    const s = store();
    const badKeys = ['', '/abs/path', 'a/../b', '..', './a', 'a//b', 'a/', 'with space', 'ümlaut', 'back\\slash', 'q?x', 'a/x.sha256', 'a/.tmp-1'];
    for (const key of badKeys) {
      await expect(s.put(key, 'x'), key).rejects.toBeInstanceOf(InvalidArtifactKeyError);
      await expect(s.get(key), key).rejects.toThrow(JSON.stringify(key));
      await expect(s.exists(key), key).rejects.toBeInstanceOf(InvalidArtifactKeyError);
    }
    await expect(s.list('../')).rejects.toBeInstanceOf(InvalidArtifactKeyError);
    // Every allowed character class in one key.
    expect((await s.put('ok/A-z_0.9=+@:x', 'fine')).created).toBe(true);
  });

  it('describes itself without secrets', () => {
    const { store: s, secrets } = harness(backend);
    const description = s.describe();
    expect(description).toMatch(backend === 'fs' ? /^fs:\// : new RegExp(`^s3://${bucket}/${s3Prefix}@http://127\\.0\\.0\\.1:\\d+$`));
    for (const secret of secrets) expect(description).not.toContain(secret);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Backend specifics

describe('s3 artifact store', () => {
  it('ensures an existing bucket without touching what it holds', async () => {
    const store = harnesses.get('s3')!.store as S3ArtifactStore;
    await store.putJson('ensure/kept.json', { kept: true });
    await store.ensureBucket();
    expect(await store.getJson('ensure/kept.json')).toEqual({ kept: true });
    expect(await store.list('ensure/')).toEqual(['ensure/kept.json']);
  });
});

describe('fs artifact store', () => {
  async function filesUnder(directory: string): Promise<string[]> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  }

  it('publishes atomically: no temp files left, a checksum sidecar per artifact', async () => {
    const files = await filesUnder(fsRoot);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    const artifacts = files.filter((f) => !f.endsWith('.sha256'));
    expect(artifacts.length).toBeGreaterThan(10);
    for (const artifact of artifacts) expect(files).toContain(`${artifact}.sha256`);
  });

  it('reports a missing sidecar as a checksum failure', async () => {
    const s = harness('fs').store;
    await s.put('sidecar/a.txt', 'a');
    await rm(join(fsRoot, 'sidecar', 'a.txt.sha256'));
    await expect(s.get('sidecar/a.txt')).rejects.toMatchObject({ name: 'ArtifactChecksumError', expected: null });
    // A re-put of the same bytes repairs it.
    expect((await s.put('sidecar/a.txt', 'a')).created).toBe(false);
    expect(await s.getText('sidecar/a.txt')).toBe('a');
  });

  it('stays consistent when two processes race on the same keys', async () => {
    const root = await mkdtemp(join(tmpdir(), 'blockscope-store-race-'));
    const script = join(root, 'racer.mts');
    const storeModule = pathToFileURL(join(repoRoot, 'activities/storage/fs-store.ts')).href;
    await writeFile(
      script,
      `import { FsArtifactStore } from ${JSON.stringify(storeModule)};
const [root, writer] = process.argv.slice(2);
const store = new FsArtifactStore(root);
const outcomes = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
  // Even keys: both processes write the same bytes. Odd keys: each process writes its own.
  const text = i % 2 === 0 ? 'shared ' + i : writer + ' ' + i;
  try { return (await store.put('race/' + i + '.txt', text)).created ? 'created' : 'noop'; }
  catch (error) { return error.name; }
}));
process.stdout.write(JSON.stringify(outcomes));
`,
    );
    const run = (writer: string): Promise<string[]> =>
      new Promise((resolveRun, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, join(root, 'store'), writer], { cwd: repoRoot });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolveRun(JSON.parse(stdout) as string[]) : reject(new Error(`racer ${writer} exited ${code}: ${stderr}`))));
      });
    try {
      const [first, second] = await Promise.all([run('one'), run('two')]);
      const store = new FsArtifactStore(join(root, 'store'));
      for (let i = 0; i < 40; i++) {
        const pair = [first?.[i], second?.[i]].sort();
        expect(pair, `key ${i}`).toEqual(i % 2 === 0 ? ['created', 'noop'] : ['ArtifactConflictError', 'created']);
        const winner = first?.[i] === 'created' ? 'one' : 'two';
        // getText also verifies the checksum, so bytes and sidecar come from the same writer.
        expect(await store.getText(`race/${i}.txt`)).toBe(i % 2 === 0 ? `shared ${i}` : `${winner} ${i}`);
      }
      expect((await filesUnder(join(root, 'store'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('explains a key whose parent is an artifact', async () => {
    const s = harness('fs').store;
    await s.put('nested/leaf', 'file');
    await expect(s.put('nested/leaf/child', 'x')).rejects.toThrow(/"nested\/leaf\/child".*parent of it is an artifact/);
  });
});

describe('s3 artifact store', () => {
  it('pages through listings (page size 2)', async () => {
    const s = harness('s3').store;
    const keys = Array.from({ length: 7 }, (_, i) => `paged/${String(i).padStart(2, '0')}.txt`);
    await Promise.all(keys.map((key) => s.put(key, key)));
    expect(await s.list('paged/')).toEqual(keys);
  });

  it('detects an object overwritten without checksum metadata', async () => {
    const s = harness('s3').store;
    await s.put('corrupt/no-metadata.txt', 'original');
    await rawS3?.send(new PutObjectCommand({ Bucket: bucket, Key: `${s3Prefix}/corrupt/no-metadata.txt`, Body: 'replaced' }));
    await expect(s.get('corrupt/no-metadata.txt')).rejects.toMatchObject({ name: 'ArtifactChecksumError', expected: null });
    // A put does not treat a foreign object as an artifact.
    await expect(s.put('corrupt/no-metadata.txt', 'replaced')).rejects.toThrow(/without sha256 metadata/);
  });

  it('keeps credentials out of error messages', async () => {
    if (minio === undefined) throw new Error('minio not started');
    const wrongSecret = 'definitely-wrong-secret-value';
    const badStore = new S3ArtifactStore({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      bucket,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: wrongSecret },
    });
    try {
      const error: unknown = await badStore.put('auth/x.txt', 'x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      const message = error instanceof Error ? error.message : '';
      expect(message).toMatch(/S3 HeadObject "auth\/x\.txt" in s3:\/\/blockscope-test\/@http:\/\/127\.0\.0\.1:\d+ failed: .*HTTP 403/);
      expect(message).not.toContain(wrongSecret);
      expect(message).not.toContain(minio.accessKeyId);
    } finally {
      badStore.close();
    }
  });

  it('names a missing bucket', async () => {
    if (minio === undefined) throw new Error('minio not started');
    const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
    const noBucket = new S3ArtifactStore({ endpoint: minio.endpoint, region: 'us-east-1', bucket: 'no-such-bucket', credentials });
    try {
      await expect(noBucket.put('a.txt', 'a')).rejects.toThrow(/NoSuchBucket.*ensureBucket/);
    } finally {
      noBucket.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Configuration

describe('store configuration', () => {
  it('reads fs and s3 stores from the environment', () => {
    expect(storeConfigFromEnv({ BLOCKSCOPE_STORE: 'fs:///var/lib/blockscope' })).toEqual({ kind: 'fs', root: '/var/lib/blockscope' });
    expect(storeConfigFromEnv({ BLOCKSCOPE_STORE: 's3://artifacts/studies/v1/', BLOCKSCOPE_S3_ENDPOINT: 'http://127.0.0.1:9000' })).toEqual({
      kind: 's3',
      bucket: 'artifacts',
      prefix: 'studies/v1',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
    });
    expect(storeConfigFromEnv({ BLOCKSCOPE_STORE: 's3://artifacts', AWS_REGION: 'eu-west-1' })).toEqual({ kind: 's3', bucket: 'artifacts', region: 'eu-west-1' });
  });

  it('rejects bad settings, naming the variable and what is allowed', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{}, /BLOCKSCOPE_STORE is not set; expected fs:\/\/\/absolute\/path or s3:\/\/bucket/],
      [{ BLOCKSCOPE_STORE: 'gs://bucket' }, /BLOCKSCOPE_STORE has scheme "gs:"; allowed schemes are fs: and s3:/],
      [{ BLOCKSCOPE_STORE: 'fs://relative/path' }, /BLOCKSCOPE_STORE .* must name an absolute path/],
      [{ BLOCKSCOPE_STORE: 'not a url' }, /BLOCKSCOPE_STORE is not a URL/],
      [{ BLOCKSCOPE_STORE: 's3://Bad_Bucket' }, /BLOCKSCOPE_STORE \(bucket\) must be an S3 bucket name/],
      [{ BLOCKSCOPE_STORE: 's3://ok-bucket/a%20b' }, /BLOCKSCOPE_STORE \(prefix\): invalid artifact key "a b"/],
      [{ BLOCKSCOPE_STORE: 's3://ok-bucket', BLOCKSCOPE_S3_ENDPOINT: 'ftp://host' }, /BLOCKSCOPE_S3_ENDPOINT must use http or https/],
      [{ BLOCKSCOPE_STORE: 's3://ok-bucket', AWS_REGION: 'US East' }, /AWS_REGION must look like "us-east-1"/],
    ];
    for (const [env, message] of bad) expect(() => storeConfigFromEnv(env), JSON.stringify(env)).toThrow(message);

    let credentialError: unknown;
    try {
      storeConfigFromEnv({ BLOCKSCOPE_STORE: 's3://key:hunter22@ok-bucket/p' });
    } catch (error) {
      credentialError = error;
    }
    expect(credentialError).toBeInstanceOf(StoreConfigError);
    expect(String(credentialError)).toMatch(/must not contain credentials/);
    expect(String(credentialError)).not.toContain('hunter22');
  });

  it('opens stores from a config and checks it', () => {
    expect(openArtifactStore({ kind: 'fs', root: '/tmp/x' }).describe()).toBe('fs:/tmp/x');
    const s3 = openArtifactStore(
      { kind: 's3', bucket: 'artifacts', prefix: 'p', endpoint: 'http://127.0.0.1:9000' },
      { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-example-key' } },
    );
    expect(s3.describe()).toBe('s3://artifacts/p@http://127.0.0.1:9000');
    if (s3 instanceof S3ArtifactStore) s3.close();
    expect(() => openArtifactStore({ kind: 's3', bucket: 'artifacts' }, { env: {} })).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(() => openArtifactStore({ kind: 'fs', root: 'relative' })).toThrow(/store\.root must be an absolute directory path/);
    const unknownKind: unknown = { kind: 'gcs' };
    expect(() => openArtifactStore(unknownKind as { kind: 'fs'; root: string })).toThrow(/store\.kind must be "fs" or "s3", got "gcs"/);
  });
});
