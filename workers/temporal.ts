/**
 * Temporal plumbing shared by the workers, the embedded default and the CLI: connection settings,
 * search-attribute registration, namespace retention and the workflow bundle.
 */
import { fileURLToPath } from 'node:url';
import { type Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import Long from 'long';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { connectionSecurityFromEnv, type TemporalConnectionSettings } from './connection.js';

export interface TemporalSettings extends TemporalConnectionSettings {
  namespace: string;
  /** Base URL of the Temporal Web UI, for links printed to the user. */
  uiUrl: string;
}

export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  return {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    uiUrl: env.BLOCKSCOPE_UI_URL ?? 'http://127.0.0.1:8233',
    ...connectionSecurityFromEnv(env),
  };
}

export function workflowUiLink(settings: TemporalSettings, workflowId: string): string {
  return `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

// @temporalio/proto is CommonJS: a default import works both under tsx/Node ESM and vitest.
const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED_TYPES: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers blockscope's search attributes on the namespace (a no-op for those already there). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((key) => !known.has(key.name));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPES[key.type]!])),
    });
  }
  return missing.map((key) => key.name);
}

/** Keeps closed studies auditable for `days` (the dev server's default retention is 24 hours). */
export async function setNamespaceRetention(connection: Connection, namespace: string, days: number): Promise<void> {
  await connection.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(days * 24 * 60 * 60) } },
  });
}

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Bundled with every blockscope workflow: a payload too large for Temporal fails the workflow with its name and size. */
export const PAYLOAD_GUARD_PATH = fileURLToPath(new URL('../workflows/payload-guard.ts', import.meta.url));

let bundlePromise: Promise<WorkflowBundle> | undefined;

/** The workflow code, bundled once per process (webpack + swc take a second or two). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundlePromise ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: [PAYLOAD_GUARD_PATH], logger: quietBundlerLogger });
  return bundlePromise;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
