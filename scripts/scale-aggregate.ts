/**
 * The scale run's aggregation alone (scripts/scale.ts): the orchestrator's aggregateProfiles activity on a
 * finished study's store, in a fresh process, so that its time and peak memory are its own.
 *
 *   tsx scripts/scale-aggregate.ts --store DIR --input FILE ({ studyId, planKey, spec }) --stats FILE
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FsArtifactStore } from '../activities/storage/index.js';
import { createOrchestratorActivities } from '../activities/study/orchestrator.js';
import type { StudySpec } from '../pipelines/study/spec.js';
import { peakRssKiB } from './process-memory.js';

export interface AggregateStats {
  seconds: number;
  /** Resident memory before aggregating (the process with its modules loaded) and at its peak (kB). */
  baselineRssKiB: number;
  peakRssKiB: number;
}

const { values } = parseArgs({ options: { store: { type: 'string' }, input: { type: 'string' }, stats: { type: 'string' } } });
if (!values.store || !values.input || !values.stats) throw new Error('usage: scale-aggregate --store DIR --input FILE --stats FILE');
const input = JSON.parse(readFileSync(values.input, 'utf8')) as { studyId: string; planKey: string; spec: StudySpec };
const activities = createOrchestratorActivities({
  store: new FsArtifactStore(values.store),
  knownDevices: async () => [],
  accuracyScorers: async () => {
    throw new Error('aggregation scores nothing');
  },
});
const baselineRssKiB = Math.round(process.memoryUsage().rss / 1024);
const started = performance.now();
await activities.aggregateProfiles(input);
const stats: AggregateStats = { seconds: (performance.now() - started) / 1000, baselineRssKiB, peakRssKiB: peakRssKiB() };
writeFileSync(values.stats, JSON.stringify(stats));
