/**
 * The 'table' accuracy source: top-1 accuracies (%) a user measured elsewhere, in a CSV or JSON file
 * keyed by architecture (docs/accuracy.md).
 *
 *   CSV: a header row naming the columns `arch` (the architecture's JSON, quoted) or `hash` (its
 *        architectureHash), and `top1` or `accuracy`; other columns are ignored.
 *   JSON: an array of objects { "arch": {...} | "hash": "...", "top1" | "accuracy": 76.3 }.
 *
 * Errors name the file, the line and the column (CSV) or entry (JSON).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { architectureHash, architectureKey, SpaceValidationError, validateArchitecture, type Architecture } from '../../pipelines/spaces/index.js';
import { AccuracyInputError } from './errors.js';

export interface AccuracyTable {
  file: string;
  /** sha256 of the file's bytes. */
  sha256: string;
  /** Number of distinct architectures. */
  size: number;
  /** Top-1 (%) of an architecture; throws AccuracyInputError naming its hash when it is not in the table. */
  top1(arch: Architecture): number;
}

interface TableRow {
  /** Where the row is, for messages: "line 4" or "entry [2] (line 7)". */
  where: string;
  arch?: unknown;
  archWhere?: string;
  hash?: unknown;
  hashWhere?: string;
  top1: unknown;
  top1Where: string;
}

export async function loadAccuracyTable(file: string): Promise<AccuracyTable> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new AccuracyInputError(`accuracy table ${file}: cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, '');
  const rows = /\.json$/i.test(file) || /^\s*\[/.test(text) ? jsonRows(text, file) : csvRows(text, file);
  const entries = tableEntries(rows, file);
  return {
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: entries.size,
    top1(arch: Architecture): number {
      const hash = architectureHash(arch);
      const entry = entries.get(hash);
      if (entry === undefined) {
        throw new AccuracyInputError(
          `architecture ${hash} is not in accuracy table ${file} (${entries.size} architectures); add a row with hash ${hash} or arch ${architectureKey(arch)}`,
        );
      }
      return entry.top1;
    },
  };
}

function tableEntries(rows: TableRow[], file: string): Map<string, { top1: number; where: string }> {
  function fail(where: string, message: string): never {
    throw new AccuracyInputError(`accuracy table ${file}, ${where}: ${message}`);
  }
  const entries = new Map<string, { top1: number; where: string }>();
  for (const row of rows) {
    const top1 = typeof row.top1 === 'string' && row.top1.trim() !== '' ? Number(row.top1) : row.top1;
    if (typeof top1 !== 'number' || !Number.isFinite(top1) || top1 < 0 || top1 > 100) {
      fail(row.top1Where, `expected a top-1 accuracy in percent (0..100), got ${JSON.stringify(row.top1)}`);
    }
    const fromArch = row.arch === undefined ? undefined : hashOfArch(row.arch, row.archWhere ?? row.where, fail);
    const fromHash = row.hash === undefined ? undefined : checkedHash(row.hash, row.hashWhere ?? row.where, fail);
    if (fromArch && fromHash && fromArch !== fromHash) fail(row.where, `hash ${fromHash} is not the hash of its arch (${fromArch})`);
    const hash = fromArch ?? fromHash ?? fail(row.where, 'needs an arch or a hash');
    const earlier = entries.get(hash);
    if (earlier && earlier.top1 !== top1) fail(row.where, `architecture ${hash} already has top-1 ${earlier.top1} at ${earlier.where}`);
    entries.set(hash, earlier ?? { top1, where: row.where });
  }
  return entries;
}

function hashOfArch(raw: unknown, where: string, fail: (where: string, message: string) => never): string {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      fail(where, `arch is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return architectureHash(validateArchitecture(value));
  } catch (error) {
    if (error instanceof SpaceValidationError) return fail(where, `invalid architecture: ${error.message}`);
    throw error;
  }
}

function checkedHash(raw: unknown, where: string, fail: (where: string, message: string) => never): string {
  const hash = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hash)) fail(where, `expected an architecture hash (64 hex digits), got ${JSON.stringify(raw)}`);
  return hash;
}

// ---------------------------------------------------------------------------------------------------------------
// CSV

interface CsvRecord {
  line: number;
  fields: string[];
}

