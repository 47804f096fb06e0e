/**
 * What the figures share within one bench run: the mode's sizes, a scratch folder, and the pool of
 * OFA-MobileNetV3 architectures measured at 224 with the cpu-local protocol (figures 1, 3, 5 and 6 read
 * the same measurements instead of taking them again).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPU_LOCAL, createMeasurer, onnxRuntimeDevice, type LatencyMeasurement, type Measurer, type OnnxRuntimeDevice } from '../activities/devices/index.js';
import { FsArtifactStore } from '../activities/storage/index.js';
import { sampleArchitectures } from '../pipelines/sampling.js';
import { originalSpace, type Architecture } from '../pipelines/spaces/index.js';
import type { FigureId, FigureResult } from './results.js';

export interface BenchSizes {
  /** Figures 1 and 3: architectures measured in each of the two passes. */
  fidelityArchs: number;
  /** Figure 3: the first architectures measured in two more passes with the reference-normalised protocol. */
  referenceArchs: number;
  /** Figure 3: architectures also measured with two intra-op threads (0: skipped). */
  threadVariantArchs: number;
  /** Figure 1: architectures also measured with a fixed 50-run protocol. */
  fixedRunArchs: number;
  /** Figure 2: models, timed runs per model and alternating rounds. */
  fairnessModels: number;
  fairnessRuns: number;
  fairnessRounds: number;
  /** Figure 4: architectures per study, their resolution, and repetitions of each side. */
  orchestrationArchs: number;
  orchestrationResolution: number;
  orchestrationReps: number;
  /** Figure 5: architectures of the other spaces, and proxy-scored architectures per space. */
  proxylessArchs: number;
  resnetArchs: number;
  proxyArchs: number;
  /** Figure 6: measured architectures; every fifth (by hash) is held out. */
  predictorArchs: number;
  /** Figure 6: the same architectures labelled by the reference-normalised protocol (0: skipped). */
  predictorNormalisedArchs: number;
  /** Figure 8: random architectures in each of the two shared-random studies, their resolution, and whether to repeat them with protocol.reference 'interleaved'. */
  profiles: { archs: number; resolution: number; interleaved: boolean };
  /** Figure 9: samples per spec of the kernel-bound device's block-fixed profile, and cpu-local's shared-random architectures. */
  pruning: { samplesPerSpec: number; archs: number };
  /** Figure 7: the profiling plan and the search budget. */
  search: {
    resolution: number;
    blocks: string[];
    samplesPerSpec: number;
    baselineSamples: number;
    proxyBatch: number;
    seeds: number;
    initialSize: number;
    iterations: number;
    budgetPerIteration: number;
  };
}

/** The demo preset's twelve block specifications: kernel and expand extremes in the first and last unit. */
const DEMO_BLOCKS = [
  'u0.l0.e3k3',
  'u0.l0.e3k7',
  'u0.l0.e6k3',
  'u0.l0.e6k7',
  'u4.l0.e3k3',
  'u4.l0.e3k7',
  'u4.l0.e6k3',
  'u4.l0.e6k7',
  'u2.l3.e3k3',
  'u2.l3.e6k7',
  'u4.l3.e3k3',
  'u4.l3.e6k7',
];

export const SIZES: Record<'quick' | 'full', BenchSizes> = {
  quick: {
    fidelityArchs: 24,
    referenceArchs: 6,
    threadVariantArchs: 0,
    fixedRunArchs: 3,
    fairnessModels: 4,
    fairnessRuns: 20,
    fairnessRounds: 2,
    orchestrationArchs: 8,
    orchestrationResolution: 160,
    orchestrationReps: 2,
    proxylessArchs: 2,
    resnetArchs: 1,
    proxyArchs: 1,
    predictorArchs: 36,
    predictorNormalisedArchs: 0,
    profiles: { archs: 200, resolution: 160, interleaved: false },
    pruning: { samplesPerSpec: 20, archs: 250 },
    search: {
      resolution: 160,
      blocks: ['u0.l0.e3k3', 'u0.l0.e6k7', 'u4.l0.e3k3', 'u4.l0.e6k7'],
      samplesPerSpec: 2,
      baselineSamples: 4,
      proxyBatch: 8,
      seeds: 2,
      initialSize: 6,
      iterations: 2,
      budgetPerIteration: 4,
    },
  },
  full: {
    fidelityArchs: 50,
    referenceArchs: 50,
    threadVariantArchs: 6,
    fixedRunArchs: 8,
    fairnessModels: 8,
    fairnessRuns: 50,
    fairnessRounds: 2,
    orchestrationArchs: 30,
    orchestrationResolution: 224,
    orchestrationReps: 2,
    proxylessArchs: 8,
    resnetArchs: 4,
    proxyArchs: 3,
    predictorArchs: 100,
    predictorNormalisedArchs: 100,
    profiles: { archs: 500, resolution: 160, interleaved: true },
    pruning: { samplesPerSpec: 100, archs: 500 },
    search: {
      resolution: 160,
      blocks: DEMO_BLOCKS,
      samplesPerSpec: 3,
      baselineSamples: 12,
      proxyBatch: 8,
      seeds: 3,
      initialSize: 12,
      iterations: 3,
      budgetPerIteration: 12,
    },
  },
};

