/** `blockscope accuracy`, `insights` and `search`: the metric, insight and search stages on their own. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { createAccuracyScorer, createTensorDatasetEvaluator } from '../../activities/accuracy/index.js';
import { createMeasurer, loadDevices } from '../../activities/devices/index.js';
import { openArtifactStore } from '../../activities/storage/index.js';
import type { PredictorArtifact } from '../../activities/study/search.js';
import { OFA_PREDICTOR_SPACE, PREDICTOR_FORMATS, PREDICTOR_LABEL, type PredictorFormat } from '../../pipelines/accuracy-predictor.js';
import { DERIVED_SPACE_FORMS, deriveInsights, paperInsightSpaces, type DerivedSpaceForm } from '../../pipelines/insights.js';
import type { BlockProfile } from '../../pipelines/profile.js';
import {
  PAPER_SPACE_NAMES,
  compareMaxAccuracyRuns,
  compareParetoRuns,
  checkedOutcome,
  plausibleLatency,
  predictedOutcome,
  runSearch,
  searchConfig,
  type EvaluatedArchitecture,
  type EvaluationOutcome,
  type PaperSpaceName,
  type SearchObjective,
  type SearchResult,
} from '../../pipelines/search/index.js';
import { parseInsightRules } from '../../pipelines/study/spec.js';
import { originalSpace, parseSpaceId, validateSpaceDocument, type Architecture, type SpaceDocument, type SpaceId } from '../../pipelines/spaces/index.js';
import { CliError } from '../errors.js';
import { CountProgress } from '../progress.js';
import { parseIntegerOption, parseSpaceOption, spaceOption, readArchitecture, readJsonArgument } from '../input.js';
import { storeConfig } from '../runtime-options.js';

const objectiveOption = () => new Option('--objective <objective>', 'pareto (accuracy-latency front) or max-accuracy').choices(['pareto', 'max-accuracy']).makeOptionMandatory();

interface AccuracyOptions {
  source: 'proxy' | 'table' | 'predictor' | 'evaluator';
  space: SpaceId;
  arch: string;
  table?: string;
  weights?: string;
  format: PredictorFormat;
  dataset?: string;
  models?: string;
  seed: string;
  batch: number;
}

export function accuracyCommand(): Command {
  return new Command('accuracy')
    .description(
      "Score one architecture: the NASWOT training-free proxy (not accuracy), a table of measured top-1, OFA's trained accuracy predictor (predicted top-1), or the tensor-dataset evaluator",
    )
    .addOption(new Option('--source <source>', 'proxy | table | predictor | evaluator').choices(['proxy', 'table', 'predictor', 'evaluator']).default('proxy'))
    .addOption(spaceOption())
    .requiredOption('--arch <json|@file>', 'architecture JSON, or @file')
    .option('--table <file>', 'accuracy table (CSV or JSON) for --source table; see docs/accuracy.md')
    .option('--weights <file>', "predictor weights for --source predictor: OFA's acc_predictor as JSON tensors (docs/accuracy.md)")
    .addOption(new Option('--format <format>', 'predictor format for --source predictor').choices([...PREDICTOR_FORMATS]).default('ofa-mlp'))
    .option('--dataset <file>', 'tensor dataset header (JSON) for --source evaluator')
    .option('--models <dir>', 'trained models <archHash>.onnx for --source evaluator (default: seeded weights)')
    .option('--seed <seed>', 'proxy input/weight seed', '0')
    .option('--batch <n>', 'NASWOT mini-batch size', parseIntegerOption('--batch', 2, 128), 16)
    .action(async (opts: AccuracyOptions) => {
      if (opts.source === 'predictor') {
        if (!opts.weights) throw new CliError("--weights: required with --source predictor (OFA's accuracy predictor as JSON, docs/accuracy.md)");
        if (opts.space !== OFA_PREDICTOR_SPACE) throw new CliError(`--space: --source predictor (format ${opts.format}) covers ${OFA_PREDICTOR_SPACE} only, not ${opts.space}`);
      }
      const arch = readArchitecture(opts.arch, opts.space);
      if (opts.source === 'evaluator') {
        if (!opts.dataset) throw new CliError('--dataset: required with --source evaluator (a tensor dataset header, docs/accuracy.md)');
        const evaluator = createTensorDatasetEvaluator({ dataset: opts.dataset, ...(opts.models ? { models: opts.models } : {}) });
        try {
          process.stdout.write(`${JSON.stringify({ source: 'evaluator', ...(await evaluator.evaluateAccuracy({ arch, resolution: arch.resolution })) })}\n`);
        } finally {
          await evaluator.close();
        }
        return;
      }
      if (opts.source === 'table' && !opts.table) throw new CliError('--table: required with --source table');
      const scorer = createAccuracyScorer(
        {
          source: opts.source === 'proxy' ? 'naswot-proxy' : opts.source,
          proxyBatch: opts.batch,
          seed: opts.seed,
          ...(opts.table ? { table: opts.table } : {}),
          ...(opts.source === 'predictor' && opts.weights ? { predictor: { format: opts.format, weights: opts.weights } } : {}),
        },
        openArtifactStore(storeConfig()),
      );
      try {
        const scored = await scorer.score(arch);
        // A prediction says what it is: the label travels with the number.
        const label = scored.value.source === 'predictor' ? { label: PREDICTOR_LABEL } : {};
        process.stdout.write(`${JSON.stringify({ ...scored.value, ...label, fromCache: scored.fromCache })}\n`);
      } finally {
        await scorer.close();
      }
    });
}

export function insightsCommand(): Command {
  return new Command('insights')
    .description('Derive insights and a pruned design space from a block-wise profile (profile.json of a study)')
    .requiredOption('--profile <file>', 'profile.json written by a study')
    .requiredOption('--device <id>', 'the device the profile is for (checked against the profile)')
    .addOption(objectiveOption())
    .requiredOption('--out <file>', 'where to write the pruned space document')
    .addOption(
      new Option('--form <form>', "paper: one block list for all units, as the paper's spaces; per-unit: a block list per unit").choices([...DERIVED_SPACE_FORMS]).default('paper'),
    )
    .option('--rules <json|@file>', 'rule overrides, e.g. {"familyLatencyThreshold": 0.02} (docs/insights.md)')
    .option('--report <file>', 'also write the full insight report (sensitivity, correlation, friendliness, diff)')
    .addOption(new Option('--space <file>', "the space definition file of a profile of a user's space (docs/spaces.md)").argParser(parseSpaceOption))
    .action((opts: { profile: string; device: string; objective: SearchObjective; out: string; form: DerivedSpaceForm; rules?: string; report?: string; space?: SpaceId }) => {
      const profile = readJsonArgument('--profile', `@${opts.profile}`) as BlockProfile;
      if (profile.kind !== 'blockscope.profile/v1') throw new CliError(`--profile: ${opts.profile} is not a blockscope profile (kind ${JSON.stringify(profile.kind)})`);
      if (opts.space && opts.space !== profile.space) throw new CliError(`--space: the profile is of space ${profile.space}, not ${opts.space}`);
      parseSpaceId(profile.space, '--profile: space');
      if (profile.device !== opts.device) throw new CliError(`--device: the profile is for ${profile.device}, not ${opts.device}`);
      const rules = opts.rules ? parseInsightRules(readJsonArgument('--rules', opts.rules), '--rules') : {};
      const report = deriveInsights(profile, { objective: opts.objective, rules, form: opts.form });
      writeFileSync(opts.out, `${JSON.stringify(report.prunedSpace, null, 2)}\n`);
      if (opts.report) writeFileSync(opts.report, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${report.insights.map((i) => `- ${i.sentence}`).join('\n') || '- no insight passed the rules: the space is left as it is'}\n`);
      process.stderr.write(`wrote ${opts.out}${opts.report ? ` and ${opts.report}` : ''}\n`);
    });
}

function frontCsv(entries: EvaluatedArchitecture[]): string {
  const rows = entries.map((e) => [e.hash, e.accuracy, e.latencyMs, e.macs, JSON.stringify(JSON.stringify(e.arch))].join(','));
  return `hash,accuracy,latency_ms,macs,arch\n${rows.join('\n')}\n`;
}

export function searchCommand(): Command {
  return new Command('search')
    .description('Random-mutation search of the original space (and pruned ones, compared at equal budget and seeds)')
    .addOption(spaceOption())
    .option('--pruned <file>', 'a pruned space document (from `blockscope insights`): search it too and compare')
    .addOption(new Option('--paper <name...>', "the paper's insight spaces to search too and compare (design-spaces.md section 7)").choices([...PAPER_SPACE_NAMES]))
    .requiredOption('--device <id>', 'latency on this device (measured, cached), or from --predictor')
    .addOption(objectiveOption())
    .option('--budget <n>', 'evaluations per iteration (the paper: 200 Pareto, 50 max-accuracy)', parseIntegerOption('--budget', 1))
    .option('--iterations <n>', 'mutation iterations (the paper: 10 Pareto, 4 max-accuracy)', parseIntegerOption('--iterations', 0))
    .option('--initial <n>', 'random initial set (the paper: 100 Pareto, 20 max-accuracy)', parseIntegerOption('--initial', 1))
    .option('--seeds <k>', 'seeds 1..K for each space', parseIntegerOption('--seeds', 1, 50), 1)
    .option('--predictor <file>', "a study's latency predictor (studies/<id>/predictor/<device>.json) instead of measuring every candidate")
    .option('--resolution <r>', 'input resolution', parseIntegerOption('--resolution', 1), 224)
    .option('--devices <file>', 'device config file (env BLOCKSCOPE_DEVICES)')
    .requiredOption('--out <dir>', 'output folder for fronts/top-k (JSON and CSV) and the comparison')
    .action(
      async (opts: {
        space: SpaceId;
        pruned?: string;
        paper?: PaperSpaceName[];
        device: string;
        objective: SearchObjective;
        budget?: number;
        iterations?: number;
        initial?: number;
        seeds: number;
        predictor?: string;
        resolution: number;
        devices?: string;
        out: string;
      }) => {
        const spaces: { name: string; doc: SpaceDocument }[] = [{ name: 'original', doc: originalSpace(opts.space) }];
        if (opts.pruned) {
          const doc = validateSpaceDocument(readJsonArgument('--pruned', `@${opts.pruned}`));
          if (doc.space !== opts.space) throw new CliError(`--pruned: the document is for ${doc.space}, not ${opts.space}`);
          spaces.push({ name: 'pruned', doc });
        }
        for (const name of new Set(opts.paper ?? [])) {
          const doc = paperInsightSpaces(opts.space)[name];
          if (!doc) throw new CliError(`--paper: the paper has no ${name} space for ${opts.space}; allowed: ${Object.keys(paperInsightSpaces(opts.space)).join(', ')}`);
          spaces.push({ name: `paper:${name}`, doc });
        }
        const store = openArtifactStore(storeConfig());
        const scorer = createAccuracyScorer({ source: 'naswot-proxy', proxyBatch: 16, seed: 0 }, store);
        const predictor = opts.predictor ? (JSON.parse(readFileSync(opts.predictor, 'utf8')) as PredictorArtifact) : undefined;
        const measurer = predictor ? undefined : createMeasurer((await loadDevices(opts.devices ?? process.env.BLOCKSCOPE_DEVICES)).get(opts.device), { cache: store });
        const outcome = async (arch: Architecture, accuracy: number): Promise<EvaluationOutcome> =>
          predictor ? predictedOutcome(accuracy, plausibleLatency(predictor.model, arch)) : checkedOutcome({ accuracy, latencyMs: (await measurer!.measure(arch)).medianMs });
        const out = resolve(opts.out);
        const results = new Map<string, SearchResult[]>(spaces.map((space) => [space.name, []]));
        // At most this many evaluations: memoised repeats make the real count smaller.
        const budget = {
          resolution: opts.resolution,
          ...(opts.budget !== undefined ? { budgetPerIteration: opts.budget } : {}),
          ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}),
          ...(opts.initial !== undefined ? { initialSize: opts.initial } : {}),
        };
        const perSearch = searchConfig(originalSpace(opts.space), opts.objective, budget);
        const progress = new CountProgress('search', opts.seeds * spaces.length * (perSearch.initialSize + perSearch.iterations * perSearch.budgetPerIteration));
        let evaluatedTotal = 0;
        try {
          for (let seed = 1; seed <= opts.seeds; seed++) {
            for (const space of spaces) {
              const config = searchConfig(space.doc, opts.objective, { ...budget, seed });
              let evaluated = 0;
              const result = await runSearch(config, async (archs) => {
                const scores = [];
                for (const arch of archs) {
                  scores.push(await outcome(arch, (await scorer.score(arch)).value.score));
                  evaluated += 1;
                  evaluatedTotal += 1;
                  progress.update(evaluatedTotal, `(${space.name}, seed ${seed}: ${evaluated})`);
                }
                return scores;
              });
              results.get(space.name)!.push(result);
              const dir = resolve(out, space.name.replace(':', '-'));
              mkdirSync(dir, { recursive: true });
              writeFileSync(resolve(dir, `seed-${seed}.json`), `${JSON.stringify(result, null, 2)}\n`);
              writeFileSync(resolve(dir, `seed-${seed}.${opts.objective === 'pareto' ? 'front' : 'top'}.csv`), frontCsv(opts.objective === 'pareto' ? result.front : result.top));
            }
          }
        } finally {
          await scorer.close();
          await measurer?.close();
        }
        const lines = [`space          seed  evaluations  front  best accuracy (proxy)  at latency ms`];
        for (const [name, runs] of results) {
          for (const r of runs) {
            const best = r.top[0]!;
            lines.push(
              `${name.padEnd(14)} ${String(r.seed).padStart(4)}  ${String(r.evaluationCount).padStart(11)}  ${String(r.front.length).padStart(5)}  ${best.accuracy.toFixed(3).padStart(21)}  ${best.latencyMs.toFixed(3).padStart(13)}`,
            );
          }
        }
        if (spaces.length > 1) {
          const runs = { device: opts.device, arms: [...results].map(([arm, armRuns]) => ({ arm, runs: armRuns })) };
          const comparison = opts.objective === 'pareto' ? compareParetoRuns(runs) : compareMaxAccuracyRuns(runs);
          writeFileSync(resolve(out, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
          lines.push(
            ...(comparison.objective === 'pareto'
              ? comparison.arms.map((a) => `hypervolume ${a.arm} ${a.hypervolume.mean.toFixed(4)} ± ${a.hypervolume.std.toFixed(4)}, / original ${a.ratio?.toFixed(3) ?? 'n/a'}`)
              : comparison.arms.map((a) => `best accuracy ${a.arm} ${a.accuracy.mean.toFixed(3)} ± ${a.accuracy.std.toFixed(3)}`)),
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
