/**
 * `arch import --format ofa-net-config`: OFA's 50 published specialized nets (third-party data, read in place from
 * ../shared/realdata/ofa-specialized, see its README) imported into ofa-mbv3 (and proxylessnas): exactly the members
 * import, every other net is refused with its reason; the command end to end in a child process.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { architectureCounts, buildNetwork, importOfaNetConfig, ofaRunConfigResolution, SpaceValidationError, type MbArchitecture } from '../pipelines/spaces/index.js';
import { tempDir } from './helpers/study.js';

import { realData } from './helpers/realdata.js';
const ROOT = realData('ofa-specialized');
const BIN = resolve(import.meta.dirname, '../bin/blockscope.mjs');
const run = promisify(execFile);

interface NetConfigJson {
  name: string;
  first_conv: { out_channels: number };
  blocks: { mobile_inverted_conv: { in_channels: number; out_channels: number; expand_ratio: number; mid_channels: number | null; use_se: boolean } }[];
}

const netConfig = (name: string) => JSON.parse(readFileSync(join(ROOT, name, 'net.config'), 'utf8')) as NetConfigJson;
const runResolution = (name: string) => ofaRunConfigResolution(JSON.parse(readFileSync(join(ROOT, name, 'run.config'), 'utf8')));

function importNet(name: string, space = 'ofa-mbv3', resolution?: number): MbArchitecture {
  return importOfaNetConfig(space, { net: netConfig(name), resolution: resolution ?? runResolution(name), resolutionSource: resolution ? '--resolution' : undefined });
}

/** The refusal's message (the test fails if the net imports). */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SpaceValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal, but the net imported');
}

const W12_AT_224 = ['flops-389M_top1-79.1_finetune-75', 'flops-482M_top1-79.6_finetune-75', 'note10_lat-30ms_top1-78.4_finetune-75', 'pixel1_lat-79ms_top1-78.7_finetune-75'];
const W12_ELSEWHERE: Record<string, number> = {
  'flops-595M_top1-80.0_finetune-75': 236,
  'note10_lat-41ms_top1-79.3_finetune-75': 220,
  'note10_lat-50ms_top1-79.7_finetune-75': 220,
  'note10_lat-64ms_top1-80.2_finetune-75': 260,
  'pixel1_lat-132ms_top1-79.8_finetune-75': 228,
  'pixel1_lat-143ms_top1-80.1_finetune-75': 240,
};
const NOTE10_30MS = 'note10_lat-30ms_top1-78.4_finetune-75';

