/**
 * Automatic pruning rules: each turns the profile of one device into edits of the original space document and
 * one insight (a sentence with its numbers) per edit. See docs/insights.md for the rules and their parameters.
 */
import type { BlockProfile } from '../profile.js';
import { specUnitDepths } from '../sampling.js';
import { originalSpace } from '../spaces/registry.js';
import type { SpaceDocument, SpaceId, SpecDepthRule } from '../spaces/types.js';
import { metricScale, relativeTo, type SensitivityReport } from './analysis.js';
import {
  alternatives,
  EVERY_UNIT,
  matchedDifference,
  pooledMean,
  pooledOverUnits,
  spaceFactors,
  stemSkipChoice,
  type Cell,
  type ChoiceDimension,
  type ChoiceGroup,
  type Difference,
  type InsightFactor,
} from './grid.js';
import { widthChoice, widthIndexOfChoice } from '../spaces/common.js';
import { beyond, criticalZ, type InsightRules } from './rules.js';
import { tCritical95 } from '../stats.js';
import { ordinal, percent, signed, signedPercent, unitList, unitName } from './text.js';

export type InsightObjective = 'pareto' | 'max-accuracy';

/**
 * How a derived space lists its blocks. 'paper': one block list for every unit, as the paper's pruned spaces; a
 * block is judged on the evidence pooled over all units. 'per-unit': each unit keeps its own list, judged on
 * that unit's evidence alone. Depth caps, mutation probabilities and ResNet widths are per unit in both (the
 * paper's ResNet space fixes widths per unit).
 */
export type DerivedSpaceForm = 'paper' | 'per-unit';
export const DERIVED_SPACE_FORMS: readonly DerivedSpaceForm[] = ['paper', 'per-unit'];

export type InsightKind =
  | 'sensitivity'
  | 'correlation'
  | 'latency-factors'
  | 'drop-family'
  | 'drop-dominated'
  | 'drop-low-accuracy'
  | 'layer-cap'
  | 'layer-floor'
  | 'mutation-probability'
  | 'keep-guard'
  | 'limitation';

export interface Insight {
  id: string;
  kind: InsightKind;
  sentence: string;
  numbers: Record<string, number>;
}

/** What the rules share: the profile, its grid, the rules and how to word a sentence. */
export interface RuleContext {
  profile: BlockProfile;
  cells: readonly Cell[];
  groups: readonly ChoiceGroup[];
  rules: InsightRules;
  form: DerivedSpaceForm;
  /** "accuracy", "proxy score" or "predicted top-1", so a proxy is never called accuracy and a prediction never a measurement. */
  accuracyWord: string;
}

const PRUNABLE: readonly ChoiceDimension[] = ['block', 'width', 'stem-skip'];

/** The list a dimension edits in the document; stem widths are shared by both stem convolutions, so not pruned. */
function documentChoices(doc: SpaceDocument, unitIndex: number | null, dimension: ChoiceDimension): string[] | null {
  if (dimension === 'stem-skip') return doc.stem ? doc.stem.skipChoices.map(stemSkipChoice) : null;
  if (unitIndex === null) return null;
  const unit = doc.units[unitIndex]!;
  if (dimension === 'block') return [...unit.blocks];
  if (dimension === 'width') return unit.widths ? unit.widths.map(widthChoice) : null;
  return null;
}

function setDocumentChoices(doc: SpaceDocument, unitIndex: number | null, dimension: ChoiceDimension, choices: readonly string[]): void {
  if (dimension === 'stem-skip') doc.stem!.skipChoices = choices.map((c) => c === 'skip-on');
  else if (dimension === 'block') doc.units[unitIndex!]!.blocks = [...choices];
  else if (dimension === 'width') doc.units[unitIndex!]!.widths = choices.map((c) => widthIndexOfChoice(c)!);
}

function choiceLabel(dimension: ChoiceDimension, choice: string): string {
  if (dimension === 'width') return `width index ${widthIndexOfChoice(choice)}`;
  if (dimension === 'stem-skip') return choice === 'skip-on' ? 'stem skipping' : 'the full stem';
  return choice;
}

/**
 * Removals collected per (unit, dimension) before they are applied, so the never-empty guard sees them all.
 * A removal for EVERY_UNIT (the paper form) removes the choice from every unit.
 */
