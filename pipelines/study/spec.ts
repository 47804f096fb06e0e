/**
 * The study spec: what a study profiles, where, and how it searches. Validated at the edge (CLI, client)
 * with errors that name the field and the allowed values; workflows only ever see a valid spec.
 */
import { z } from 'zod';
import { OFA_PREDICTOR_SPACE, PREDICTOR_FORMATS, predictorCoverageProblem } from '../accuracy-predictor.js';
import { canonicalHashHex } from '../hash.js';
import { DERIVED_SPACE_FORMS } from '../insights/pruning.js';
import { blockRegressionShortfall } from '../regression.js';
import { BASELINE_ARM, DEFAULT_SEARCH_ARMS, SEARCH_ARMS, paperArms, searchWorkflowId, type SearchArm } from '../search/arms.js';
import { MAX_ACCURACY_SEARCH_PRESET } from '../search/search.js';
import { parseSpaceDefinition, type SpaceDefinition } from '../spaces/definition.js';
import { designSpace, originalSpace, registerSpace } from '../spaces/registry.js';
import { parseBlockSpec } from '../spaces/specs.js';
import { DEFAULT_RESOLUTION } from '../spaces/common.js';
import { SpaceValidationError } from '../spaces/types.js';
import { describeZodIssue } from '../zod-issues.js';
import { planStudy } from './plan.js';

const deviceId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a device id: lowercase letters, digits and dashes');

/** A study's devices and resolutions: its result and its report's input hold a profile reference for each pair. */
export const MAX_DEVICES = 8;
export const MAX_SEEDS = 20;
export const MAX_RESOLUTIONS = 5;

/** With a user's evaluator, a batch's architectures (at most about 350 B each) travel to the workflow and back. */
export const MAX_EVALUATOR_BATCH = 100;

const accuracySchema = z
  .object({
    source: z.enum(['naswot-proxy', 'table', 'evaluator', 'predictor']).default('naswot-proxy'),
    /** 'table': CSV or JSON file of accuracies keyed by architecture hash or canonical JSON. */
    table: z.string().optional(),
    /**
     * 'predictor': a trained accuracy predictor, read by the orchestrator worker (a relative path resolves against its
     * working directory). The one format is 'ofa-mlp', OFA's pretrained top-1 predictor for ofa-mbv3 as JSON tensors
     * (docs/accuracy.md).
     */
    predictor: z
      .object({
        format: z.enum(PREDICTOR_FORMATS),
        weights: z.string().min(1, 'expected the path of the weights file (JSON), e.g. acc_predictor.weights.json'),
      })
      .strict()
      .optional(),
    /** 'evaluator': the task queue on which a user's evaluator worker serves `evaluateAccuracy`. */
    evaluatorTaskQueue: z.string().optional(),
    /** NASWOT mini-batch size. */
    proxyBatch: z.number().int().min(2).max(128).default(16),
    batchSize: z.number().int().min(1).max(1000).default(20),
    /**
     * Whether the accuracy campaign runs while the devices measure (docs/studies.md "Campaigns at once"):
     * 'auto' overlaps them unless the NASWOT proxy would compute on the host of a device measured with
     * onnxruntime (cpu-local and its kind); 'always' / 'never' decide it for the study.
     */
    overlap: z.enum(['auto', 'always', 'never']).default('auto'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.source === 'table' && !value.table) ctx.addIssue({ code: 'custom', path: ['table'], message: 'required when source is "table"' });
    if (value.source === 'predictor' && !value.predictor) {
      ctx.addIssue({ code: 'custom', path: ['predictor'], message: `required when source is "predictor": { format: ${PREDICTOR_FORMATS.join(' | ')}, weights: PATH }` });
    }
    if (value.source !== 'predictor' && value.predictor) {
      ctx.addIssue({ code: 'custom', path: ['predictor'], message: `used only when source is "predictor", but source is ${JSON.stringify(value.source)}` });
    }
    if (value.source === 'evaluator' && !value.evaluatorTaskQueue) {
      ctx.addIssue({ code: 'custom', path: ['evaluatorTaskQueue'], message: 'required when source is "evaluator"' });
    }
    if (value.source === 'evaluator' && value.batchSize > MAX_EVALUATOR_BATCH) {
      ctx.addIssue({
        code: 'custom',
        path: ['batchSize'],
        message: `at most ${MAX_EVALUATOR_BATCH} when source is "evaluator": a batch's architectures and accuracies pass through the campaign's history; got ${value.batchSize}`,
      });
    }
  });

