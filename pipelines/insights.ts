/**
 * The insights stage: from one device's block profile to sensitivities, hardware friendliness, explained
 * insights and a pruned space document (with its diff against the original space) that the sampler, the ONNX
 * builder and the search load directly. Rules and parameters: docs/insights.md.
 */
import type { BlockProfile } from './profile.js';
import { designSpace, originalSpace } from './spaces/registry.js';
import type { SpaceDocument, SpaceId } from './spaces/types.js';
import { validateSpaceDocument } from './spaces/validate.js';
import type { AccuracySource } from './records.js';
import {
  accuracyLatencyCorrelation,
  analyseSensitivity,
  factorShares,
  friendliness,
  type FactorShares,
  type Friendliness,
  type RankCorrelation,
  type SensitivityReport,
} from './insights/analysis.js';
import { diffSpaces, type SpaceDiff } from './insights/diff.js';
import { insightEstimates, type EstimateChoice } from './insights/estimates.js';
import { choiceGroups, profileCells, spaceFactors, type FactorName } from './insights/grid.js';
import {
  DERIVED_SPACE_FORMS,
  dominanceRule,
  familyRule,
  layerRule,
  mutationRule,
  Removals,
  type DerivedSpaceForm,
  type Insight,
  type InsightObjective,
  type RuleContext,
} from './insights/pruning.js';
import { resolveRules, type InsightRules } from './insights/rules.js';
import { percent, unitName } from './insights/text.js';

export { DEFAULT_INSIGHT_RULES, type InsightRules } from './insights/rules.js';
export { diffSpaces, type SpaceDiff, type StemDiff, type UnitDiff, type ValueChange } from './insights/diff.js';
export { paperInsightSpaces } from './insights/paper.js';
export { DERIVED_SPACE_FORMS, type DerivedSpaceForm, type Insight, type InsightKind, type InsightObjective } from './insights/pruning.js';
export type { ChoiceDimension, FactorName } from './insights/grid.js';
export type { EstimateChoice, EstimateSource } from './insights/estimates.js';
export type { FactorShares, Friendliness, LayerSensitivity, RankCorrelation, SensitivityReport, UnitSensitivity } from './insights/analysis.js';

export interface DeriveInsightsOptions {
  objective: InsightObjective;
  rules?: Partial<InsightRules>;
  /** How the derived space lists its choices; default 'paper' (one list for all units, as the paper's spaces). */
  form?: DerivedSpaceForm;
}

export interface InsightReport {
  kind: 'blockscope.insights/v1';
  space: SpaceId;
  device: string;
  resolution: number;
  accuracySource: AccuracySource;
  objective: InsightObjective;
  form: DerivedSpaceForm;
  /** The rules after defaults, as applied. */
  rules: InsightRules;
  /** Per metric with a regression: whether the insights judged by its estimates or by the per-spec means, and why. */
  estimates: EstimateChoice[];
  sensitivity: SensitivityReport;
  accuracyLatencyCorrelation: RankCorrelation;
  /** MBConv spaces: latency variance between blocks split into kernel and expand effects; null for ResNet. */
  kernelVsExpansion: FactorShares | null;
  /** ResNet: the same split into expand ratio and unit width; null for MBConv spaces. */
  expandVsWidth: FactorShares | null;
  friendliness: Friendliness[];
  insights: Insight[];
  prunedSpace: SpaceDocument;
  diff: SpaceDiff;
}

export function deriveInsights(measured: BlockProfile, options: DeriveInsightsOptions): InsightReport {
  const { objective } = options;
  if (objective !== 'pareto' && objective !== 'max-accuracy') {
    throw new RangeError(`deriveInsights: objective must be 'pareto' or 'max-accuracy', got ${JSON.stringify(objective)}`);
  }
  const form = options.form ?? 'paper';
  if (!DERIVED_SPACE_FORMS.includes(form)) throw new RangeError(`deriveInsights: form must be one of ${DERIVED_SPACE_FORMS.join(', ')}, got ${JSON.stringify(form)}`);
  const rules = resolveRules(options.rules);
  checkProfile(measured);
  const { profile, choices: estimates } = insightEstimates(measured);
  const cells = profileCells(profile);
  const ctx: RuleContext = {
    profile,
    cells,
    groups: choiceGroups(cells),
    rules,
    form,
    accuracyWord: profile.accuracySource === 'naswot-proxy' ? 'proxy score' : profile.accuracySource === 'predictor' ? 'predicted top-1' : 'accuracy',
  };

  const sensitivity = analyseSensitivity(profile, cells, rules);
  const correlation = accuracyLatencyCorrelation(cells);
  const factors = spaceFactors(profile.space);
  const latencyFactors = factorShares(cells, factors[0]!, factors[1]!, 'latency', rules);
  const factorPair = `${factors[0]!.name}/${factors[1]!.name}`;
  const descriptive = [...sensitivityInsights(ctx, sensitivity), correlationInsight(ctx, correlation), ...(latencyFactors ? [latencyFactorInsight(ctx, latencyFactors)] : [])];
  for (const limitation of designSpace(profile.space).insightLimitations) {
    descriptive.push({ id: limitation.id, kind: 'limitation', sentence: `${profile.device}: ${limitation.sentence}`, numbers: {} });
  }

  const doc = originalSpace(profile.space);
  doc.name = `${profile.device}-${objective}`;
  const removals = new Removals();
  const pruning = [
    ...(objective === 'pareto' ? familyRule(ctx, doc, removals) : []),
    ...dominanceRule(ctx, objective, removals),
    ...removals.apply(ctx, doc, objective),
    ...layerRule(ctx, doc, objective),
    ...mutationRule(ctx, doc, sensitivity, objective),
  ];
  doc.notes = [
    `derived automatically by blockscope insights from the ${profile.device} profile (${profile.accuracySource}, resolution ${profile.resolution}, objective ${objective}, ${form === 'paper' ? 'one block list for all units' : 'block lists per unit'})`,
    ...pruning.map((insight) => insight.sentence),
  ];
  const prunedSpace = validateSpaceDocument(doc);

  return {
    kind: 'blockscope.insights/v1',
    space: profile.space,
    device: profile.device,
    resolution: profile.resolution,
    accuracySource: profile.accuracySource,
    objective,
    form,
    rules,
    estimates,
    sensitivity,
    accuracyLatencyCorrelation: correlation,
    kernelVsExpansion: factorPair === 'kernel/expand' ? latencyFactors : null,
    expandVsWidth: factorPair === 'expand/width' ? latencyFactors : null,
    friendliness: friendliness(profile, ctx.groups, rules),
    insights: [...descriptive, ...pruning],
    prunedSpace,
    diff: diffSpaces(originalSpace(profile.space), prunedSpace),
  };
}