export class Removals {
  private readonly removed = new Map<string, Set<string>>();

  add(unit: string, dimension: ChoiceDimension, choice: string): void {
    const key = `${unit}|${dimension}`;
    this.removed.set(key, (this.removed.get(key) ?? new Set()).add(choice));
  }

  has(unit: string, dimension: ChoiceDimension, choice: string): boolean {
    const removedFrom = (u: string) => this.removed.get(`${u}|${dimension}`)?.has(choice) ?? false;
    return removedFrom(unit) || (unit !== 'stem' && removedFrom(EVERY_UNIT));
  }

  /**
   * Writes the removals into the document. A unit that would lose every choice keeps its best one (lowest
   * latency for Pareto, highest accuracy for max-accuracy), with an insight saying so; in the paper form the
   * choice lists are one list, so every unit keeps the same, best over all units.
   */
  apply(ctx: RuleContext, doc: SpaceDocument, objective: InsightObjective): Insight[] {
    const targets: { unit: string; unitIndices: number[]; dimension: ChoiceDimension }[] = (['block', 'width'] as const).flatMap((dimension) =>
      ctx.form === 'paper' && dimension === 'block'
        ? [{ unit: EVERY_UNIT, unitIndices: doc.units.map((_, u) => u), dimension }]
        : doc.units.map((_, u) => ({ unit: `u${u}`, unitIndices: [u], dimension })),
    );
    if (doc.stem) targets.push({ unit: 'stem', unitIndices: [], dimension: 'stem-skip' });
    const insights: Insight[] = [];
    for (const { unit, unitIndices, dimension } of targets) {
      const current = documentChoices(doc, unitIndices[0] ?? null, dimension);
      if (!current) continue;
      const kept = current.filter((choice) => !this.has(unit, dimension, choice));
      if (kept.length === 0) {
        const best = bestChoice(ctx, unit, dimension, current, objective);
        kept.push(best);
        insights.push({
          id: `keep-guard.${unit}.${dimension}`,
          kind: 'keep-guard',
          sentence: `${ctx.profile.device}: the rules would leave ${unitName(unit)} without any ${dimension} choice, so it keeps ${choiceLabel(dimension, best)}, its ${objective === 'pareto' ? 'fastest' : 'most accurate'} option`,
          numbers: {},
        });
      }
      if (unitIndices.length === 0) setDocumentChoices(doc, null, dimension, kept);
      for (const u of unitIndices) setDocumentChoices(doc, u, dimension, kept);
    }
    return insights;
  }
}

/** The choice groups a rule compares: per unit, or pooled over every unit in the paper form. */
function ruleGroups(ctx: RuleContext): readonly ChoiceGroup[] {
  return ctx.form === 'paper' ? pooledOverUnits(ctx.groups) : ctx.groups;
}

/** The profiled choice with the lowest latency (Pareto) or highest accuracy; the first choice if none is profiled. */
function bestChoice(ctx: RuleContext, unit: string, dimension: ChoiceDimension, choices: readonly string[], objective: InsightObjective): string {
  const metric = objective === 'pareto' ? 'latency' : 'accuracy';
  const sign = objective === 'pareto' ? 1 : -1;
  const profiled = ruleGroups(ctx).filter((g) => g.unit === unit && g.dimension === dimension && choices.includes(g.choice));
  if (profiled.length === 0) return choices[0]!;
  return profiled.reduce((a, b) => (sign * pooledMean(b.cells.values(), metric) < sign * pooledMean(a.cells.values(), metric) ? b : a)).choice;
}

interface Scales {
  latency: number;
  accuracy: number;
}

function scales(profile: BlockProfile): Scales {
  return { latency: metricScale(profile, 'latency'), accuracy: metricScale(profile, 'accuracy') };
}

function negate(diff: Difference): Difference {
  return { ...diff, estimate: -diff.estimate };
}

const FACTOR_WORDS: Record<InsightFactor['name'], { one: (v: number) => string; family: (v: number) => string; per: string }> = {
  kernel: { one: (v) => `kernel ${v}`, family: (v) => `kernel-${v} blocks`, per: 'layer' },
  expand: { one: (v) => `expand ratio ${v}`, family: (v) => `expand-${v} blocks`, per: 'layer' },
  // A ResNet spec fixes the width of the whole unit, so a width step is paid once per unit.
  width: { one: (v) => `width index ${v}`, family: (v) => `width index ${v}`, per: 'unit' },
};

