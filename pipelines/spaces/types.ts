/** Types shared by every design space: architectures, space documents and block specifications. */

/**
 * A design space's id: one of the paper's three ('ofa-mbv3', 'proxylessnas', 'resnet50') or a user-defined
 * space's (pipelines/spaces/definition.ts); the registry (registry.ts) knows which exist.
 */
export type SpaceId = string;

export type Activation = 'relu' | 'relu6' | 'hswish' | 'hsigmoid';

/** An architecture of an MBConv-family space: the active blocks of every unit, e.g. [["e6k7", "e3k3"], ...]. */
export interface MbArchitecture {
  space: SpaceId;
  resolution: number;
  units: string[][];
}

/** An architecture of a bottleneck-family space (OFA-ResNet50, §4 of the design-space reference), with width choices as indices. */
export interface BottleneckArchitecture {
  space: SpaceId;
  resolution: number;
  /** skip = true drops the stem's middle residual convolution (OFA d[0] != 2). */
  stem: { skip: boolean; hiddenWidth: number; outWidth: number };
  /** Active bottleneck blocks of every unit, named by expand ratio, e.g. "e0.2" | "e0.25" | "e0.35". */
  units: string[][];
  /** Width index of every unit. */
  widths: number[];
}

export type Architecture = MbArchitecture | BottleneckArchitecture;

export function isBottleneckArchitecture(arch: Architecture): arch is BottleneckArchitecture {
  return 'widths' in arch;
}

/**
 * A full OFA-style sample: a depth and a block in every slot of every unit (active or not), a width per unit and a
 * stem, so that fixing a block at layer l can raise the depth and expose the slots the random draw already filled.
 */
export interface Encoding {
  depths: number[];
  slots: string[][];
  widths: number[];
  stem: { skip: boolean; hiddenWidth: number; outWidth: number };
}

/** What may appear in one unit of a (possibly pruned) space. */
export interface UnitRule {
  blocks: string[];
  minLayers: number;
  maxLayers: number;
  /** Probability that the search's mutation touches this unit. */
  mutationProbability: number;
  /** Bottleneck family only: the width indices the unit may use. */
  widths?: number[];
}

/** Bottleneck family only: what the stem may be. */
export interface StemRule {
  skipChoices: boolean[];
  widths: number[];
  mutationProbability: number;
}

/**
 * A design space as data: the original space or a pruned one. The sampler, the ONNX builder and the
 * search all take this document, so a pruned space needs no code of its own.
 */
export interface SpaceDocument {
  kind: 'blockscope.space/v1';
  space: SpaceId;
  name: string;
  resolutions: number[];
  units: UnitRule[];
  stem?: StemRule;
  /** Where the document came from (e.g. the insight that produced it); not part of its meaning. */
  notes?: string[];
}

/** One block specification (u, l, b) that profiling fixes in every sample (§6.2). */
export type BlockSpec =
  | { kind: 'mbconv'; unit: number; layer: number; block: string }
  | { kind: 'stem-skip'; skip: boolean }
  | { kind: 'stem-width'; stem: 0 | 1; width: number }
  | { kind: 'bottleneck'; unit: number; layer: number; block: string; width: number };

/**
 * Depth forcing when a block is fixed at layer l: 'intended' raises the unit's depth to l + 1 so the block
 * always exists; 'legacy' reproduces the original code (depth raised to l), whose samples may lack the block.
 */
export type DepthRule = 'intended' | 'legacy';
/** How a spec's samples got their unit's depth: a block-fixed sampler's rule, or 'held' (random architectures holding the block). */
export type SpecDepthRule = DepthRule | 'held';

/** Thrown for an architecture, spec or document that breaks the space's rules; `field` names where. */
export class SpaceValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SpaceValidationError';
  }
}