const objectiveSchema = z.enum(['pareto', 'max-accuracy']);

/**
 * Bounds of a search budget's fields, shared by the Pareto (top-level) and max-accuracy budgets. A step's
 * candidates are evaluated within one workflow run (with a user's evaluator, an activity each), so a step is at
 * most MAX_SEARCH_STEP; a whole search at most MAX_SEARCH_EVALUATIONS, the largest tested end to end through
 * Temporal (test/search-payloads.test.ts). docs/search.md "Budgets".
 */
export const MAX_SEARCH_STEP = 1000;
export const MAX_SEARCH_EVALUATIONS = 8_100;
const STEP_LIMIT = `at most ${MAX_SEARCH_STEP}: a step's candidates are evaluated within one workflow run (docs/search.md "Budgets")`;
const budgetSchema = {
  initialSize: z.number().int().min(2).max(MAX_SEARCH_STEP, STEP_LIMIT),
  iterations: z.number().int().min(0).max(1000),
  budgetPerIteration: z.number().int().min(1).max(MAX_SEARCH_STEP, STEP_LIMIT),
};

/** A search's budget: random initial set, iterations, evaluations per iteration, and (max-accuracy) parents. */
export interface SearchBudget {
  initialSize: number;
  iterations: number;
  budgetPerIteration: number;
  topK?: number;
}

/** Overrides of the insight rules (docs/insights.md); unknown rule names are rejected. */
export const insightRulesSchema = z
  .object({
    alpha: z.number().gt(0).lt(1),
    multipleComparisons: z.enum(['bonferroni', 'none']),
    minLatencyDifference: z.number().min(0),
    minAccuracyDifference: z.number().min(0),
    latencyTolerance: z.number().min(0),
    accuracyMargin: z.number().min(0),
    familyLatencyThreshold: z.number().min(0),
    minAccuracyGainPerLayer: z.number().min(0),
    mutationProbabilityRange: z.tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)]),
    friendlinessCostFloor: z.number().gt(0),
  })
  .partial()
  .strict();