/** The unit indices a choice group's drop removes the choice from: every unit for the paper form's pooled groups. */
function unitsOf(space: SpaceId, group: Pick<ChoiceGroup, 'unit' | 'unitIndex'>): number[] {
  if (group.unit === EVERY_UNIT) return originalSpace(space).units.map((_, u) => u);
  return group.unitIndex === null ? [] : [group.unitIndex];
}

/**
 * How many layers a drop touches: every layer slot of the units it removes the choice from (their maxLayers), since a
 * network of the space may hold the choice in any of them. A width or stem option is one.
 */
export function layersTouched(space: SpaceId, dimension: ChoiceDimension, units: readonly number[]): number {
  if (dimension !== 'block') return 1;
  const doc = originalSpace(space);
  return Math.max(
    1,
    units.reduce((sum, u) => sum + doc.units[u]!.maxLayers, 0),
  );
}

/**
 * How many layers of an average random network of the original space hold one block of those units: what dropping
 * it swaps in a typical network (at least one). A width or stem option is one swap.
 */
export function expectedSwaps(space: SpaceId, dimension: ChoiceDimension, units: readonly number[]): number {
  if (dimension !== 'block') return 1;
  const doc = originalSpace(space);
  return Math.max(
    1,
    units.reduce((sum, u) => sum + (doc.units[u]!.minLayers + doc.units[u]!.maxLayers) / 2 / doc.units[u]!.blocks.length, 0),
  );
}

/**
 * The unit cells with a factor at `value` and at `previous`, each keyed by what else they fix (unit, position, the
 * other factors), so that the two maps pair a family step's cells one to one.
 */
export function familyCells(
  cells: readonly Cell[],
  factors: readonly InsightFactor[],
  factor: InsightFactor,
  value: number,
  previous: number,
): { upper: Map<string, Cell>; lower: Map<string, Cell> } {
  const others = factors.filter((f) => f.name !== factor.name);
  const keyed = (v: number) =>
    new Map(cells.filter((c) => c.unitIndex !== null && c.factors[factor.name] === v).map((c) => [[c.unit, c.position, ...others.map((f) => c.factors[f.name])].join('|'), c]));
  return { upper: keyed(value), lower: keyed(previous) };
}

/**
 * Pareto: drop a whole family (e.g. every kernel-7 block) when the step from the next smaller value adds at least
 * familyLatencyThreshold of the latency per swap, beyond the CI, and an accuracy gain shown below the accuracy
 * margin over the layers a network may hold the family in (the top of its CI under it). The step is pooled
 * over all profiled units (matched by unit, layer and the other factors), and the family is dropped from the
 * units that contributed to it.
 */
