/**
 * Figure 5, study throughput: architectures measured per hour on this machine for each space at 224, the
 * NASWOT proxy's time per architecture (a study scores every architecture too), and from both the projected
 * wall time of each paper-scale preset.
 */
import { createAccuracyScorer, OnnxThread } from '../../activities/accuracy/index.js';
import { loadSpec } from '../../cli/spec-file.js';
import { searchBudget } from '../../pipelines/study/spec.js';
import { sampleArchitectures } from '../../pipelines/sampling.js';
import { originalSpace, type SpaceId } from '../../pipelines/spaces/index.js';
import { planStudy } from '../../pipelines/study/plan.js';
import { mean, median } from '../../pipelines/stats.js';
import type { BenchContext, TimedMeasurement } from '../context.js';
import { formatMs } from '../results.js';
import type { Figure } from './figure.js';

const PRESETS: { preset: string; space: SpaceId }[] = [
  { preset: 'paper-ofa-mbv3', space: 'ofa-mbv3' },
  { preset: 'paper-proxylessnas', space: 'proxylessnas' },
  { preset: 'paper-resnet50', space: 'resnet50' },
];
/** The study default (accuracy.proxyBatch), which the paper presets keep. */
const PROXY_BATCH = 16;

interface SpaceThroughput {
  space: SpaceId;
  archs: number;
  /** Mean wall time of one measurement in the steady state (the measurer's child process already running). */
  latencyMsPerArch: number;
  medianRunMs: number;
  archsPerHour: number;
  proxyArchs: number;
  proxyMsPerArch: number;
  /** Measured and proxy-scored, one after the other as a study does on one host. */
  studiedPerHour: number;
}

interface PresetProjection {
  preset: string;
  architectures: number;
  profilingMs: number;
  /** Upper bound: every search evaluation a new proxy score (memoisation and the cache only lower it). */
  searchEvaluations: number;
  searchMs: number;
  totalMs: number;
}

async function measureSpace(ctx: BenchContext, space: SpaceId, count: number): Promise<TimedMeasurement[]> {
  if (space === 'ofa-mbv3') {
    // The pool's first call also started the child process: leave it out of the steady state.
    const pool = await ctx.mbv3Pool(Math.max(count, 2));
    return pool.slice(1);
  }
  const out: TimedMeasurement[] = [];
  for (const arch of sampleArchitectures(originalSpace(space), count, 'bench', 224)) out.push(await ctx.measureOnPoolDevice(arch));
  return out;
}

async function proxyTimes(ctx: BenchContext, space: SpaceId, count: number, thread: OnnxThread): Promise<number[]> {
  const scorer = createAccuracyScorer({ source: 'naswot-proxy', proxyBatch: PROXY_BATCH, seed: 0 }, ctx.freshStore(`proxy-${space}`), { thread });
  const times: number[] = [];
  for (const arch of sampleArchitectures(originalSpace(space), count, 'bench', 224)) {
    const started = performance.now();
    await scorer.score(arch);
    times.push(performance.now() - started);
  }
  await scorer.close();
  return times;
}

