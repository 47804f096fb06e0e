/** Study specs from presets (presets/NAME.yaml) or YAML/JSON files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseStudySpec, type StudySpec } from '../pipelines/study/spec.js';
import { CliError } from './errors.js';

const PRESETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../presets');

export function presetNames(): string[] {
  return readdirSync(PRESETS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** The raw (unvalidated) spec behind a preset name or a file path. */
export function readRawSpec(nameOrPath: string): unknown {
  const preset = resolve(PRESETS_DIR, `${nameOrPath}.yaml`);
  const file = /^[a-z0-9-]+$/.test(nameOrPath) && existsSync(preset) ? preset : nameOrPath;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`SPEC: ${JSON.stringify(nameOrPath)} is neither a preset (${presetNames().join(', ')}) nor a readable file`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new CliError(`SPEC: ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function loadSpec(nameOrPath: string): StudySpec {
  return parseStudySpec(readRawSpec(nameOrPath));
}
