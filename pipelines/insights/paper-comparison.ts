/**
 * A derived space against one of the paper's hand-made spaces (e.g. n10 or max_acc), block by block and cap by
 * cap, with the evidence for every difference: the derived insight that made the edit, and the profile's
 * contrasts that decide it (the block against every other block, pooled over units and matched by position;
 * a whole layer's latency and accuracy where the caps differ). Intervals are plain 95% ones; the rules
 * themselves judge with the multiplicity-adjusted z of docs/insights.md, so a contrast can clear 95% and still
 * not move a rule.
 */
import type { InsightReport } from '../insights.js';
import type { BlockProfile } from '../profile.js';
import type { SpaceDocument } from '../spaces/types.js';
import { insightEstimates } from './estimates.js';
import { choiceGroups, matchedDifference, pooledOverUnits, profileCells, spaceFactors, type Cell, type Difference } from './grid.js';
import { layerStep, type Insight, type InsightObjective } from './pruning.js';

const Z95 = 1.959963984540054;

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  /** Matched positions the contrast averages over. */
  pairs: number;
}

/** block − against, pooled over units: latency in ms, accuracy in the accuracy source's unit. */
export interface BlockContrast {
  against: string;
  latency: Interval;
  accuracy: Interval;
}

export interface BlockRow {
  block: string;
  /** The units whose list keeps the block, in each space. */
  paperUnits: number[];
  derivedUnits: number[];
  agree: boolean;
  /** The derived insights that dropped (or kept by guard) the block. */
  insights: string[];
  /** The block against every other block of the original space; only where the spaces disagree. */
  contrasts: BlockContrast[] | null;
}

export interface LayerEvidence {
  /** 0-based: layer 3 is the 4th layer. */
  layer: number;
  /** One whole layer's latency (ms) and accuracy, scaled up from the share of samples the contrast adds it to. */
  latency: Interval;
  accuracy: Interval;
  share: number;
}

export interface CapRow {
  unit: number;
  paper: { min: number; max: number };
  derived: { min: number; max: number };
  agree: boolean;
  /** The derived layer-cap and layer-floor insights of the unit. */
  insights: string[];
  /** Each layer whose existence the two spaces decide differently; empty where they agree. */
  layers: LayerEvidence[];
}

export interface PaperSpaceComparison {
  device: string;
  resolution: number;
  objective: InsightObjective;
  /** The paper's space name, e.g. 'n10'. */
  paper: string;
  blocks: BlockRow[];
  caps: CapRow[];
  /** Units whose mutation probability differs. */
  mutation: { unit: number; paper: number; derived: number }[];
  agreement: { blocks: number; caps: number; of: { blocks: number; caps: number } };
}

function interval(d: Difference): Interval {
  return { estimate: d.estimate, low: d.estimate - Z95 * d.se, high: d.estimate + Z95 * d.se, pairs: d.pairs };
}