export const studySpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'expected lowercase letters, digits and dashes (at most 48), starting with a letter or digit'),
    description: z.string().optional(),
    /** A built-in space's id, or the id of the user's space that `spaceDefinition` defines. */
    space: z.string().min(1),
    /**
     * A user-defined space (pipelines/spaces/definition.ts), carried in the spec so that every worker of the study,
     * on any host, registers the same space. The CLI fills it in from `space: path/to/space.yaml`.
     */
    spaceDefinition: z.custom<SpaceDefinition>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'expected a space definition object').optional(),
    /** Input resolutions to profile at; each must be one the space allows. */
    resolutions: z
      .array(z.number().int())
      .min(1)
      .max(MAX_RESOLUTIONS, `at most ${MAX_RESOLUTIONS}: the study's result and report list a profile per device and resolution`)
      .default([DEFAULT_RESOLUTION]),
    /** "all", or block specification ids / comma forms as `blockscope arch blocks` lists them. */
    blocks: z.union([z.literal('all'), z.array(z.string()).min(1)]).default('all'),
    samplesPerSpec: z.number().int().min(1).max(10_000).default(10),
    baselineSamples: z.number().int().min(1).max(100_000).optional(),
    depthRule: z.enum(['intended', 'legacy']).default('intended'),
    /**
     * How the study samples (docs/studies.md "Two study designs"). Absent: the paper's block-fixed design
     * (samplesPerSpec architectures with each spec's block fixed, plus the random baseline). 'shared-random':
     * `architectures` random architectures per resolution and nothing fixed; each spec's samples are the
     * architectures that hold its block, and the block regression estimates every effect from all of them.
     */
    design: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('block-fixed') }).strict(),
        z.object({ kind: z.literal('shared-random'), architectures: z.number().int().min(2).max(100_000) }).strict(),
      ])
      .optional(),
    seed: z.union([z.number().int(), z.string().min(1)]).default(0),
    devices: z
      .array(deviceId)
      .min(1)
      .max(MAX_DEVICES, `at most ${MAX_DEVICES}: the study's result and report list every device's profiles, insights and comparisons`)
      .default(['cpu-local']),
    accuracy: accuracySchema.default({ source: 'naswot-proxy', proxyBatch: 16, batchSize: 20, overlap: 'auto' }),
    measurement: z
      .object({
        /** 20, as the paper presets: the drift probe (one per batch) then costs about 5% of the device time. */
        batchSize: z.number().int().min(1).max(1000).default(20),
        /**
         * 'mixed': each device measures the plan in its own seeded random order, so host drift spreads
         * evenly over every specification; 'grouped': plan order (baseline, then each specification's
         * samples back to back), only to compare against.
         */
        order: z.enum(['mixed', 'grouped']).default('mixed'),
        /** Drift probes (pipelines/drift.ts): the space's reference architecture measured during the campaign. */
        drift: z
          .object({
            /** Probe at the start of every batch and at the end of the campaign. */
            track: z.boolean().default(true),
            /** Also probe after every N architectures inside a batch (0: batch boundaries only). */
            every: z.number().int().min(0).max(1000).default(0),
            /** Profiles and the predictor use drift-corrected latencies (the raw ones are kept beside them). */
            correct: z.boolean().default(true),
          })
          .strict()
          .default({ track: true, every: 0, correct: true }),
      })
      .strict()
      .default({ batchSize: 20, order: 'mixed', drift: { track: true, every: 0, correct: true } }),
    insights: z
      .object({
        objectives: z.array(objectiveSchema).min(1).default(['pareto', 'max-accuracy']),
        /** Overrides of the insight rules (docs/insights.md); unknown rule names are rejected. */
        rules: insightRulesSchema.default({}),
        /** How derived spaces list their blocks: 'paper' (one list for all units, as the paper's spaces) or 'per-unit'. */
        form: z.enum(DERIVED_SPACE_FORMS).default('paper'),
      })
      .strict()
      .default({ objectives: ['pareto', 'max-accuracy'], rules: {}, form: 'paper' }),
    search: z
      .object({
        objectives: z.array(objectiveSchema).default(['pareto']),
        /** A device's searches reach their comparison as one list of references (docs/architecture.md). */
        seeds: z.number().int().min(1).max(MAX_SEEDS, `at most ${MAX_SEEDS}: the searches of a device and objective reach their comparison as one list`).default(5),
        /** The Pareto search's budget (the paper's: 100 + 10 × 200). */
        initialSize: budgetSchema.initialSize.default(100),
        iterations: budgetSchema.iterations.default(10),
        budgetPerIteration: budgetSchema.budgetPerIteration.default(200),
        /** The max-accuracy search's own budget; absent fields take the paper's (MAX_ACCURACY_SEARCH_PRESET: 20 + 4 × 50, top 10). */
        maxAccuracy: z
          .object({ ...budgetSchema, topK: z.number().int().min(1).max(10_000) })
          .partial()
          .strict()
          .optional(),
        /**
         * The arms compared at equal budgets and seeds: 'original', 'derived' (the insights' space for the device
         * and objective) and the paper's spaces 'paper:npu' ... 'paper:max_acc'. 'original' is the baseline.
         */
        spaces: z
          .array(z.enum(SEARCH_ARMS as [SearchArm, ...SearchArm[]]))
          .min(2)
          .default([...DEFAULT_SEARCH_ARMS]),
        /** Fronts re-measured on the device at the end of each search. */
        remeasureFront: z.boolean().default(true),
      })
      .strict()
      .default({ objectives: ['pareto'], seeds: 5, initialSize: 100, iterations: 10, budgetPerIteration: 200, spaces: [...DEFAULT_SEARCH_ARMS], remeasureFront: true }),
  })
  .strict();

export type StudySpecInput = z.input<typeof studySpecSchema>;
export type StudySpec = z.output<typeof studySpecSchema>;