export function familyRule(ctx: RuleContext, doc: SpaceDocument, removals: Removals): Insight[] {
  const { latency, accuracy } = scales(ctx.profile);
  const factors = spaceFactors(ctx.profile.space);
  const steps = factors.flatMap((factor) => factor.values.slice(1).map((value, i) => ({ factor, value, previous: factor.values[i]! })));
  const z = criticalZ(ctx.rules, steps.length * 2);
  const insights: Insight[] = [];
  for (const { factor, value, previous } of steps) {
    const { upper, lower } = familyCells(ctx.cells, factors, factor, value, previous);
    const latencyStep = matchedDifference(upper, lower, 'latency');
    const accuracyStep = matchedDifference(upper, lower, 'accuracy');
    if (!latencyStep || !accuracyStep) continue;
    const family = (u: number) => (documentChoices(doc, u, factor.dimension) ?? []).filter((choice) => factor.valueOfChoice(choice) === value);
    const evidenced = new Set([...upper].filter(([key]) => lower.has(key)).map(([, cell]) => cell.unitIndex!));
    const touched = ctx.form === 'paper' && factor.dimension === 'block' ? doc.units.map((_, u) => u) : [...evidenced];
    const accuracyMargin = (ctx.rules.accuracyMargin * accuracy) / layersTouched(ctx.profile.space, factor.dimension, touched);
    // Equivalence, not non-significance: the larger value's accuracy gain is below the margin at the top of its CI.
    const unfriendly = beyond(latencyStep, z, ctx.rules.familyLatencyThreshold * latency) && accuracyStep.estimate + z * accuracyStep.se < accuracyMargin;
    if (!unfriendly) continue;
    let where: string;
    if (ctx.form === 'paper' && factor.dimension === 'block') {
      // One list for the whole space: a partial profile's verdict reaches units it did not profile, and says so.
      for (const choice of family(0)) removals.add(EVERY_UNIT, factor.dimension, choice);
      where = evidenced.size === doc.units.length ? unitName(EVERY_UNIT) : `${unitName(EVERY_UNIT)} (profiled in ${unitList([...evidenced])} only)`;
    } else {
      const affected = [...evidenced].filter((u) => family(u).length > 0);
      for (const u of affected) for (const choice of family(u)) removals.add(`u${u}`, factor.dimension, choice);
      where = unitList(affected);
    }
    const words = FACTOR_WORDS[factor.name];
    insights.push({
      id: `drop-family.${factor.name}-${value}`,
      kind: 'drop-family',
      sentence:
        `${ctx.profile.device}: ${words.one(value)} instead of ${previous} adds ${percent(relativeTo(latency, latencyStep.estimate))} latency per ${words.per} ` +
        `(±${percent(relativeTo(latency, z * latencyStep.se))}) and ${signed(accuracyStep.estimate)} ${ctx.accuracyWord} (±${(z * accuracyStep.se).toFixed(2)}), ` +
        `within the ${accuracyMargin.toFixed(3)} margin per ${words.per}, so ${words.family(value)} are dropped in ${where}`,
      numbers: {
        latencyStep: latencyStep.estimate,
        latencyStepRelative: relativeTo(latency, latencyStep.estimate),
        latencyStepHalfWidth: z * latencyStep.se,
        accuracyStep: accuracyStep.estimate,
        accuracyStepHalfWidth: z * accuracyStep.se,
        accuracyMargin,
        threshold: ctx.rules.familyLatencyThreshold,
        pairs: latencyStep.pairs,
      },
    });
  }
  return insights;
}

interface Domination {
  by: ChoiceGroup;
  /** 'latency': slower with no more accuracy than the margin; 'accuracy': less accurate and no slower than the margin. */
  reason: 'latency' | 'accuracy';
  latency: Difference;
  accuracy: Difference;
}

/** The equivalence margins per swapped layer for dropping a choice, and what they are divided by. */
interface Margins {
  latency: number;
  accuracy: number;
  /** Layers an average network holds the choice in (the latency margin's divisor). */
  swaps: number;
  /** Layers any network may hold it in (the accuracy margin's divisor). */
  layers: number;
}

/**
 * Pareto: drop a choice from a unit when another remaining choice of the unit is faster beyond the CI while the
 * dropped one is confidently no more accurate, i.e. its accuracy advantage stays below the accuracy margin even
 * at the top of its CI (dominated on latency), or when another choice is more accurate beyond the CI and
 * confidently no slower, i.e. its extra latency stays below the latency margin at the top of its CI (dominated
 * on accuracy). Each verdict is two one-sided tests, each at the rule's critical z; the margins are network-level
 * (latencyTolerance, accuracyMargin), divided by the layers the drop swaps in an average network (expectedSwaps) for
 * latency and by the layers any network may hold the choice in (layersTouched) for accuracy. Max-accuracy: drop a
 * choice when another one is more accurate beyond the CI, whatever the latency.
 */
