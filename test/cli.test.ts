/**
 * The `blockscope` command as a user runs it: the real bin in a child process, real onnxruntime, and the
 * embedded default (dev server, workers, filesystem store) running a small study end to end.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../cli/main.js';
import { freePort } from '../workers/dev-server.js';
import { BIN, blockscope } from './helpers/cli.js';
import { TEST_DEVICE, smallSpec, tempDir, writeTestDevicesFile } from './helpers/study.js';

const MBV3 = JSON.stringify({
  resolution: 160,
  units: [
    ['e3k5', 'e6k5'],
    ['e6k5', 'e4k7', 'e3k5'],
    ['e6k7', 'e4k3'],
    ['e3k3', 'e3k7'],
    ['e3k3', 'e3k5', 'e6k7'],
  ],
});

describe('blockscope CLI', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = tempDir('cli');
    env = { BLOCKSCOPE_STORE: `fs://${join(dir, 'store')}`, BLOCKSCOPE_DEVICES: writeTestDevicesFile(dir) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has --help on every command', async () => {
    const commands: Command[] = [];
    const walk = (command: Command) => {
      for (const sub of command.commands) {
        commands.push(sub);
        walk(sub);
      }
    };
    walk(buildProgram());
    const names = commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['arch', 'sample', 'start', 'worker', 'dev', 'measure', 'lut', 'build', 'insights', 'search', 'accuracy', 'devices']));
    for (const command of commands) {
      expect(command.helpInformation(), command.name()).toMatch(/^Usage: blockscope .*\n\n\S/);
      expect(command.description(), command.name()).not.toBe('');
    }
    // And through the real binary, as a user types it.
    for (const path of [[], ['study', 'start'], ['lut', 'build']]) {
      const outcome = await blockscope([...path, '--help']);
      expect(outcome.code, path.join(' ')).toBe(0);
      expect(outcome.stdout).toMatch(/^Usage: blockscope/);
    }
  });

  it('samples the same architectures for the same seed, in separate processes', async () => {
    const a = await blockscope(['arch', 'sample', '--space', 'proxylessnas', '--count', '5', '--seed', '42']);
    const b = await blockscope(['arch', 'sample', '--space', 'proxylessnas', '--count', '5', '--seed', '42']);
    const c = await blockscope(['arch', 'sample', '--space', 'proxylessnas', '--count', '5', '--seed', '43']);
    expect(a.stdout.trim().split('\n')).toHaveLength(5);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
    const fixed = await blockscope(['arch', 'sample', '--space', 'ofa-mbv3', '--count', '20', '--seed', '1', '--fix', '2,3,e6k7']);
    for (const line of fixed.stdout.trim().split('\n')) expect((JSON.parse(line) as { units: string[][] }).units[2]![3]).toBe('e6k7');
  });

  it.each([
    [
      ['arch', 'sample', '--space', 'mobilenet'],
      /^blockscope: --space: unknown design space "mobilenet"; allowed: ofa-mbv3, proxylessnas, resnet50, or a space definition document \(docs\/spaces\.md\)$/m,
    ],
    [['arch', 'sample', '--space', 'ofa-mbv3', '--count', '0'], /^blockscope: --count: expected an integer from 1 to 1000000, got "0"$/m],
    [['arch', 'sample', '--space', 'ofa-mbv3', '--fix', '7,0,e3k3'], /^blockscope: --fix: not a block specification of ofa-mbv3/m],
    [['arch', 'stats', '--space', 'ofa-mbv3', '--arch', '{"resolution":224,"units":[]}'], /^blockscope: units: expected 5 entries, got 0$/m],
    [['arch', 'stats', '--space', 'ofa-mbv3', '--arch', '{oops'], /^blockscope: --arch: not valid JSON/m],
    [['measure', '--device', 'phone', '--space', 'ofa-mbv3', '--arch', MBV3], /phone.*(cpu-local|known)/],
    [
      ['measure', '--device', TEST_DEVICE, '--space', 'ofa-mbv3', '--arch', MBV3, '--resolution', '220'],
      /^blockscope: --resolution: 220 is not allowed in ofa-mbv3; allowed: 160, 176, 192, 208, 224$/m,
    ],
    [['study', 'start', 'no-such-preset'], /^blockscope: SPEC: "no-such-preset" is neither a preset \(demo, demo-mobilenetv2, paper-ofa-mbv3/m],
    [['insights', '--profile', '/nonexistent.json', '--device', 'x', '--objective', 'pareto', '--out', '/tmp/x.json'], /^blockscope: --profile: cannot read/m],
  ])('rejects bad input with one line naming the argument: %s', async (args, message) => {
    const outcome = await blockscope(args, env);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stderr).not.toMatch(/^\s+at /m);
  });

  it('prints stats and exports a model that onnxruntime runs, with matching MACs', async () => {
    const stats = JSON.parse((await blockscope(['arch', 'stats', '--space', 'ofa-mbv3', '--arch', MBV3])).stdout) as { macs: number; hash: string };
    expect(stats.hash).toMatch(/^[0-9a-f]{64}$/);
    const model = join(dir, 'model.onnx');
    const exported = await blockscope(['arch', 'export', '--space', 'ofa-mbv3', '--arch', MBV3, '--out', model]);
    expect(exported.stderr).toContain(`${stats.macs} MACs`);
    const session = await ort.InferenceSession.create(model);
    const output = await session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 160 * 160).fill(0.5), [1, 3, 160, 160]) });
    expect(output.logits!.dims).toEqual([1, 1000]);
    await session.release();
  });

  it('measures on a device, then answers from the cache', async () => {
    const first = JSON.parse((await blockscope(['measure', '--device', TEST_DEVICE, '--space', 'ofa-mbv3', '--arch', MBV3], env)).stdout) as {
      medianMs: number;
      fromCache: boolean;
      fingerprint: unknown;
    };
    expect(first.fromCache).toBe(false);
    expect(first.medianMs).toBeGreaterThan(0);
    const second = JSON.parse((await blockscope(['measure', '--device', TEST_DEVICE, '--space', 'ofa-mbv3', '--arch', MBV3], env)).stdout) as { medianMs: number; fromCache: boolean };
    expect(second).toMatchObject({ fromCache: true, medianMs: first.medianMs });
    const devices = await blockscope(['devices'], env);
    expect(devices.stdout).toMatch(new RegExp(`^${TEST_DEVICE}\\tonnxruntime\\t[0-9a-f]{12}`, 'm'));
  });

  it("measures with --resolution overriding the architecture's, even one the space does not allow", async () => {
    const file = join(dir, 'arch-r220.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(MBV3) as object), resolution: 220 }));
    const measured = await blockscope(['measure', '--device', TEST_DEVICE, '--space', 'ofa-mbv3', '--resolution', '224', '--arch', `@${file}`], env);
    expect(measured.stderr).not.toMatch(/^blockscope:/m);
    expect(measured.code).toBe(0);
    const stats = JSON.parse((await blockscope(['arch', 'stats', '--space', 'ofa-mbv3', '--arch', JSON.stringify({ ...(JSON.parse(MBV3) as object), resolution: 224 })])).stdout) as {
      hash: string;
    };
    expect(JSON.parse(measured.stdout)).toMatchObject({ resolution: 224, archHash: stats.hash });
  });

  it('scores the NASWOT proxy and names it as a proxy', async () => {
    const scored = JSON.parse((await blockscope(['accuracy', '--source', 'proxy', '--space', 'ofa-mbv3', '--arch', MBV3, '--batch', '8'], env)).stdout) as {
      source: string;
      score: number;
    };
    expect(scored.source).toBe('naswot-proxy');
    expect(Number.isFinite(scored.score)).toBe(true);
  });

  it('runs a study end to end in the embedded default, then derives insights and searches from its artifacts', async () => {
    const home = join(dir, 'home');
    const specFile = join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(smallSpec('cli-e2e')));
    const dev = await blockscope(
      ['dev', '--home', home, '--port', String(await freePort()), '--ui-port', String(await freePort()), '--devices', env.BLOCKSCOPE_DEVICES!, '--run', specFile, '--exit'],
      env,
    );
    expect(dev.code, dev.stderr).toBe(0);
    expect(dev.stderr).toMatch(/Web UI http:\/\/127\.0\.0\.1:\d+/);
    const profileCsv = /profiles: \S+@160: (\S+)/.exec(dev.stderr)![1]!;
    expect(existsSync(/report: (\S+)/.exec(dev.stderr)![1]!)).toBe(true);
    expect(existsSync(profileCsv)).toBe(true);
    const profileJson = profileCsv.replace(/\.csv$/, '.json');

    const spaceFile = join(dir, 'pruned.json');
    const insights = await blockscope(['insights', '--profile', profileJson, '--device', TEST_DEVICE, '--objective', 'pareto', '--out', spaceFile]);
    expect(insights.code, insights.stderr).toBe(0);
    expect(insights.stdout).toMatch(/^- /);
    expect(JSON.parse(readFileSync(spaceFile, 'utf8'))).toMatchObject({ kind: 'blockscope.space/v1', space: 'ofa-mbv3' });

    const predictor = profileJson.replace(/profiles\/.*$/, `predictor/${TEST_DEVICE}.json`);
    const out = join(dir, 'search');
    const search = await blockscope(
      [
        'search',
        '--space',
        'ofa-mbv3',
        '--pruned',
        spaceFile,
        '--paper',
        'npu',
        '--device',
        TEST_DEVICE,
        '--objective',
        'pareto',
        '--budget',
        '3',
        '--iterations',
        '1',
        '--initial',
        '4',
        '--seeds',
        '2',
        '--predictor',
        predictor,
        '--resolution',
        '160',
        '--out',
        out,
      ],
      env,
    );
    expect(search.code, search.stderr).toBe(0);
    expect(search.stdout).toMatch(
      /hypervolume original [\d.]+ ± [\d.]+, \/ original 1\.000\nhypervolume pruned [\d.]+ ± [\d.]+, \/ original [\d.]+\nhypervolume paper:npu [\d.]+ ± [\d.]+, \/ original [\d.]+/,
    );
    for (const f of ['original/seed-1.json', 'original/seed-2.front.csv', 'pruned/seed-2.json', 'paper-npu/seed-1.json', 'comparison.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const npu = JSON.parse(readFileSync(join(out, 'paper-npu/seed-1.json'), 'utf8')) as { front: { arch: { units: string[][] } }[] };
    expect(npu.front.every((e) => e.arch.units.flat().every((b) => !b.endsWith('k7')))).toBe(true);

    // The study survives in the embedded default's SQLite file: start it again and fetch the report.
    const studyId = /study (study-cli-e2e-[0-9a-f]{12})/.exec(dev.stderr)![1]!;
    const port = await freePort();
    const server = spawn(process.execPath, [BIN, 'dev', '--home', home, '--port', String(port), '--ui-port', String(await freePort()), '--devices', env.BLOCKSCOPE_DEVICES!], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await new Promise<void>((ready, fail) => {
        let log = '';
        server.stderr!.on('data', (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes('running; Ctrl-C to stop')) ready();
        });
        server.once('exit', (code) => fail(new Error(`dev exited with ${code}: ${log}`)));
      });
      const reportDir = join(dir, 'report');
      const report = await blockscope(['study', 'report', studyId, '--out', reportDir, '--address', `127.0.0.1:${port}`], { ...env, BLOCKSCOPE_STORE: `fs://${join(home, 'store')}` });
      expect(report.code, report.stderr).toBe(0);
      expect(readFileSync(join(reportDir, 'report.html'), 'utf8')).toContain('<svg');
      expect(existsSync(join(reportDir, 'profiles', TEST_DEVICE, 'r160', 'profile.csv'))).toBe(true);
    } finally {
      server.kill('SIGTERM');
    }
  }, 300_000);
});