function checkProfile(profile: BlockProfile): void {
  if (profile.kind !== 'blockscope.profile/v1') throw new RangeError(`deriveInsights: expected a blockscope.profile/v1, got ${JSON.stringify(profile.kind)}`);
  for (const metric of ['accuracy', 'latency']) {
    if (!profile.metrics.includes(metric)) throw new RangeError(`deriveInsights: the profile has no ${metric} metric (it has ${profile.metrics.join(', ')})`);
  }
  if (profile.specs.length < 2) throw new RangeError('deriveInsights: the profile needs at least two specs');
  for (const spec of profile.specs) {
    // Confidence intervals (and so every significance test) need a sample standard deviation.
    if (spec.n < 2) throw new RangeError(`deriveInsights: spec ${spec.specId} has ${spec.n} sample(s); at least 2 are needed`);
  }
}

function sensitivityInsights(ctx: RuleContext, sensitivity: SensitivityReport): Insight[] {
  return ['accuracy', 'latency'].flatMap((metric): Insight[] => {
    const units = sensitivity.units.filter((s) => s.metric === metric).sort((a, b) => b.explainedVariance - a.explainedVariance);
    if (units.length < 2) return [];
    const word = metric === 'accuracy' ? ctx.accuracyWord : 'latency';
    const numbers = Object.fromEntries(units.map((s) => [s.unit, s.explainedVariance]));
    const most = units[0]!;
    const least = units[units.length - 1]!;
    const sentence =
      most.explainedVariance === 0
        ? `${ctx.profile.device}: no unit's block choice changes ${word} beyond noise`
        : `${ctx.profile.device}: the block choice explains the most ${word} variance in ${unitName(most.unit)} ` +
          `(mean ω² ${most.explainedVariance.toFixed(3)} per position, spread ${percent(most.relativeSpread)}) and the least in ${unitName(least.unit)} ` +
          `(${least.explainedVariance.toFixed(3)}, spread ${percent(least.relativeSpread)})`;
    return [{ id: `sensitivity.${metric}`, kind: 'sensitivity', sentence, numbers }];
  });
}

function correlationInsight(ctx: RuleContext, correlation: RankCorrelation): Insight {
  const rho = correlation.spearman;
  const strength = Math.abs(rho) >= 0.7 ? 'strongly' : Math.abs(rho) >= 0.4 ? 'moderately' : Math.abs(rho) >= 0.2 ? 'weakly' : 'not';
  const direction = strength === 'not' ? '' : rho > 0 ? ' positively' : ' negatively';
  return {
    id: 'correlation.accuracy-latency',
    kind: 'correlation',
    sentence:
      `${ctx.profile.device}: the ${ctx.accuracyWord} and latency profiles are ${strength}${direction} rank-correlated over ` +
      `${correlation.specs} specs (Spearman ${rho.toFixed(2)}, Kendall ${correlation.kendallTau.toFixed(2)})`,
    numbers: { spearman: rho, kendallTau: correlation.kendallTau, specs: correlation.specs },
  };
}

const FACTOR_NAMES: Record<FactorName, string> = { kernel: 'kernel size', expand: 'expand ratio', width: 'unit width' };

function latencyFactorInsight(ctx: RuleContext, shares: FactorShares): Insight {
  const [first, second] = shares.factors;
  const numbers = { [first]: shares.shares[0], [second]: shares.shares[1], interaction: shares.interaction };
  if (!shares.significant) {
    return {
      id: 'latency-factors',
      kind: 'latency-factors',
      sentence: `${ctx.profile.device}: latency does not differ between blocks beyond noise, so neither ${FACTOR_NAMES[first]} nor ${FACTOR_NAMES[second]} drives it`,
      numbers,
    };
  }
  const follows = shares.dominant ? `, so latency follows ${FACTOR_NAMES[shares.dominant]}` : '';
  return {
    id: 'latency-factors',
    kind: 'latency-factors',
    sentence:
      `${ctx.profile.device}: ${FACTOR_NAMES[first]} explains ${percent(shares.shares[0])} of the latency differences between blocks and ` +
      `${FACTOR_NAMES[second]} ${percent(shares.shares[1])} (interaction ${percent(shares.interaction)})${follows}`,
    numbers,
  };
}