export function dominanceRule(ctx: RuleContext, objective: InsightObjective, removals: Removals): Insight[] {
  const { latency, accuracy } = scales(ctx.profile);
  const candidates = alternatives(ruleGroups(ctx))
    .filter((options) => PRUNABLE.includes(options[0]!.dimension))
    .map((options) => options.filter((g) => !removals.has(g.unit, g.dimension, g.choice)))
    .filter((options) => options.length >= 2);
  const metricsTested = objective === 'pareto' ? 2 : 1;
  const z = criticalZ(ctx.rules, candidates.reduce((s, options) => s + (options.length * (options.length - 1)) / 2, 0) * metricsTested);
  const minLatency = ctx.rules.minLatencyDifference * latency;
  const minAccuracy = ctx.rules.minAccuracyDifference * accuracy;
  const upperEnd = (d: Difference) => d.estimate + z * d.se;

  const domination = (a: ChoiceGroup, b: ChoiceGroup, margins: Margins): Domination | null => {
    const latencyDiff = matchedDifference(a.cells, b.cells, 'latency');
    const accuracyDiff = matchedDifference(a.cells, b.cells, 'accuracy');
    if (!latencyDiff || !accuracyDiff) return null;
    const lessAccurate = beyond(negate(accuracyDiff), z, minAccuracy);
    if (objective === 'max-accuracy') return lessAccurate ? { by: b, reason: 'accuracy', latency: latencyDiff, accuracy: accuracyDiff } : null;
    if (beyond(latencyDiff, z, minLatency) && upperEnd(accuracyDiff) < margins.accuracy) return { by: b, reason: 'latency', latency: latencyDiff, accuracy: accuracyDiff };
    if (lessAccurate && upperEnd(negate(latencyDiff)) < margins.latency) return { by: b, reason: 'accuracy', latency: latencyDiff, accuracy: accuracyDiff };
    return null;
  };

  const insights: Insight[] = [];
  for (const options of candidates) {
    const { unit, unitIndex, dimension } = options[0]!;
    const units = unitsOf(ctx.profile.space, { unit, unitIndex });
    const [swaps, layers] = [expectedSwaps(ctx.profile.space, dimension, units), layersTouched(ctx.profile.space, dimension, units)];
    const margins: Margins = { latency: (ctx.rules.latencyTolerance * latency) / swaps, accuracy: (ctx.rules.accuracyMargin * accuracy) / layers, swaps, layers };
    // Decide on the whole unit first, so the order of the choices never changes a verdict.
    const acting = dominationsActedOn(
      options,
      options.map((a) => options.filter((b) => b !== a).flatMap((b) => domination(a, b, margins) ?? [])),
    );
    options.forEach((a, i) => {
      // Name the most accurate dominator: the choice the search would rather use instead.
      const verdict = acting[i]!.reduce<Domination | null>((x, y) => (x && pooledMean(x.by.cells.values(), 'accuracy') >= pooledMean(y.by.cells.values(), 'accuracy') ? x : y), null);
      if (!verdict) return;
      removals.add(a.unit, a.dimension, a.choice);
      insights.push(dominationInsight(ctx, objective, a, verdict, z, latency, margins));
    });
  }
  return insights;
}

/**
 * The dominations a unit acts on, per choice (none: the choice is kept). Dominance within latencyTolerance is
 * not transitive: on a trade-off line whose steps are each within the tolerance, every block dominates the one
 * below it, and acting on all of them leaves the most accurate block alone, many tolerances slower than the
 * fast end it replaced. So a choice is dropped only by a choice the unit keeps: undominated choices are kept,
 * and verdicts propagate until nothing changes (a monotone closure: the order of the choices does not matter).
 * A choice still undecided lies on a cycle of borderline verdicts and is dropped by any of its dominators.
 */
function dominationsActedOn(options: readonly ChoiceGroup[], found: readonly Domination[][]): Domination[][] {
  const state = found.map((dominations): 'kept' | 'dropped' | undefined => (dominations.length === 0 ? 'kept' : undefined));
  const stateOf = (group: ChoiceGroup) => state[options.indexOf(group)];
  for (let changed = true; changed;) {
    changed = false;
    found.forEach((dominations, i) => {
      if (state[i]) return;
      if (dominations.some((d) => stateOf(d.by) === 'kept')) state[i] = 'dropped';
      else if (dominations.every((d) => stateOf(d.by) === 'dropped')) state[i] = 'kept';
      else return;
      changed = true;
    });
  }
  return found.map((dominations, i) => (state[i] === 'kept' ? [] : state[i] === 'dropped' ? dominations.filter((d) => stateOf(d.by) === 'kept') : [...dominations]));
}

