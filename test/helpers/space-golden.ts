/**
 * What the three paper spaces produce, as digests: block specs, documents, samples, fixed-block samples, reference
 * architectures, ONNX bytes, MAC and parameter counts, mutation chains, predictor features, lookup-table blocks,
 * study plans and the paper's pruned spaces. Recorded once before the space families moved onto the registry
 * (scripts/record-space-golden.ts writes test/fixtures/space-golden.json); space-golden.test.ts recomputes it.
 */
import { distinctBlocks } from '../../activities/devices/lookup-table.js';
import { canonicalHashHex, sha256Hex } from '../../pipelines/hash.js';
import { paperInsightSpaces } from '../../pipelines/insights.js';
import { exportNetwork } from '../../pipelines/onnx/index.js';
import { Rng } from '../../pipelines/rng.js';
import { referenceArchitecture, sampleArchitectures, sampleWithFixedBlock, specUnitDepths } from '../../pipelines/sampling.js';
import { mutateArchitecture } from '../../pipelines/search/mutation.js';
import { architectureFeatures } from '../../pipelines/search/predictor.js';
import {
  architectureCounts,
  architectureHash,
  blockSpecCoordinates,
  blockSpecId,
  blockSpecLabel,
  blockSpecs,
  buildNetwork,
  originalSpace,
  validateArchitecture,
  type BlockSpec,
} from '../../pipelines/spaces/index.js';
import { planStudy } from '../../pipelines/study/plan.js';
import { parseStudySpec } from '../../pipelines/study/spec.js';

export const GOLDEN_SPACES = ['ofa-mbv3', 'proxylessnas', 'resnet50'] as const;

export type SpaceGolden = Record<string, string | number>;

function errorOf(run: () => unknown): string {
  try {
    run();
    return 'no error';
  } catch (error) {
    return (error as Error).message;
  }
}

export function spaceGolden(space: (typeof GOLDEN_SPACES)[number]): SpaceGolden {
  const specs = blockSpecs(space);
  const doc = originalSpace(space);
  const samples = [160, 224].flatMap((resolution) => sampleArchitectures(doc, 40, 'golden', resolution));
  const someSpecs = specs.filter((_, i) => i % 17 === 0);
  const fixed = someSpecs.flatMap((spec) => (['intended', 'legacy'] as const).flatMap((depthRule) => sampleWithFixedBlock(spec, 6, 'golden', { space, resolution: 192, depthRule })));
  const rng = new Rng('golden-mutation');
  let current = samples[0]!;
  const chain: string[] = [];
  for (let i = 0; i < 200; i++) {
    current = mutateArchitecture(current, doc, rng);
    chain.push(architectureHash(current));
  }
  const features = samples.slice(0, 12).map((arch) => [...architectureFeatures(arch, 'structure')].concat([...architectureFeatures(arch, 'blocks')]));
  const unitSpecs = someSpecs.filter((s): s is Extract<BlockSpec, { unit: number }> => 'unit' in s);
  const depths = unitSpecs.flatMap((s) => (['intended', 'legacy', 'held'] as const).map((rule) => [...specUnitDepths(doc, s, rule)]));
  const plan = planStudy(parseStudySpec({ name: `golden-${space}`, space, resolutions: [224], samplesPerSpec: 3, baselineSamples: 5, seed: 3 }));
  return {
    specCount: specs.length,
    specIds: canonicalHashHex(specs.map(blockSpecId)),
    specLabels: canonicalHashHex(specs.map((spec) => blockSpecLabel(space, spec))),
    specCoordinates: canonicalHashHex(specs.map(blockSpecCoordinates)),
    document: canonicalHashHex(doc),
    samples: canonicalHashHex(samples.map(architectureHash)),
    fixed: canonicalHashHex(fixed.map(architectureHash)),
    references: canonicalHashHex([160, 176, 192, 208, 224].map((r) => architectureHash(referenceArchitecture(space, r)))),
    counts: canonicalHashHex(samples.map(architectureCounts)),
    networks: canonicalHashHex(samples.slice(0, 10).map(buildNetwork)),
    onnx: canonicalHashHex(samples.slice(0, 3).map((arch) => sha256Hex(exportNetwork(buildNetwork(arch))))),
    mutations: canonicalHashHex(chain),
    features: canonicalHashHex(features),
    depths: canonicalHashHex(depths),
    lutBlocks: canonicalHashHex(distinctBlocks(space, [160, 224]).map((b) => b.key)),
    plan: canonicalHashHex(plan),
    paperSpaces: canonicalHashHex(paperInsightSpaces(space)),
    badArchitecture: errorOf(() => validateArchitecture({ ...samples[0]!, units: [['e9k9']] })),
    badBlock: errorOf(() => validateArchitecture({ ...samples[0]!, units: samples[0]!.units.map((u, i) => (i === 0 ? ['nope', ...u.slice(1)] : u)) })),
  };
}