/** One architecture measured through the device backend, with the wall time around `measure()`. */
export interface TimedMeasurement {
  arch: Architecture;
  measurement: LatencyMeasurement;
  wallMs: number;
}

export async function timedMeasure(measurer: Measurer, arch: Architecture): Promise<TimedMeasurement> {
  const started = performance.now();
  const measurement = await measurer.measure(arch);
  const wallMs = performance.now() - started;
  if (measurement.fromCache) throw new Error(`bench: ${measurement.archHash} came from the cache; every figure must measure`);
  return { arch, measurement, wallMs };
}

/** A cpu-local twin (same threads and spinning) with its own id, so its protocol and lock are its own. */
export function cpuLocalVariant(id: string, changes: Pick<Partial<OnnxRuntimeDevice>, 'protocol' | 'threads'>): OnnxRuntimeDevice {
  return onnxRuntimeDevice({
    id,
    description: 'bench variant of cpu-local',
    threads: changes.threads ?? CPU_LOCAL.threads,
    allowSpinning: CPU_LOCAL.allowSpinning,
    protocol: changes.protocol ?? CPU_LOCAL.protocol,
  });
}

export type Log = (message: string) => void;

export class BenchContext {
  readonly sizes: BenchSizes;
  readonly workDir: string;
  /** Results of figures already run in this run, for cross-references (e.g. the measurement noise floor). */
  readonly results = new Map<FigureId, FigureResult>();
  private readonly pool: TimedMeasurement[] = [];
  private poolMeasurer: Measurer | undefined;
  private readonly normalisedPoolList: TimedMeasurement[] = [];
  private normalised: Measurer | undefined;
  private scratchCount = 0;

  constructor(
    readonly mode: 'quick' | 'full',
    readonly log: Log,
  ) {
    this.sizes = SIZES[mode];
    this.workDir = mkdtempSync(join(tmpdir(), 'blockscope-bench-'));
  }

  /** A fresh folder under the run's scratch folder (a fresh store means no cache hits). */
  scratch(name: string): string {
    const dir = join(this.workDir, `${String(++this.scratchCount).padStart(2, '0')}-${name}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  freshStore(name: string): FsArtifactStore {
    return new FsArtifactStore(this.scratch(name));
  }

  /**
   * The first n random OFA-MobileNetV3 architectures at 224 (seed "bench"), measured once each with the
   * cpu-local device in its own child process and cache, in order; later calls measure only what is missing.
   */
  async mbv3Pool(n: number): Promise<TimedMeasurement[]> {
    this.poolMeasurer ??= createMeasurer(CPU_LOCAL, { cache: this.freshStore('pool-cache') });
    return this.extendPool(this.pool, this.poolMeasurer, n, 'pool');
  }

  /**
   * cpu-local's twin with protocol.reference 'interleaved', one measurer without a cache: every call measures,
   * and its one calibration of the reference serves all its measurements, as a device's stored calibration does.
   */
  normalisedMeasurer(): Measurer {
    this.normalised ??= createMeasurer(cpuLocalVariant('bench-reference', { protocol: { ...CPU_LOCAL.protocol, reference: 'interleaved' } }));
    return this.normalised;
  }

  /** The pool's first n architectures measured once each by normalisedMeasurer(), in order. */
  async normalisedPool(n: number): Promise<TimedMeasurement[]> {
    return this.extendPool(this.normalisedPoolList, this.normalisedMeasurer(), n, 'reference-normalised pool');
  }

  private async extendPool(pool: TimedMeasurement[], measurer: Measurer, n: number, name: string): Promise<TimedMeasurement[]> {
    if (pool.length < n) {
      const archs = sampleArchitectures(originalSpace('ofa-mbv3'), n, 'bench', 224);
      for (let i = pool.length; i < n; i++) {
        pool.push(await timedMeasure(measurer, archs[i]!));
        if ((i + 1) % 10 === 0 || i + 1 === n) this.log(`${name}: ${i + 1}/${n} OFA-MobileNetV3 architectures measured at 224`);
      }
    }
    return pool.slice(0, n);
  }

  /**
   * Measures any architecture on the pool's measurer (cpu-local, its child process already started by the
   * pool), so throughput figures see the steady state rather than a process start.
   */
  async measureOnPoolDevice(arch: Architecture): Promise<TimedMeasurement> {
    await this.mbv3Pool(1);
    return timedMeasure(this.poolMeasurer!, arch);
  }

  async close(): Promise<void> {
    await this.poolMeasurer?.close();
    await this.normalised?.close();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