function csvRows(text: string, file: string): TableRow[] {
  const [header, ...records] = parseCsv(text, file);
  if (!header) throw new AccuracyInputError(`accuracy table ${file}: empty file; expected a header row such as "hash,top1"`);
  const names = header.fields.map((name) => name.trim().toLowerCase());
  const column = (...candidates: string[]) => {
    const found = candidates.map((c) => names.indexOf(c)).filter((i) => i >= 0);
    if (found.length > 1) throw new AccuracyInputError(`accuracy table ${file}, line ${header.line}: give only one of the columns ${candidates.join(', ')}`);
    return found[0];
  };
  const archColumn = column('arch');
  const hashColumn = column('hash');
  const top1Column = column('top1', 'accuracy');
  if (archColumn === undefined && hashColumn === undefined) {
    throw new AccuracyInputError(`accuracy table ${file}, line ${header.line}: the header needs an "arch" or a "hash" column, got ${header.fields.join(',')}`);
  }
  if (top1Column === undefined) {
    throw new AccuracyInputError(`accuracy table ${file}, line ${header.line}: the header needs a "top1" or an "accuracy" column, got ${header.fields.join(',')}`);
  }
  const at = (record: CsvRecord, index: number) => `line ${record.line}, column ${index + 1} (${names[index]})`;
  const cell = (record: CsvRecord, index: number | undefined) => {
    const value = index === undefined ? undefined : record.fields[index]?.trim();
    return value === '' ? undefined : value;
  };
  return records
    .filter((record) => record.fields.some((field) => field.trim() !== ''))
    .map((record) => {
      const row: TableRow = { where: `line ${record.line}`, top1: cell(record, top1Column) ?? '', top1Where: at(record, top1Column) };
      const arch = cell(record, archColumn);
      const hash = cell(record, hashColumn);
      if (arch !== undefined && archColumn !== undefined) [row.arch, row.archWhere] = [arch, at(record, archColumn)];
      if (hash !== undefined && hashColumn !== undefined) [row.hash, row.hashWhere] = [hash, at(record, hashColumn)];
      return row;
    });
}

/** RFC 4180 records: comma-separated, fields may be quoted with "" for a quote; CRLF or LF line ends. */
function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    recordLine = line;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      quoteLine = line;
      field = '';
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      line++;
      endRecord();
    } else {
      field += ch;
    }
  }
  if (quoted) throw new AccuracyInputError(`accuracy table ${file}, line ${quoteLine}: a quoted field is never closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON

function jsonRows(text: string, file: string): TableRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? '' : `, ${lineAndColumn(text, Number(position))}`;
    throw new AccuracyInputError(`accuracy table ${file}${where}: invalid JSON: ${message}`);
  }
  if (!Array.isArray(parsed)) throw new AccuracyInputError(`accuracy table ${file}: expected a JSON array of {arch or hash, top1} objects`);
  const lines = topLevelElementLines(text);
  return (parsed as unknown[]).map((entry, i) => {
    const where = `entry [${i}] (line ${lines[i] ?? '?'})`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new AccuracyInputError(`accuracy table ${file}, ${where}: expected an object {arch or hash, top1}`);
    }
    const fields = entry as Record<string, unknown>;
    if ('top1' in fields && 'accuracy' in fields) throw new AccuracyInputError(`accuracy table ${file}, ${where}: give top1 or accuracy, not both`);
    const top1Key = 'accuracy' in fields ? 'accuracy' : 'top1';
    const row: TableRow = { where, top1: fields[top1Key], top1Where: `${where}.${top1Key}` };
    if (fields.arch !== undefined) [row.arch, row.archWhere] = [fields.arch, `${where}.arch`];
    if (fields.hash !== undefined) [row.hash, row.hashWhere] = [fields.hash, `${where}.hash`];
    return row;
  });
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** The line on which each element of a top-level JSON array starts (the text is valid JSON). */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let awaitingElement = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '\n') line++;
    if (/\s/.test(ch)) continue;
    if (depth === 1 && awaitingElement && ch !== ']') {
      lines.push(line);
      awaitingElement = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') awaitingElement = ++depth === 1;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) awaitingElement = true;
  }
  return lines;
}