function unitsKeeping(doc: SpaceDocument, block: string): number[] {
  return doc.units.flatMap((unit, u) => (unit.blocks.includes(block) ? [u] : []));
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Whether a derived insight is about `block`: a family drop covering it, its own drop, or a guard that kept it. */
function aboutBlock(space: BlockProfile['space'], block: string): (insight: Insight) => boolean {
  const families = spaceFactors(space).flatMap((factor) => {
    const value = factor.dimension === 'block' ? factor.valueOfChoice(block) : undefined;
    return value === undefined ? [] : [`drop-family.${factor.name}-${value}`];
  });
  return ({ id, kind, sentence }) =>
    families.includes(id) || ((kind === 'drop-dominated' || kind === 'drop-low-accuracy') && id.endsWith(`.${block}`)) || (kind === 'keep-guard' && sentence.includes(block));
}

function blockContrasts(cells: readonly Cell[], block: string, others: readonly string[]): BlockContrast[] {
  const groups = new Map(
    pooledOverUnits(choiceGroups(cells))
      .filter((g) => g.dimension === 'block')
      .map((g) => [g.choice, g.cells]),
  );
  const own = groups.get(block);
  if (!own) return [];
  return others.flatMap((other) => {
    const theirs = groups.get(other);
    const latency = theirs && matchedDifference(own, theirs, 'latency');
    const accuracy = theirs && matchedDifference(own, theirs, 'accuracy');
    return latency && accuracy ? [{ against: other, latency: interval(latency), accuracy: interval(accuracy) }] : [];
  });
}

/**
 * `report` is the derived insight report (its prunedSpace is the derived space) made from `profile`;
 * `original` the space both were pruned from and `paperDoc` the paper's space named `paper`.
 */
export function compareWithPaperSpace(report: InsightReport, profile: BlockProfile, original: SpaceDocument, paper: string, paperDoc: SpaceDocument): PaperSpaceComparison {
  if (report.device !== profile.device || report.resolution !== profile.resolution) {
    throw new RangeError(`compareWithPaperSpace: the insight report is for ${report.device}@${report.resolution}, the profile for ${profile.device}@${profile.resolution}`);
  }
  const derived = report.prunedSpace;
  // The estimates the rules judged by (regression or spec means), so the evidence is what the rules saw.
  const cells = profileCells(insightEstimates(profile).profile);
  const allBlocks = [...new Set(original.units.flatMap((u) => u.blocks))];
  const blocks = allBlocks.map((block): BlockRow => {
    const [paperUnits, derivedUnits] = [unitsKeeping(paperDoc, block), unitsKeeping(derived, block)];
    const agree = sameList(paperUnits, derivedUnits);
    return {
      block,
      paperUnits,
      derivedUnits,
      agree,
      insights: report.insights.filter(aboutBlock(profile.space, block)).map((i) => i.sentence),
      contrasts: agree
        ? null
        : blockContrasts(
            cells,
            block,
            allBlocks.filter((b) => b !== block),
          ),
    };
  });
  const caps = original.units.map((_, u): CapRow => {
    const [p, d] = [paperDoc.units[u]!, derived.units[u]!];
    const agree = p.minLayers === d.minLayers && p.maxLayers === d.maxLayers;
    // Layers l with l < max in one space and not the other (caps), or l < min in one and not the other (floors).
    const decided = new Set<number>();
    for (const [a, b] of [
      [p.maxLayers, d.maxLayers],
      [p.minLayers, d.minLayers],
    ] as const) {
      for (let layer = Math.min(a, b); layer < Math.max(a, b); layer++) decided.add(layer);
    }
    const layers = [...decided]
      .sort((a, b) => a - b)
      .flatMap((layer): LayerEvidence[] => {
        const step = layerStep(profile, cells, u, layer);
        return step ? [{ layer, latency: interval(step.latencyStep), accuracy: interval(step.accuracyStep), share: step.share }] : [];
      });
    return {
      unit: u,
      paper: { min: p.minLayers, max: p.maxLayers },
      derived: { min: d.minLayers, max: d.maxLayers },
      agree,
      insights: report.insights.filter((i) => i.id.startsWith(`layer-cap.u${u}.`) || i.id.startsWith(`layer-floor.u${u}.`)).map((i) => i.sentence),
      layers,
    };
  });
  const mutation = original.units.flatMap((_, u) => {
    const [p, d] = [paperDoc.units[u]!.mutationProbability, derived.units[u]!.mutationProbability];
    return p === d ? [] : [{ unit: u, paper: p, derived: d }];
  });
  return {
    device: report.device,
    resolution: report.resolution,
    objective: report.objective,
    paper,
    blocks,
    caps,
    mutation,
    agreement: { blocks: blocks.filter((b) => b.agree).length, caps: caps.filter((c) => c.agree).length, of: { blocks: blocks.length, caps: caps.length } },
  };
}