export const throughput: Figure = {
  id: 'throughput',
  number: 5,
  title: 'Study throughput',
  async run(ctx) {
    const counts: Record<SpaceId, number> = { 'ofa-mbv3': ctx.sizes.fidelityArchs, proxylessnas: ctx.sizes.proxylessArchs, resnet50: ctx.sizes.resnetArchs };
    const thread = new OnnxThread();
    const spaces: SpaceThroughput[] = [];
    try {
      // Start the proxy's worker thread (and load onnxruntime in it) before anything is timed.
      await proxyTimes(ctx, 'ofa-mbv3', 1, thread);
      for (const space of ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const) {
        const measured = await measureSpace(ctx, space, counts[space]);
        const proxy = await proxyTimes(ctx, space, ctx.sizes.proxyArchs, thread);
        const latencyMsPerArch = mean(measured.map((m) => m.wallMs));
        const proxyMsPerArch = mean(proxy);
        spaces.push({
          space,
          archs: measured.length,
          latencyMsPerArch,
          medianRunMs: median(measured.map((m) => m.measurement.medianMs)),
          archsPerHour: 3_600_000 / latencyMsPerArch,
          proxyArchs: proxy.length,
          proxyMsPerArch,
          studiedPerHour: 3_600_000 / (latencyMsPerArch + proxyMsPerArch),
        });
        ctx.log(`throughput: ${space} ${formatMs(latencyMsPerArch)} per measurement, ${formatMs(proxyMsPerArch)} per proxy score`);
      }
    } finally {
      await thread.close();
    }

    const projections: PresetProjection[] = PRESETS.map(({ preset, space }) => {
      const spec = loadSpec(preset);
      const rate = spaces.find((s) => s.space === space)!;
      const architectures = planStudy(spec).architectures.length;
      const { seeds, objectives } = spec.search;
      const searchEvaluations = objectives.reduce((acc, objective) => {
        const budget = searchBudget(spec.search, objective);
        return acc + seeds * spec.search.spaces.length * (budget.initialSize + budget.iterations * budget.budgetPerIteration);
      }, 0);
      const profilingMs = architectures * (rate.latencyMsPerArch + rate.proxyMsPerArch);
      const searchMs = searchEvaluations * rate.proxyMsPerArch;
      return { preset, architectures, profilingMs, searchEvaluations, searchMs, totalMs: profilingMs + searchMs };
    });

    const days = (ms: number) => `${(ms / 86_400_000).toFixed(1)} days`;
    return {
      method: [
        `Latency: random architectures of each space at 224 (seed "bench": ${spaces.map((s) => `${s.archs} ${s.space}`).join(', ')}) measured one after the other with the cpu-local device and its default protocol; time per architecture = mean wall time around measure() with the child process already running (the pool's first call, which starts it, is left out); per hour = 3600 s / that.`,
        `Proxy: ${ctx.sizes.proxyArchs} architectures per space scored with createAccuracyScorer(naswot-proxy, proxyBatch ${PROXY_BATCH}, 1 intra-op thread) on a fresh cache, its worker thread started beforehand; mean wall time per score.`,
        'Projection per paper preset: A = distinct architectures of planStudy(loadSpec(preset)); profiling = A × (latency + proxy time per architecture), since the accuracy campaign and the cpu-local campaign run one after the other on this host.',
        "Search (upper bound) = Σ over objectives of seeds × the spec's search spaces (arms) × (initialSize + iterations × budgetPerIteration) evaluations, each objective with its own budget (searchBudget: the paper's 100 + 10 × 200 for Pareto, 20 + 4 × 50 for max-accuracy), × proxy time; the latency predictor is negligible; re-measuring the final fronts is left out. Total = profiling + search.",
      ],
      checks: [],
      headlines: [
        ...spaces.map((s) => ({
          label: `${s.space} at 224`,
          value: `${Math.round(s.archsPerHour)} archs/h measured (${formatMs(s.latencyMsPerArch)} each, median run ${formatMs(s.medianRunMs)}); proxy ${formatMs(s.proxyMsPerArch)} each; ${Math.round(s.studiedPerHour)} archs/h measured and scored`,
        })),
        ...projections.map((p) => ({
          label: `${p.preset} projected`,
          value: `${days(p.totalMs)} (${p.architectures} archs: profiling ${days(p.profilingMs)}; search ≤ ${p.searchEvaluations} evaluations, ${days(p.searchMs)})`,
        })),
      ],
      summary: [
        { label: 'archs measured per hour at 224', value: spaces.map((s) => `${s.space} ${Math.round(s.archsPerHour)}`).join(', ') },
        { label: 'paper presets, projected wall time', value: projections.map((p) => `${p.preset.replace('paper-', '')} ${days(p.totalMs)}`).join(', ') },
      ],
      notes: ['Throughput depends on the host load during the run (see the load averages): the cpu-local protocol takes more runs when the timings are noisy.'],
      details: { proxyBatch: PROXY_BATCH, spaces, projections },
    };
  },
};
