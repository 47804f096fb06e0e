/** Types shared by the three design spaces: architectures, space documents and block specifications. */

export const SPACE_IDS = ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const;
export type SpaceId = (typeof SPACE_IDS)[number];
export type MbSpaceId = Exclude<SpaceId, 'resnet50'>;

export type Activation = 'relu' | 'relu6' | 'hswish' | 'hsigmoid';

/** An MBConv-space architecture: the active blocks of every unit, e.g. [["e6k7", "e3k3"], ...]. */
export interface MbArchitecture {
  space: MbSpaceId;
  resolution: number;
  units: string[][];
}

/** An OFA-ResNet50 architecture (§4 of the design-space reference), with width choices as indices 0..2. */
export interface ResNetArchitecture {
  space: 'resnet50';
  resolution: number;
  /** skip = true drops the stem's middle residual convolution (OFA d[0] != 2). */
  stem: { skip: boolean; hiddenWidth: number; outWidth: number };
  /** Active bottleneck blocks of every unit, named by expand ratio: "e0.2" | "e0.25" | "e0.35". */
  units: string[][];
  /** Width index of every unit. */
  widths: number[];
}

export type Architecture = MbArchitecture | ResNetArchitecture;

/** What may appear in one unit of a (possibly pruned) space. */
export interface UnitRule {
  blocks: string[];
  minLayers: number;
  maxLayers: number;
  /** Probability that the search's mutation touches this unit. */
  mutationProbability: number;
  /** ResNet only: the width indices the unit may use. */
  widths?: number[];
}

/** ResNet only: what the stem may be. */
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