describe("OFA's published specialized nets into ofa-mbv3", () => {
  const names = readdirSync(ROOT).sort();
  const w12 = names.filter((n) => netConfig(n).name === 'MobileNetV3' && netConfig(n).first_conv.out_channels === 24);
  const w10 = names.filter((n) => netConfig(n).name === 'MobileNetV3' && netConfig(n).first_conv.out_channels === 16);
  const proxyless = names.filter((n) => netConfig(n).name === 'ProxylessNASNets');

  it('holds 50 nets: 10 MobileNetV3 w1.2, 24 MobileNetV3 w1.0, 16 ProxylessNAS', () => {
    expect([names.length, w12.length, w10.length, proxyless.length]).toEqual([50, 10, 24, 16]);
    expect(w12.filter((n) => runResolution(n) === 224)).toEqual(W12_AT_224);
  });

  it('imports exactly the four w1.2 nets at 224, each with every block of its net.config', () => {
    const imported = names.filter((name) => {
      try {
        importNet(name);
        return true;
      } catch (error) {
        if (error instanceof SpaceValidationError) return false;
        throw error;
      }
    });
    expect(imported).toEqual(W12_AT_224);
    for (const name of W12_AT_224) {
      const arch = importNet(name);
      const blocks = netConfig(name).blocks;
      expect(arch.resolution).toBe(224);
      // The first block (e1k3) is fixed in the space; the units hold the rest.
      expect(1 + arch.units.flat().length).toBe(blocks.length);
      const network = buildNetwork(arch).blocks.filter((b) => b.descriptor.type === 'first' || b.descriptor.type === 'mbconv');
      expect(network.map((b) => b.descriptor.mid)).toEqual(blocks.map((b) => b.mobile_inverted_conv.mid_channels ?? b.mobile_inverted_conv.in_channels));
    }
    expect(importNet(NOTE10_30MS)).toEqual({
      space: 'ofa-mbv3',
      resolution: 224,
      units: [
        ['e3k3', 'e3k3'],
        ['e4k5', 'e3k3', 'e4k3'],
        ['e4k5', 'e4k5', 'e3k3'],
        ['e6k3', 'e4k3', 'e4k3'],
        ['e6k3', 'e6k3', 'e4k3', 'e3k3'],
      ],
    });
  });

  it('counts the MACs the flops-389M and flops-482M names publish', () => {
    // blockscope counts MACs as OFA's profiler does (every convolution, SE included, and the classifier), so the
    // published figure is the count rounded to whole millions: 389,487,856 and 482,413,168 here. Within 0.5M is a
    // tolerance of 0.13% and 0.10%, below the smallest layer a mismatch could drop (the classifier, 1.5M).
    const macs = (name: string) => architectureCounts(importNet(name)).macs;
    expect(Math.abs(macs('flops-389M_top1-79.1_finetune-75') - 389e6)).toBeLessThan(0.5e6);
    expect(Math.abs(macs('flops-482M_top1-79.6_finetune-75') - 482e6)).toBeLessThan(0.5e6);
  });

  it('refuses the other six w1.2 nets for their resolution, and imports them with a --resolution override', () => {
    expect(w12.filter((n) => !W12_AT_224.includes(n))).toEqual(Object.keys(W12_ELSEWHERE));
    for (const [name, resolution] of Object.entries(W12_ELSEWHERE)) {
      expect(runResolution(name)).toBe(resolution);
      expect(refusal(() => importNet(name))).toBe(
        `run.config image_size: resolution ${resolution} is not in ofa-mbv3 (160, 176, 192, 208, 224); every block and width matches, only the resolution is outside the space`,
      );
      const arch = importNet(name, 'ofa-mbv3', 224);
      expect(arch.resolution).toBe(224);
      expect(1 + arch.units.flat().length).toBe(netConfig(name).blocks.length);
    }
  });

  it('refuses the 24 w1.0 nets naming the stem width, and the 16 ProxylessNAS nets for their structure', () => {
    for (const name of w10) expect(refusal(() => importNet(name, 'ofa-mbv3', 224))).toBe('first_conv: stem width 16, ofa-mbv3 has 24 (a MobileNetV3 w1.0 net; ofa-mbv3 is w1.2)');
    for (const name of proxyless) {
      expect(refusal(() => importNet(name, 'ofa-mbv3', 224))).toBe(
        "head: this ProxylessNASNets net's head is a feature mix to 1664 only (no final_expand_layer), ofa-mbv3's expands to 1152 before a feature mix to 1536: a different network structure",
      );
    }
  });

  it('imports the ProxylessNAS nets into proxylessnas (OFA-ProxylessNAS w1.3): two at their own resolution, all at 224', () => {
    const atOwn = proxyless.filter((name) => {
      try {
        importNet(name, 'proxylessnas');
        return true;
      } catch (error) {
        expect((error as Error).message).toMatch(/^run\.config image_size: resolution \d+ is not in proxylessnas/);
        return false;
      }
    });
    expect(atOwn.map((n) => [n, runResolution(n)])).toEqual([
      ['cpu_lat-17ms_top1-75.7_finetune-25', 208],
      ['v100_gpu64-11ms_top1-76.1_finetune-25', 192],
    ]);
    for (const name of proxyless) expect(1 + importNet(name, 'proxylessnas', 224).units.flat().length).toBe(netConfig(name).blocks.length);
    expect(refusal(() => importNet(NOTE10_30MS, 'proxylessnas'))).toMatch(
      /^head: this MobileNetV3 net's head expands to 1152 \(final_expand_layer\) before a feature mix to 1536, proxylessnas's is a feature mix to 1664 only/,
    );
  });

  it('refuses an edited net naming the block and the field', () => {
    const edited = (edit: (net: NetConfigJson) => void) => {
      const net = netConfig(NOTE10_30MS);
      edit(net);
      return () => importOfaNetConfig('ofa-mbv3', { net, resolution: 224 });
    };
    // blocks[5] is unit 1's third layer; unit 1 has SE in ofa-mbv3.
    expect(refusal(edited((net) => (net.blocks[5]!.mobile_inverted_conv.use_se = false)))).toBe("blocks[5]: se 0, ofa-mbv3's unit 1 layer 2 has se 1");
    // unit 0 has none.
    expect(refusal(edited((net) => (net.blocks[2]!.mobile_inverted_conv.use_se = true)))).toBe("blocks[2]: se 1, ofa-mbv3's unit 0 layer 1 has se 0");
    expect(
      refusal(
        edited((net) => {
          const conv = net.blocks[2]!.mobile_inverted_conv;
          conv.mid_channels = 100;
        }),
      ),
    ).toBe("blocks[2]: mid channels 100, ofa-mbv3's unit 0 layer 1 has mid channels 96");
    expect(refusal(edited((net) => net.blocks.splice(8, 0, structuredClone(net.blocks[8]!), structuredClone(net.blocks[8]!))))).toBe(
      "unit 2 (blocks[6..10]): 5 layers, ofa-mbv3's unit 2 has 2 to 4",
    );
    expect(
      refusal(
        edited((net) => {
          const conv = net.blocks[2]!.mobile_inverted_conv;
          [conv.expand_ratio, conv.mid_channels] = [2, 64];
        }),
      ),
    ).toBe("blocks[2]: e2k3 (expand_ratio 2, kernel_size 3) is not a block of ofa-mbv3's unit 0; allowed: e3k3, e3k5, e3k7, e4k3, e4k5, e4k7, e6k3, e6k5, e6k7");
    expect(refusal(edited((net) => (net.blocks[3]!.mobile_inverted_conv.in_channels = 40)))).toBe(
      'blocks[3].mobile_inverted_conv.in_channels: 40 input channels, but blocks[2].mobile_inverted_conv outputs 32',
    );
    expect(refusal(edited((net) => delete (net as Partial<NetConfigJson>).blocks))).toBe('blocks: expected array');
  });

  describe('blockscope arch import', () => {
    let dir: string;
    const blockscope = async (args: string[]) => {
      try {
        const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const importArgs = (file: string, ...more: string[]) => ['arch', 'import', '--format', 'ofa-net-config', '--space', 'ofa-mbv3', file, ...more];

    beforeAll(() => {
      dir = tempDir('ofa-import');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('prints the architecture JSON, which arch stats accepts, from net.config or its folder', async () => {
      const fromFolder = await blockscope(importArgs(join(ROOT, NOTE10_30MS)));
      const fromFile = await blockscope(importArgs(join(ROOT, NOTE10_30MS, 'net.config')));
      expect(fromFolder.code, fromFolder.stderr).toBe(0);
      expect(fromFile.stdout).toBe(fromFolder.stdout);
      expect(fromFolder.stdout.split('\n')).toHaveLength(2);
      const arch = JSON.parse(fromFolder.stdout) as MbArchitecture;
      expect(arch).toEqual(importNet(NOTE10_30MS));
      const stats = await blockscope(['arch', 'stats', '--space', 'ofa-mbv3', '--arch', fromFolder.stdout.trim()]);
      expect(stats.code, stats.stderr).toBe(0);
      expect((JSON.parse(stats.stdout) as { macs: number }).macs).toBe(architectureCounts(arch).macs);

      const overridden = await blockscope(importArgs(join(ROOT, 'pixel1_lat-143ms_top1-80.1_finetune-75'), '--resolution', '224'));
      expect(overridden.code, overridden.stderr).toBe(0);
      expect(JSON.parse(overridden.stdout)).toMatchObject({ space: 'ofa-mbv3', resolution: 224 });
    });

    /** Each command exits 2 with nothing on stdout and one line on stderr, matching its pattern. */
    const expectRefused = async (cases: [string[], RegExp][]) => {
      for (const [args, stderr] of cases) {
        const outcome = await blockscope(args);
        expect(outcome.code, outcome.stderr).toBe(2);
        expect(outcome.stdout).toBe('');
        expect(outcome.stderr).toMatch(stderr);
        expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
      }
    };

    it('exits 2 with the reason for a net that is not in the space', async () => {
      await expectRefused([
        [
          importArgs(join(ROOT, 'note10_lat-8ms_top1-71.4_finetune-25')),
          /^blockscope: FILE: .*note10_lat-8ms.*\/net\.config is not in ofa-mbv3: first_conv: stem width 16, ofa-mbv3 has 24 \(a MobileNetV3 w1\.0 net; ofa-mbv3 is w1\.2\)\n$/,
        ],
        [
          importArgs(join(ROOT, 'v100_gpu64-5ms_top1-71.6_finetune-25')),
          /^blockscope: FILE: .* is not in ofa-mbv3: head: this ProxylessNASNets net's head is a feature mix to 1664 only/,
        ],
        [
          importArgs(join(ROOT, 'flops-595M_top1-80.0_finetune-75')),
          /^blockscope: FILE: .* is not in ofa-mbv3: run\.config image_size: resolution 236 is not in ofa-mbv3 \(160, 176, 192, 208, 224\).*\(--resolution imports the same blocks at one of them\)\n$/,
        ],
      ]);
    });

    it('exits 2 naming the block of an edited net.config, and run.config when it is missing', async () => {
      const net = netConfig(NOTE10_30MS);
      net.blocks[5]!.mobile_inverted_conv.use_se = false;
      writeFileSync(join(dir, 'edited.config'), JSON.stringify(net));
      await expectRefused([
        [
          importArgs(join(dir, 'edited.config'), '--resolution', '224'),
          /^blockscope: FILE: .*edited\.config is not in ofa-mbv3: blocks\[5\]: se 0, ofa-mbv3's unit 1 layer 2 has se 1\n$/,
        ],
        [importArgs(join(dir, 'edited.config')), /^blockscope: FILE: cannot read .*run\.config \(ENOENT\) \(or give --resolution\)\n$/],
      ]);
    });

    it('exits 2 for a file it cannot read or parse', async () => {
      await expectRefused([
        [importArgs(join(dir, 'missing')), /^blockscope: FILE: cannot read .*missing \(ENOENT\)\n$/],
        [importArgs(dir), /^blockscope: FILE: cannot read .*net\.config \(ENOENT\)\n$/],
        [importArgs(join(ROOT, '..', 'README.md')), /^blockscope: FILE: .*README\.md is not valid JSON: /],
      ]);
    });
  });
});
