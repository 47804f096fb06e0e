/**
 * The deployment files: docker-compose.yml (main host) and deploy/device-worker.compose.yml (other hosts)
 * validated by Docker Compose itself (`docker compose config` needs no engine), the Dockerfile's essentials,
 * and the example device files through the real device-config loader.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDevices } from '../activities/devices/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const LOCAL_COMPOSE = join(ROOT, '.tools/bin/docker-compose');

/**
 * How to run Compose: the Docker CLI's plugin when there is one, else the project's own build
 * (scripts/install-compose.sh), which runs standalone as `docker-compose`: the tests never depend on Docker.
 */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { env: cleanEnv() }).status === 0) return ['docker', 'compose'];
  if (!existsSync(LOCAL_COMPOSE)) throw new Error(`the Docker CLI has no compose plugin and ${LOCAL_COMPOSE} is missing; run scripts/install-compose.sh`);
  return [LOCAL_COMPOSE];
}

/** A clean environment, so variables of the test run (AWS_*, TEMPORAL_*) cannot leak into the config. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME };
}

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  ports?: { target: number; published: string }[];
  volumes?: { type: string; source: string; target: string; read_only?: boolean }[];
  network_mode?: string;
  profiles?: string[];
  init?: boolean;
}

interface ComposeConfig {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

function composeConfig(file: string, vars: Record<string, string> = {}, flags: string[] = []): { status: number; config: ComposeConfig | null; stderr: string } {
  const [command, ...prefix] = composeCommand();
  const run = spawnSync(command!, [...prefix, '-f', file, ...flags, 'config', '--format', 'json'], { cwd: ROOT, env: { ...cleanEnv(), ...vars }, encoding: 'utf8' });
  return { status: run.status ?? -1, config: run.status === 0 ? (JSON.parse(run.stdout) as ComposeConfig) : null, stderr: run.stderr };
}

describe('docker compose config', () => {
  it('describes the main host: Temporal on PostgreSQL, its UI, MinIO with its bucket, orchestrator and CPU worker', () => {
    const { status, config, stderr } = composeConfig('docker-compose.yml');
    expect(stderr).not.toMatch(/error/i);
    expect(status).toBe(0);
    const services = config!.services;
    expect(Object.keys(services).sort()).toEqual(['device-cpu', 'minio', 'minio-init', 'orchestrator', 'postgresql', 'temporal', 'temporal-ui']);
    // Every image pinned by an exact tag.
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    expect(services['temporal']!.image).toMatch(/^temporalio\/auto-setup:\d+\.\d+\.\d+$/);
    expect(services['temporal']!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(services['temporal']!.depends_on).toEqual({ postgresql: expect.objectContaining({ condition: 'service_healthy' }) });
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(services['temporal-ui']!.environment).toMatchObject({ TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(services['postgresql']!.image).toMatch(/^postgres:\d+\.\d+$/);

    const minio = services['minio']!.environment!;
    const init = services['minio-init']!;
    expect(init.image).toMatch(/^minio\/mc:RELEASE\./);
    // `config` prints the file as compose reads it: "$$" is a literal "$", left to the container's shell.
    expect([...(init.entrypoint ?? []), ...(init.command ?? [])].join(' ')).toContain('mc mb --ignore-existing "local/$$BLOCKSCOPE_BUCKET"');
    expect(init.environment).toMatchObject({ MINIO_ROOT_USER: minio['MINIO_ROOT_USER'], MINIO_ROOT_PASSWORD: minio['MINIO_ROOT_PASSWORD'], BLOCKSCOPE_BUCKET: 'blockscope' });

    for (const [name, command] of [
      ['orchestrator', ['worker', '--orchestrator']],
      ['device-cpu', ['worker', '--device', 'cpu-local']],
    ] as const) {
      const service = services[name]!;
      expect(service.build, name).toMatchObject({ context: ROOT, dockerfile: 'Dockerfile' });
      expect(service.command, name).toEqual(command);
      expect(service.init, name).toBe(true);
      expect(service.environment, name).toEqual({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'default',
        BLOCKSCOPE_STORE: 's3://blockscope',
        BLOCKSCOPE_S3_ENDPOINT: 'http://minio:9000',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: minio['MINIO_ROOT_USER'],
        AWS_SECRET_ACCESS_KEY: minio['MINIO_ROOT_PASSWORD'],
        BLOCKSCOPE_DEVICES: '/config/devices.yaml',
        BLOCKSCOPE_UI_URL: 'http://localhost:8080',
      });
      expect(service.depends_on, name).toMatchObject({ 'minio-init': { condition: 'service_completed_successfully' }, temporal: { condition: 'service_started' } });
      expect(service.volumes, name).toEqual([expect.objectContaining({ type: 'bind', source: join(ROOT, 'deploy/devices.yaml'), target: '/config/devices.yaml', read_only: true })]);
    }
    // Remote device workers need the frontend and the store from outside.
    expect(services['temporal']!.ports).toEqual([expect.objectContaining({ target: 7233, published: '7233' })]);
    expect(services['minio']!.ports).toContainEqual(expect.objectContaining({ target: 9000, published: '9000' }));
  });

  it('takes its settings from the environment, and has the CLI behind a profile', () => {
    const vars = {
      BLOCKSCOPE_BUCKET: 'studies',
      MINIO_ROOT_USER: 'lab',
      MINIO_ROOT_PASSWORD: 's3cret-pass',
      BLOCKSCOPE_DEVICE: 'cpu-4t',
      BLOCKSCOPE_DEVICES_FILE: './deploy/devices.multi-host.yaml',
      TEMPORAL_PORT: '17233',
    };
    const { status, config, stderr } = composeConfig('docker-compose.yml', vars, ['--profile', 'cli']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const services = config!.services;
    expect(services['cli']!.profiles).toEqual(['cli']);
    expect(services['device-cpu']!.command).toEqual(['worker', '--device', 'cpu-4t']);
    expect(services['orchestrator']!.environment).toMatchObject({ BLOCKSCOPE_STORE: 's3://studies', AWS_ACCESS_KEY_ID: 'lab', AWS_SECRET_ACCESS_KEY: 's3cret-pass' });
    expect(services['minio']!.environment).toMatchObject({ MINIO_ROOT_USER: 'lab', MINIO_ROOT_PASSWORD: 's3cret-pass' });
    expect(services['minio-init']!.environment).toMatchObject({ BLOCKSCOPE_BUCKET: 'studies' });
    expect(services['orchestrator']!.volumes![0]!.source).toBe(join(ROOT, 'deploy/devices.multi-host.yaml'));
    expect(services['temporal']!.ports![0]!.published).toBe('17233');
  });

  it('adds a device worker on another host, and says which setting is missing', () => {
    const file = 'deploy/device-worker.compose.yml';
    const missing = composeConfig(file);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/set BLOCKSCOPE_DEVICE|set TEMPORAL_ADDRESS|set BLOCKSCOPE_S3_ENDPOINT|set AWS_/);

    const vars = {
      BLOCKSCOPE_DEVICE: 'pixel7',
      EXTRA_APT_PACKAGES: 'adb',
      TEMPORAL_ADDRESS: 'main-host:7233',
      BLOCKSCOPE_S3_ENDPOINT: 'http://main-host:9000',
      AWS_ACCESS_KEY_ID: 'lab',
      AWS_SECRET_ACCESS_KEY: 's3cret-pass',
    };
    const { status, config, stderr } = composeConfig(file, vars);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const worker = config!.services['device-worker']!;
    expect(worker.build).toMatchObject({ context: ROOT, dockerfile: 'Dockerfile', args: { EXTRA_APT_PACKAGES: 'adb' } });
    expect(worker.command).toEqual(['worker', '--device', 'pixel7']);
    expect(worker.network_mode).toBe('host');
    expect(worker.environment).toMatchObject({
      TEMPORAL_ADDRESS: 'main-host:7233',
      BLOCKSCOPE_STORE: 's3://blockscope',
      BLOCKSCOPE_S3_ENDPOINT: 'http://main-host:9000',
      AWS_ACCESS_KEY_ID: 'lab',
      BLOCKSCOPE_DEVICES: '/config/devices.yaml',
      ADB_SERVER_SOCKET: 'tcp:127.0.0.1:5037',
    });
    expect(worker.volumes![0]).toMatchObject({ source: join(ROOT, 'deploy/devices.multi-host.yaml'), target: '/config/devices.yaml' });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));

  it('pins a Node 20 base image that satisfies package.json engines, and installs with npm ci', () => {
    const from = instructions.filter((line) => line.startsWith('FROM '));
    expect(from).toHaveLength(1);
    const match = /^FROM node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/.exec(from[0]!);
    expect(match, from[0]).not.toBeNull();
    const [major, minor] = [Number(match![1]), Number(match![2])];
    const engines = /^>=(\d+)\.(\d+)/.exec((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node)!;
    expect(major).toBe(20);
    expect(minor).toBeGreaterThanOrEqual(Number(engines[2]));
    expect(dockerfile).toMatch(/^ARG ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(dockerfile).toMatch(/^RUN ONNXRUNTIME_NODE_INSTALL="\$ONNXRUNTIME_NODE_INSTALL" npm ci /m);
  });

  it('runs as a non-root user with the blockscope entry point', () => {
    const users = instructions.filter((line) => line.startsWith('USER '));
    expect(users.at(-1)).toBe('USER node');
    expect(instructions.at(-2)).toBe('ENTRYPOINT ["node", "bin/blockscope.mjs"]');
  });

  it('copies only paths that exist and that .dockerignore keeps', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', '.tools']));
    const sources = instructions.filter((line) => line.startsWith('COPY ')).flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin', 'pipelines']));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });
});

describe('deployment device files', () => {
  it('load with the device-config loader', async () => {
    expect((await loadDevices(join(ROOT, 'deploy/devices.yaml'))).ids()).toEqual(['cpu-local']);
    expect([...(await loadDevices(join(ROOT, 'deploy/devices.multi-host.yaml'))).ids()].sort()).toEqual(['cpu-local', 'pixel7', 'rtx4090']);
  });
});

// The scripts the lead's setup can call are idempotent shell: at least check they parse.
it.each(['scripts/install-chromium.sh', 'scripts/install-compose.sh'])('%s is valid bash', (script) => {
  expect(() => execFileSync('bash', ['-n', join(ROOT, script)])).not.toThrow();
});
