/**
 * Figure 6, latency predictor: the search stage's ridge-regression predictor fitted on measured
 * architectures and scored on held-out ones (MAPE and Kendall tau), with its feature and target options.
 */
import { evaluateLatencyPredictor, fitLatencyPredictor, splitHeldOut, type PredictorOptions } from '../../pipelines/search/index.js';
import { atLeast, atMost, formatPercent } from '../results.js';
import type { Figure } from './figure.js';

const MAPE_TARGET = 0.05;
const TAU_TARGET = 0.9;

const VARIANTS: { name: string; options: PredictorOptions }[] = [
  { name: 'default (structure features, log-latency target)', options: {} },
  { name: 'blocks features', options: { features: 'blocks' } },
  { name: 'latency target (additive, the former default)', options: { target: 'latency' } },
  { name: 'blocks features, latency target', options: { features: 'blocks', target: 'latency' } },
];

export const predictor: Figure = {
  id: 'predictor',
  number: 6,
  title: 'Latency predictor',
  async run(ctx) {
    const pool = await ctx.mbv3Pool(ctx.sizes.predictorArchs);
    const samples = pool.map((m) => ({ arch: m.arch, latencyMs: m.measurement.medianMs }));
    const { train, test } = splitHeldOut(samples);
    const variants = VARIANTS.map(({ name, options }) => ({ name, options, ...evaluateLatencyPredictor(fitLatencyPredictor(train, options), test) }));
    const best = variants[0]!;
    // Diagnostic: the default predictor on each measurement's fastest run, a label host load can only raise.
    const fastest = splitHeldOut(pool.map((m) => ({ arch: m.arch, latencyMs: Math.min(...m.measurement.timingsMs) })));
    const onFastest = evaluateLatencyPredictor(fitLatencyPredictor(fastest.train), fastest.test);
    ctx.log(`predictor: MAPE ${formatPercent(best.mape)}, tau ${best.kendallTau.toFixed(3)} on ${test.length} held out`);
    // The same architectures labelled by the reference-normalised protocol, whose repeat measurements agree far better.
    const normalisedPool = ctx.sizes.predictorNormalisedArchs > 0 ? await ctx.normalisedPool(ctx.sizes.predictorNormalisedArchs) : [];
    const normalisedSplit = splitHeldOut(normalisedPool.map((m) => ({ arch: m.arch, latencyMs: m.measurement.medianMs })));
    const onNormalised = normalisedPool.length > 0 ? evaluateLatencyPredictor(fitLatencyPredictor(normalisedSplit.train), normalisedSplit.test) : undefined;
    if (onNormalised) ctx.log(`predictor: on reference-normalised labels MAPE ${formatPercent(onNormalised.mape)}, tau ${onNormalised.kendallTau.toFixed(3)}`);

    const checks = [
      atMost(`MAPE on ${test.length} held-out archs (trained on ${train.length})`, best.mape, MAPE_TARGET, 'percent'),
      atLeast(`Kendall tau on ${test.length} held-out archs`, best.kendallTau, TAU_TARGET, 'number'),
    ];
    if (onNormalised) {
      checks.push(
        atMost(`MAPE on ${normalisedSplit.test.length} held-out archs, labels from protocol.reference "interleaved"`, onNormalised.mape, MAPE_TARGET, 'percent'),
        atLeast(`Kendall tau on ${normalisedSplit.test.length} held-out archs, labels from protocol.reference "interleaved"`, onNormalised.kendallTau, TAU_TARGET, 'number'),
      );
    }
    // Figure 3 in the same run tells how far two measurements of one architecture already disagree.
    const fidelity = ctx.results.get('fidelity')?.details;
    const noiseFloor = typeof fidelity?.['medianBetweenPassDifference'] === 'number' ? fidelity['medianBetweenPassDifference'] : undefined;
    const repeatTau = typeof fidelity?.['kendallTau'] === 'number' ? fidelity['kendallTau'] : undefined;
    const notes: string[] = [];
    if (!checks[0]!.met || !checks[1]!.met) {
      const bestAlternative = [...variants].sort((a, b) => a.mape - b.mape)[0]!;
      notes.push(
        `The default predictor reaches MAPE ${formatPercent(best.mape)} (target ≤ ${formatPercent(MAPE_TARGET)}${checks[0]!.met ? ', met' : `, missed by ${(checks[0]!.missedBy * 100).toFixed(1)} percentage points`}) ` +
          `and tau ${best.kendallTau.toFixed(3)} (target ≥ ${TAU_TARGET}${checks[1]!.met ? ', met' : `, missed by ${checks[1]!.missedBy.toFixed(3)}`}); ${bestAlternative === best ? 'none of the alternative options does better' : `the best option here is ${bestAlternative.name} (MAPE ${formatPercent(bestAlternative.mape)}, tau ${bestAlternative.kendallTau.toFixed(3)})`}. ` +
          (noiseFloor !== undefined && repeatTau !== undefined
            ? `Its targets are measured labels: two passes over the same architectures already differ by ${formatPercent(noiseFloor)} (median) and agree only to tau ${repeatTau.toFixed(3)} (figure 3), which bounds what any predictor can score against one pass. `
            : '') +
          `Fitted and scored on each measurement's fastest run instead (which load can only slow), the default predictor reaches MAPE ${formatPercent(onFastest.mape)} and tau ${onFastest.kendallTau.toFixed(3)}. ` +
          `With ${train.length} training architectures for about a hundred structure features the fit is also data-limited. What would close it: more (and quieter) training measurements, as a study at paper scale has.`,
      );
    }
    if (onNormalised) {
      notes.push(
        `Labelled by the reference-normalised protocol instead (the same ${normalisedPool.length} architectures, the same split), the default predictor reaches MAPE ${formatPercent(onNormalised.mape)} and tau ${onNormalised.kendallTau.toFixed(3)}` +
          (onNormalised.mape < best.mape
            ? ': quieter labels are most of what the plain labels were missing'
            : ': in this run quieter labels did not help, so the fit itself limits it') +
          (onNormalised.mape > MAPE_TARGET || onNormalised.kendallTau < TAU_TARGET
            ? `; what remains is the fit, ${normalisedSplit.train.length} training architectures for about a hundred features.`
            : '.'),
      );
    }
    return {
      method: [
        `The first ${samples.length} architectures of the measured pool (random OFA-MobileNetV3 at 224, cpu-local default protocol, seed "bench"), each labelled with its measured median.`,
        "Split as the study's search stage does: every fifth architecture in hash order held out; fitLatencyPredictor on the rest, evaluateLatencyPredictor (MAPE, Kendall tau-b) on the held-out ones.",
        'The checks are on the default options (ridge lambda 1, structure features, log-latency target); the alternatives are reported alongside.',
        ...(onNormalised
          ? [
              `Reference-normalised labels: the same first ${normalisedPool.length} architectures measured by a cpu-local twin with protocol.reference "interleaved" (figure 3's measurer), split and fitted the same way.`,
            ]
          : []),
      ],
      checks,
      headlines: [
        ...variants.map((v) => ({ label: v.name, value: `MAPE ${formatPercent(v.mape)}, tau ${v.kendallTau.toFixed(3)}` })),
        { label: 'default options on fastest-run labels (diagnostic)', value: `MAPE ${formatPercent(onFastest.mape)}, tau ${onFastest.kendallTau.toFixed(3)}` },
        ...(onNormalised
          ? [{ label: 'default options on reference-normalised labels', value: `MAPE ${formatPercent(onNormalised.mape)}, tau ${onNormalised.kendallTau.toFixed(3)}` }]
          : []),
      ],
      summary: [],
      notes,
      details: { train: train.length, test: test.length, variants, onFastestRuns: onFastest, onNormalisedLabels: onNormalised ?? null, noiseFloor: noiseFloor ?? null },
    };
  },
};
