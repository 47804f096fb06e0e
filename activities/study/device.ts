/** The device activity: measure one batch of a study's architectures on the device this worker serves. */
import type { LatencyMeasurement, Measurer } from '../devices/index.js';
import type { ArtifactStore } from '../storage/index.js';
import { runBatchActivity } from './batch.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import { midpointMs, type DriftProbe } from '../../pipelines/drift.js';
import type { LatencyWorkList } from '../../pipelines/study/work.js';
import type { DeviceActivities } from './contracts.js';
import { searchFinalArchitectures } from './search.js';
import { registerStoredStudySpace, withStudySpaces } from './spaces.js';
import { studyKeys } from './keys.js';
import { readLatencyWork } from './work.js';

export function createDeviceActivities(deps: { store: ArtifactStore; device: string; measurer: Measurer }): DeviceActivities {
  const checkDevice = (device: string) => {
    // A task on the wrong queue would silently mix devices; fail it loudly instead.
    if (device !== deps.device) throw new Error(`this worker measures ${deps.device}, but the task is for ${device}`);
  };
  const measureOne = async (item: { arch: Architecture }, signal: AbortSignal) => {
    const measurement = await deps.measurer.measure(item.arch, { signal });
    return { value: measurement, fromCache: measurement.fromCache };
  };
  let warmedUp = false;
  return withStudySpaces({
    async measureBatch(input) {
      checkDevice(input.device);
      const keys = studyKeys(input.studyId);
      // Read only when the batch is measured: a batch already stored needs no work list.
      let work: Promise<LatencyWorkList> | undefined;
      const loadWork = () => (work ??= readLatencyWork(deps.store, input));
      const probe = async (reference: Architecture, position: number, signal: AbortSignal) => {
        let warmUpMs = 0;
        if (!warmedUp) {
          // A freshly started runtime is slower on its first model (the demo's first probe: +23% over the
          // median): one discarded measurement, once per worker process, keeps that out of the series.
          warmUpMs = (await deps.measurer.measure(reference, { signal, fresh: true })).breakdown.totalMs;
          warmedUp = true;
        }
        const measured = await deps.measurer.measure(reference, { signal, fresh: true });
        const taken: DriftProbe = {
          batchIndex: input.batchIndex,
          position,
          at: new Date(midpointMs(measured.startedAt, measured.measuredAt)).toISOString(),
          medianMs: measured.medianMs,
          deviceMs: warmUpMs + measured.breakdown.totalMs,
        };
        // Stored at once, so the probes of an attempt that dies still bracket what it measured.
        await deps.store.putJson(keys.driftProbe(input.device, input.batchIndex, taken.at), [taken]);
      };
      return runBatchActivity<LatencyMeasurement>({
        store: deps.store,
        request: input,
        resultKey: keys.latencyBatch(input.device, input.batchIndex),
        loadItems: async () => (await loadWork()).items,
        computeOne: measureOne,
        between: async (index: number, batchLength: number, signal: AbortSignal) => {
          const list = await loadWork();
          if (list.probes === null) return;
          const { every, reference } = list.probes;
          const position = list.start + index;
          const due = index === 0 || (index < batchLength && every > 0 && index % every === 0) || (index === batchLength && position === list.total);
          if (due) await probe(reference, position, signal);
        },
      });
    },
    async remeasureSearchResults(input) {
      checkDevice(input.device);
      await registerStoredStudySpace(deps.store, input.studyId);
      const items = await searchFinalArchitectures(deps.store, input.searches);
      return runBatchActivity<LatencyMeasurement>({
        store: deps.store,
        request: { studyId: input.studyId, planKey: '', batchIndex: 0, batchSize: items.length },
        resultKey: studyKeys(input.studyId).remeasured(input.device, input.objective),
        loadItems: async () => items,
        computeOne: measureOne,
      });
    },
  });
}