function dominationInsight(ctx: RuleContext, objective: InsightObjective, dropped: ChoiceGroup, d: Domination, z: number, latencyScale: number, margins: Margins): Insight {
  const name = choiceLabel(dropped.dimension, dropped.choice);
  const other = choiceLabel(d.by.dimension, d.by.choice);
  const where = `in ${unitName(dropped.unit)}`;
  const latencyText = `${signedPercent(relativeTo(latencyScale, d.latency.estimate))} latency (±${percent(relativeTo(latencyScale, z * d.latency.se))})`;
  const accuracyText = `${signed(d.accuracy.estimate)} ${ctx.accuracyWord} (±${(z * d.accuracy.se).toFixed(2)})`;
  const per = (divisor: number, what: string) => (divisor > 1 ? ` per layer (${what})` : '');
  const sentence =
    objective === 'max-accuracy'
      ? `${ctx.profile.device}: ${where}, ${name} has ${accuracyText} against ${other}, so it is dropped for maximum ${ctx.accuracyWord}`
      : d.reason === 'latency'
        ? `${ctx.profile.device}: ${where}, ${name} costs ${latencyText} against ${other} for ${accuracyText}, within the ${margins.accuracy.toFixed(3)} margin${per(margins.layers, `over the ${margins.layers} layers a network may hold it in`)}, so it is dropped as dominated on latency`
        : `${ctx.profile.device}: ${where}, ${name} has ${accuracyText} against ${other} at ${latencyText}, within the ${percent(relativeTo(latencyScale, margins.latency))} margin${per(margins.swaps, `over the ${margins.swaps.toFixed(1)} layers an average network holds it in`)}, so it is dropped as dominated on ${ctx.accuracyWord}`;
  return {
    id: `${objective === 'max-accuracy' ? 'drop-low-accuracy' : 'drop-dominated'}.${dropped.unit}.${dropped.choice}`,
    kind: objective === 'max-accuracy' ? 'drop-low-accuracy' : 'drop-dominated',
    sentence,
    numbers: {
      latencyDifference: d.latency.estimate,
      latencyDifferenceRelative: relativeTo(latencyScale, d.latency.estimate),
      latencyHalfWidth: z * d.latency.se,
      accuracyDifference: d.accuracy.estimate,
      accuracyHalfWidth: z * d.accuracy.se,
      latencyMargin: margins.latency,
      accuracyMargin: margins.accuracy,
      expectedSwaps: margins.swaps,
      layersTouched: margins.layers,
    },
  };
}

/** P(layer `layer` of unit u exists) in the samples of a spec at `specLayer`, under the profile's depth rule. */
function layerPresence(doc: SpaceDocument, unit: number, specLayer: number, layer: number, rule: SpecDepthRule): number {
  const depths = specUnitDepths(doc, { unit, layer: specLayer }, rule);
  return [...depths].reduce((acc, [depth, p]) => acc + (depth > layer ? p : 0), 0);
}

/** A contrast worth `share` of one layer, as the cost of a whole layer. */
function perLayer(d: Difference, share: number): Difference {
  return { ...d, estimate: d.estimate / share, se: d.se / share };
}

/** The effect of one whole layer l of a unit existing, and the share of samples the contrast adds it to. */
export interface LayerStep {
  latencyStep: Difference;
  accuracyStep: Difference;
  share: number;
}

/**
 * Layer l of unit u from the specs at layer l against those at layer l − 1 (fixing a block at layer l forces
 * depth l + 1). Moving the fixed block adds layer l only to the samples that lacked it (a third of them at l = 2
 * in a 2-4 layer unit): the contrast is that share of one layer, scaled up to a whole one. Null when either
 * position was not profiled.
 */
export function layerStep(profile: BlockProfile, cells: readonly Cell[], unit: number, layer: number): LayerStep | null {
  // Specs held by random architectures move two layers at once (from l − 1 to l adds layer l to a third of the
  // samples and layer l + 1 to a sixth in a 2-4 unit): read the regression's own estimate of one more layer there.
  if (profile.depthRule === 'held') return regressionLayerStep(profile, unit, layer);
  const at = (l: number) => new Map(cells.filter((c) => c.unitIndex === unit && c.layer === l).map((c) => [Object.values(c.choices).join('|'), c]));
  const [here, below] = [at(layer), at(layer - 1)];
  if (here.size === 0 || below.size === 0) return null;
  const original = originalSpace(profile.space);
  const depthRule = profile.depthRule ?? 'intended';
  const share = layerPresence(original, unit, layer, layer, depthRule) - layerPresence(original, unit, layer - 1, layer, depthRule);
  const latencyStep = matchedDifference(here, below, 'latency');
  const accuracyStep = matchedDifference(here, below, 'accuracy');
  return latencyStep && accuracyStep && share > 0 ? { latencyStep: perLayer(latencyStep, share), accuracyStep: perLayer(accuracyStep, share), share } : null;
}