/** Raised for an invalid study spec; `issues` holds one "field: message" line per problem. */
export class StudySpecError extends Error {
  readonly userFacing = true;
  constructor(readonly issues: string[]) {
    super(`invalid study spec:\n  ${issues.join('\n  ')}`);
    this.name = 'StudySpecError';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return describeZodIssue(issue, '(spec)');
}

/** Validates insight rule overrides given on their own (the CLI's --rules). */
export function parseInsightRules(raw: unknown, field = 'rules'): z.output<typeof insightRulesSchema> {
  const result = insightRulesSchema.safeParse(raw);
  if (!result.success) throw new StudySpecError(result.error.issues.map((issue) => describeIssue({ ...issue, path: [field, ...issue.path] })));
  return result.data;
}

/** Parses and validates a raw spec (from YAML/JSON), resolving block lists against the space. */
export function parseStudySpec(raw: unknown): StudySpec {
  const result = studySpecSchema.safeParse(raw);
  if (!result.success) throw new StudySpecError(result.error.issues.map(describeIssue));
  const spec = result.data;
  checkSpace(spec);
  checkAccuracyPredictor(spec);
  if (spec.blocks !== 'all') {
    const problems: string[] = [];
    spec.blocks.forEach((text, i) => {
      try {
        parseBlockSpec(spec.space, text, `blocks[${i}]`);
      } catch (error) {
        if (error instanceof SpaceValidationError) problems.push(error.message);
        else throw error;
      }
    });
    if (problems.length > 0) throw new StudySpecError(problems);
  }
  if (new Set(spec.devices).size !== spec.devices.length) throw new StudySpecError(['devices: a device is listed twice']);
  checkSearchArms(spec);
  checkSearchBudgets(spec);
  checkSpecSize(spec);
  if (spec.design?.kind === 'shared-random') checkSharedRandom(spec, raw);
  return spec;
}

/** Registers the spec's own space (if it defines one) and checks the space and the resolutions against it. */
function checkSpace(spec: StudySpec): void {
  try {
    if (spec.spaceDefinition) {
      spec.spaceDefinition = parseSpaceDefinition(spec.spaceDefinition, 'spaceDefinition');
      if (spec.spaceDefinition.id !== spec.space) {
        throw new SpaceValidationError(
          'space',
          `${JSON.stringify(spec.space)} differs from spaceDefinition.id ${JSON.stringify(spec.spaceDefinition.id)}; they must name the same space`,
        );
      }
    }
    registerStudySpace(spec);
    const allowed = designSpace(spec.space).definition.resolutions;
    const problems = spec.resolutions.flatMap((r, i) => (allowed.includes(r) ? [] : [`resolutions[${i}]: ${r} is not allowed in ${spec.space}; allowed: ${allowed.join(', ')}`]));
    if (problems.length > 0) throw new StudySpecError(problems);
  } catch (error) {
    if (error instanceof SpaceValidationError) throw new StudySpecError([error.message]);
    throw error;
  }
}

/** A trained predictor scores only the space and the resolutions it was trained on: OFA's covers ofa-mbv3 at 112..224. */
function checkAccuracyPredictor(spec: StudySpec): void {
  if (spec.accuracy.source !== 'predictor') return;
  if (spec.space !== OFA_PREDICTOR_SPACE) {
    throw new StudySpecError([
      `accuracy.source: "predictor" (format ${spec.accuracy.predictor!.format}) covers space ${OFA_PREDICTOR_SPACE} only, not ${spec.space}; allowed sources for ${spec.space}: "naswot-proxy", "table", "evaluator"`,
    ]);
  }
  const problems = spec.resolutions.flatMap((r, i) => {
    const problem = predictorCoverageProblem(spec.space, r);
    return problem ? [`resolutions[${i}]: ${problem} (accuracy.source "predictor")`] : [];
  });
  if (problems.length > 0) throw new StudySpecError(problems);
}

/**
 * Makes a study's space known in this process: a no-op for the built-in spaces. Every activity that receives a study
 * spec calls it, so a worker on any host (or restarted mid-study) knows a user's space from the spec alone.
 */
export function registerStudySpace(spec: Pick<StudySpec, 'spaceDefinition'>): void {
  if (spec.spaceDefinition) registerSpace(spec.spaceDefinition);
}

function checkSearchArms(spec: StudySpec): void {
  const arms = spec.search.spaces;
  const problems: string[] = [];
  if (!arms.includes(BASELINE_ARM)) problems.push(`search.spaces: must include "${BASELINE_ARM}", the baseline every other space is compared to`);
  if (new Set(arms).size !== arms.length) problems.push('search.spaces: a space is listed twice');
  const available = paperArms(spec.space);
  arms.forEach((arm, i) => {
    if (arm.startsWith('paper:') && !available.includes(arm)) {
      problems.push(
        `search.spaces[${i}]: the paper has no ${arm.slice('paper:'.length)} space for ${spec.space}; allowed paper spaces: ${available.map((a) => JSON.stringify(a)).join(', ')}`,
      );
    }
  });
  if (problems.length > 0) throw new StudySpecError(problems);
}

function checkSearchBudgets(spec: StudySpec): void {
  const problems = spec.search.objectives.flatMap((objective) => {
    const { initialSize, iterations, budgetPerIteration } = searchBudget(spec.search, objective);
    const total = initialSize + iterations * budgetPerIteration;
    if (total <= MAX_SEARCH_EVALUATIONS) return [];
    const field = objective === 'pareto' ? 'search' : 'search.maxAccuracy';
    return [
      `${field}: initialSize + iterations × budgetPerIteration is ${initialSize} + ${iterations} × ${budgetPerIteration} = ${total} evaluations; ` +
        `at most ${MAX_SEARCH_EVALUATIONS}, the largest search tested end to end through Temporal (the paper's is 100 + 10 × 200 = 2100)`,
    ];
  });
  if (problems.length > 0) throw new StudySpecError(problems);
}

/** The spec travels with every workflow of the study and many activities: its size bounds theirs (docs/architecture.md). */
export const MAX_SPEC_BYTES = 16 * 1024;

function checkSpecSize(spec: StudySpec): void {
  const bytes = JSON.stringify(spec).length;
  if (bytes > MAX_SPEC_BYTES) {
    throw new StudySpecError([
      `(spec): ${Math.ceil(bytes / 1024)} KB with its defaults and space definition; at most ${MAX_SPEC_BYTES / 1024} KB, since it travels with every workflow of the study (shorten the description, list fewer blocks, or use blocks: all)`,
    ]);
  }
}

/** A shared-random study must give every spec samples and the regression more architectures than parameters. */
function checkSharedRandom(spec: StudySpec, raw: unknown): void {
  const given = typeof raw === 'object' && raw !== null ? Object.keys(raw) : [];
  const unused = ['samplesPerSpec', 'baselineSamples'].filter((field) => given.includes(field));
  if (unused.length > 0) {
    throw new StudySpecError(unused.map((field) => `${field}: not used by design shared-random, which measures design.architectures random architectures; remove it`));
  }
  const plan = planStudy(spec);
  const space = originalSpace(spec.space);
  const problems = plan.resolutions.flatMap((resolution) => {
    const archs = plan.architectures.filter((a) => a.arch.resolution === resolution).map((a) => a.arch);
    const shortfall = blockRegressionShortfall(space, archs);
    const thin = plan.specs.filter((s) => s.resolution === resolution && s.archHashes.length < 2);
    return [
      ...(shortfall ? [`design.architectures: ${archs.length} random architectures at ${resolution}px are too few for the block regression (${shortfall})`] : []),
      ...(thin.length > 0
        ? [`design.architectures: at ${resolution}px, ${thin.length} spec(s) are held by fewer than 2 of the random architectures (e.g. ${thin[0]!.specId}); raise it`]
        : []),
    ];
  });
  if (problems.length > 0) throw new StudySpecError(problems);
}

/**
 * Whether a study's accuracy campaign may run while its devices measure. The NASWOT proxy computes on the
 * orchestrator's host, so it overlaps only when none of the study's devices is measured there with onnxruntime
 * (`backends`: each device's backend in the orchestrator's device config); a table, a trained predictor (a small
 * MLP, a few milliseconds per architecture) or a user's evaluator computes next to nothing on that host and always
 * overlaps.
 */
export function overlapsAccuracy(spec: StudySpec, backends: ReadonlyMap<string, string>): boolean {
  const { overlap, source } = spec.accuracy;
  if (overlap !== 'auto') return overlap === 'always';
  return source !== 'naswot-proxy' || !spec.devices.some((device) => backends.get(device) === 'onnxruntime');
}

/** The budget of a study's search for one objective: the top-level fields for Pareto, `maxAccuracy` over the paper's for max-accuracy. */
export function searchBudget(search: StudySpec['search'], objective: z.infer<typeof objectiveSchema>): SearchBudget {
  if (objective === 'pareto') return { initialSize: search.initialSize, iterations: search.iterations, budgetPerIteration: search.budgetPerIteration };
  const { initialSize, iterations, budgetPerIteration, topK } = MAX_ACCURACY_SEARCH_PRESET;
  return { initialSize, iterations, budgetPerIteration, topK, ...search.maxAccuracy };
}

/** A stable hash of the normalised spec: part of the workflow id, so the same spec is the same study. */
export function studySpecHash(spec: StudySpec): string {
  return canonicalHashHex(spec);
}

/** Every search a study runs: per device and objective, each seed's arms. */
export function studySearchWorkflowIds(studyId: string, spec: StudySpec): string[] {
  const arms = spec.search.spaces ?? DEFAULT_SEARCH_ARMS;
  const seeds = Array.from({ length: spec.search.seeds }, (_, i) => i + 1);
  return spec.devices.flatMap((device) =>
    spec.search.objectives.flatMap((objective) => seeds.flatMap((seed) => arms.map((arm) => searchWorkflowId(studyId, device, objective, arm, seed)))),
  );
}

/** Workflow id of a study: its name plus the spec hash, readable in the Temporal UI. */
export function studyWorkflowId(spec: StudySpec): string {
  return `study-${spec.name}-${studySpecHash(spec).slice(0, 12)}`;
}
