/** `blockscope arch ...`: sample, count, export and list the blocks of architectures. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { canonicalJson } from '../../pipelines/hash.js';
import { exportNetwork } from '../../pipelines/onnx/index.js';
import { sampleArchitectures, sampleWithFixedBlock } from '../../pipelines/sampling.js';
import {
  architectureCounts,
  architectureHash,
  OFA_NET_CONFIG_FORMAT,
  OfaNetConfigFormatError,
  SpaceValidationError,
  blockSpecId,
  blockSpecLabel,
  blockSpecs,
  buildNetwork,
  importOfaNetConfig,
  ofaRunConfigResolution,
  originalSpace,
  parseBlockSpec,
  type SpaceId,
} from '../../pipelines/spaces/index.js';
import { CliError } from '../errors.js';
import { checkResolution, parseIntegerOption, spaceOption, parseResolutionOption, readArchitecture } from '../input.js';

export function archCommand(): Command {
  const arch = new Command('arch').description('Sample, count, export and enumerate architectures of a design space');

  arch
    .command('sample')
    .description('Print N seeded random architectures, one JSON per line (optionally with one block fixed)')
    .addOption(spaceOption())
    .option('--count <n>', 'number of architectures', parseIntegerOption('--count', 1, 1_000_000), 1)
    .option('--seed <seed>', 'random seed (same seed, same architectures on any machine)', '0')
    .option('--fix <spec>', 'fix a block: U,L,BLOCK (MBConv), U,L,BLOCK,W (ResNet), or a block id from `arch blocks`')
    .option('--resolution <r>', 'input resolution', parseResolutionOption, 224)
    .addOption(
      new Option('--depth-rule <rule>', 'depth forcing for --fix: intended (layer always exists) or legacy (the original code)').choices(['intended', 'legacy']).default('intended'),
    )
    .action((opts: { space: SpaceId; count: number; seed: string; fix?: string; resolution: number; depthRule: 'intended' | 'legacy' }) => {
      const resolution = checkResolution(opts.space, opts.resolution);
      const archs = opts.fix
        ? sampleWithFixedBlock(parseBlockSpec(opts.space, opts.fix, '--fix'), opts.count, opts.seed, { space: opts.space, resolution, depthRule: opts.depthRule })
        : sampleArchitectures(originalSpace(opts.space), opts.count, opts.seed, resolution);
      process.stdout.write(archs.map((a) => `${canonicalJson(a)}\n`).join(''));
    });

  arch
    .command('stats')
    .description('Print MACs, parameters and the content hash of an architecture as JSON')
    .addOption(spaceOption())
    .requiredOption('--arch <json|@file>', 'architecture JSON, or @file')
    .action((opts: { space: SpaceId; arch: string }) => {
      const architecture = readArchitecture(opts.arch, opts.space);
      const counts = architectureCounts(architecture);
      process.stdout.write(`${JSON.stringify({ hash: architectureHash(architecture), macs: counts.macs, params: counts.params, bnParams: counts.bnParams })}\n`);
    });

  arch
    .command('export')
    .description('Write the architecture as an ONNX model (opset 17, batch 1, NCHW, float32, seeded weights)')
    .addOption(spaceOption())
    .requiredOption('--arch <json|@file>', 'architecture JSON, or @file')
    .requiredOption('--out <file>', 'where to write the .onnx model')
    .option('--seed <seed>', 'weight seed', '0')
    .action((opts: { space: SpaceId; arch: string; out: string; seed: string }) => {
      const architecture = readArchitecture(opts.arch, opts.space);
      const bytes = exportNetwork(buildNetwork(architecture), { seed: opts.seed });
      writeFileSync(opts.out, bytes);
      process.stderr.write(`wrote ${opts.out} (${bytes.length} bytes, ${architectureCounts(architecture).macs} MACs)\n`);
    });

  arch
    .command('blocks')
    .description('List every block specification (u, l, b) of the space, as the paper enumerates them')
    .addOption(spaceOption())
    .option('--json', 'one JSON object per line instead of a table')
    .action((opts: { space: SpaceId; json?: boolean }) => {
      const lines = blockSpecs(opts.space).map((spec) =>
        opts.json ? canonicalJson({ id: blockSpecId(spec), label: blockSpecLabel(opts.space, spec), spec }) : `${blockSpecId(spec)}\t${blockSpecLabel(opts.space, spec)}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  arch
    .command('import')
    .description(
      'Convert a published network into an architecture of the space, printed as one JSON line (as `arch sample` prints); a net that is not in the space exits 2 with the reason',
    )
    .argument('<FILE>', "OFA's net.config (the input resolution from run.config beside it), or the folder holding both")
    .addOption(new Option('--format <format>', "the file's format: OFA's published specialized nets (docs/spaces.md)").choices([OFA_NET_CONFIG_FORMAT]).makeOptionMandatory())
    .addOption(spaceOption())
    .option('--resolution <r>', "input resolution, instead of run.config's image_size", parseResolutionOption)
    .action((file: string, opts: { space: SpaceId; resolution?: number }) => {
      const { netPath, net, resolution } = readOfaNet(file, opts.space, opts.resolution);
      try {
        const architecture = importOfaNetConfig(opts.space, { net, resolution, resolutionSource: opts.resolution === undefined ? 'run.config image_size' : '--resolution' });
        process.stdout.write(`${canonicalJson(architecture)}\n`);
      } catch (error) {
        if (error instanceof OfaNetConfigFormatError) throw new CliError(`FILE: ${netPath} is not an OFA net.config: ${error.message}`);
        if (error instanceof SpaceValidationError) {
          const hint = error.field === 'run.config image_size' ? ' (--resolution imports the same blocks at one of them)' : '';
          throw new CliError(`FILE: ${netPath} is not in ${opts.space}: ${error.message}${hint}`);
        }
        throw error;
      }
    });

  return arch;
}

/** net.config (FILE, or FILE/net.config for a folder) and the resolution: --resolution, else run.config's image_size beside it. */
function readOfaNet(file: string, space: SpaceId, override: number | undefined): { netPath: string; net: unknown; resolution: number } {
  let isFolder = false;
  try {
    isFolder = statSync(file).isDirectory();
  } catch (error) {
    throw new CliError(`FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const netPath = isFolder ? join(file, 'net.config') : file;
  const net = readJsonFile(netPath);
  if (override !== undefined) return { netPath, net, resolution: checkResolution(space, override) };
  const runPath = join(dirname(netPath), 'run.config');
  try {
    return { netPath, net, resolution: ofaRunConfigResolution(readJsonFile(runPath, ' (or give --resolution)')) };
  } catch (error) {
    if (error instanceof OfaNetConfigFormatError) throw new CliError(`FILE: ${runPath} is not an OFA run.config: ${error.message}`);
    throw error;
  }
}

function readJsonFile(path: string, hint = ''): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})${hint}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`FILE: ${path} is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}