/** One more layer of a unit with an average block, from the profile's latency and accuracy regressions; null without them. */
function regressionLayerStep(profile: BlockProfile, unit: number, layer: number): LayerStep | null {
  const step = (metric: 'latency' | 'accuracy'): Difference | null => {
    const fit = profile.regression?.[metric];
    if (!fit || 'skipped' in fit || fit.target !== 'linear') return null;
    const estimate = fit.layers.find((l) => l.unit === unit && l.layer === layer);
    if (!estimate?.withAverageBlock) return null;
    const { effect, ciLow, ciHigh } = estimate.withAverageBlock;
    return { estimate: effect, se: (ciHigh - ciLow) / 2 / tCritical95(fit.df), pairs: estimate.n };
  };
  const [latencyStep, accuracyStep] = [step('latency'), step('accuracy')];
  return latencyStep && accuracyStep ? { latencyStep, accuracyStep, share: 1 } : null;
}

/**
 * The effect of a unit's layer l existing, read from the specs at layer l against those at layer l − 1 (fixing a
 * block at layer l forces depth l + 1), divided by the share of samples the move adds layer l to. Pareto: cap maxLayers at l, from the top down, while layer l costs
 * latency beyond the CI and gains no accuracy beyond minAccuracyGainPerLayer. Max-accuracy: raise minLayers to
 * l + 1, from the bottom up, while layer l gains accuracy beyond it. Units profiled with the legacy depth rule
 * (blocks missing from some samples) are left alone: their layer specs do not force the layer to exist.
 */
export function layerRule(ctx: RuleContext, doc: SpaceDocument, objective: InsightObjective): Insight[] {
  const { latency, accuracy } = scales(ctx.profile);
  const metricsTested = objective === 'pareto' ? 2 : 1;
  const z = criticalZ(ctx.rules, doc.units.reduce((s, u) => s + (u.maxLayers - u.minLayers), 0) * metricsTested);
  const minGain = ctx.rules.minAccuracyGainPerLayer * accuracy;
  const insights: Insight[] = [];
  const legacyUnits: number[] = [];

  for (const [u, unit] of doc.units.entries()) {
    const unitCells = ctx.cells.filter((c) => c.unitIndex === u);
    if (unitCells.some((c) => c.profile.present < c.profile.n)) {
      legacyUnits.push(u);
      continue;
    }
    const step = (layer: number) => layerStep(ctx.profile, ctx.cells, u, layer);
    const numbers = (s: LayerStep, layer: number) => ({
      layer,
      presenceShare: s.share,
      latencyStep: s.latencyStep.estimate,
      latencyStepRelative: relativeTo(latency, s.latencyStep.estimate),
      latencyHalfWidth: z * s.latencyStep.se,
      accuracyStep: s.accuracyStep.estimate,
      accuracyHalfWidth: z * s.accuracyStep.se,
    });
    const describe = (s: { latencyStep: Difference; accuracyStep: Difference }, layer: number) =>
      `${ctx.profile.device}: a ${ordinal(layer + 1)} layer in ${unitName(`u${u}`)} adds ${percent(relativeTo(latency, s.latencyStep.estimate))} latency ` +
      `(±${percent(relativeTo(latency, z * s.latencyStep.se))}) and ${signed(s.accuracyStep.estimate)} ${ctx.accuracyWord} (±${(z * s.accuracyStep.se).toFixed(2)})`;

    if (objective === 'pareto') {
      for (let layer = unit.maxLayers - 1; layer >= unit.minLayers; layer--) {
        const s = step(layer);
        if (!s || !beyond(s.latencyStep, z, ctx.rules.minLatencyDifference * latency) || beyond(s.accuracyStep, z, minGain)) break;
        unit.maxLayers = layer;
        insights.push({
          id: `layer-cap.u${u}.l${layer}`,
          kind: 'layer-cap',
          sentence: `${describe(s, layer)}, so ${unitName(`u${u}`)} is capped at ${layer} layers`,
          numbers: numbers(s, layer),
        });
      }
    } else {
      for (let layer = unit.minLayers; layer < unit.maxLayers; layer++) {
        const s = step(layer);
        if (!s || !beyond(s.accuracyStep, z, minGain)) break;
        unit.minLayers = layer + 1;
        insights.push({
          id: `layer-floor.u${u}.l${layer}`,
          kind: 'layer-floor',
          sentence: `${describe(s, layer)}, so ${unitName(`u${u}`)} keeps at least ${layer + 1} layers`,
          numbers: numbers(s, layer),
        });
      }
    }
  }
  if (legacyUnits.length > 0) {
    insights.push({
      id: 'limitation.legacy-depth',
      kind: 'limitation',
      sentence: `${ctx.profile.device}: some specs of ${unitList(legacyUnits)} lack their block in part of the samples (legacy depth rule), so their layer counts are not pruned`,
      numbers: { units: legacyUnits.length },
    });
  }
  return insights;
}

/**
 * Per-unit mutation probabilities from the unit sensitivities: the most sensitive unit gets the top of
 * mutationProbabilityRange and an insensitive one the bottom, linearly in between. The objective picks what
 * "sensitive" means: accuracy for max-accuracy, accuracy or latency (whichever is larger, each relative to its
 * most sensitive unit) for Pareto. Without any significant sensitivity the probabilities stay as they are.
 */
export function mutationRule(ctx: RuleContext, doc: SpaceDocument, sensitivity: SensitivityReport, objective: InsightObjective): Insight[] {
  const metrics = objective === 'pareto' ? ['accuracy', 'latency'] : ['accuracy'];
  const units = [...new Set(sensitivity.units.map((s) => s.unit))].filter((unit) => unit !== 'stem' || doc.stem);
  const importance = new Map<string, number>(units.map((unit) => [unit, 0]));
  for (const metric of metrics) {
    const explained = new Map(sensitivity.units.filter((s) => s.metric === metric).map((s) => [s.unit, s.explainedVariance]));
    const top = Math.max(0, ...explained.values());
    if (top === 0) continue;
    for (const unit of units) importance.set(unit, Math.max(importance.get(unit)!, (explained.get(unit) ?? 0) / top));
  }
  const what = metrics.map((metric) => (metric === 'accuracy' ? ctx.accuracyWord : metric)).join(' or ');
  if (![...importance.values()].some((v) => v > 0)) {
    return [
      {
        id: 'mutation-probability',
        kind: 'mutation-probability',
        sentence: `${ctx.profile.device}: no unit's block choice changes ${what} beyond noise, so mutation probabilities stay as in the original space`,
        numbers: {},
      },
    ];
  }
  const [pMin, pMax] = ctx.rules.mutationProbabilityRange;
  const numbers: Record<string, number> = {};
  for (const unit of units) {
    const p = Math.round((pMin + (pMax - pMin) * importance.get(unit)!) * 100) / 100;
    if (unit === 'stem') doc.stem!.mutationProbability = p;
    else doc.units[Number(unit.slice(1))]!.mutationProbability = p;
    numbers[`${unit}.importance`] = importance.get(unit)!;
    numbers[`${unit}.probability`] = p;
  }
  const ordered = [...units].sort((a, b) => importance.get(b)! - importance.get(a)!);
  const most = ordered[0]!;
  const least = ordered[ordered.length - 1]!;
  return [
    {
      id: 'mutation-probability',
      kind: 'mutation-probability',
      sentence:
        `${ctx.profile.device}: block choices matter most for ${what} in ${unitName(most)} and least in ${unitName(least)} ` +
        `(importance ${importance.get(least)!.toFixed(2)} of the most sensitive), so mutation probabilities are ` +
        units.map((unit) => `${unit} ${numbers[`${unit}.probability`]!.toFixed(2)}`).join(', '),
      numbers,
    },
  ];
}
