/** The device activity: measure one batch of a study's architectures on the device this worker serves. */
import type { LatencyMeasurement, Measurer } from '../devices/index.js';
import type { ArtifactStore } from '../storage/index.js';
import { runBatchActivity } from './batch.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { DeviceActivities } from './contracts.js';
import { searchFinalArchitectures } from './search.js';
import { studyKeys } from './keys.js';

export function createDeviceActivities(deps: { store: ArtifactStore; device: string; measurer: Measurer }): DeviceActivities {
  const checkDevice = (device: string) => {
    // A task on the wrong queue would silently mix devices; fail it loudly instead.
    if (device !== deps.device) throw new Error(`this worker measures ${deps.device}, but the task is for ${device}`);
  };
  const measureOne = async (item: { arch: Architecture }, signal: AbortSignal) => {
    const measurement = await deps.measurer.measure(item.arch, { signal });
    return { value: measurement, fromCache: measurement.fromCache };
  };
  return {
    async measureBatch(input) {
      checkDevice(input.device);
      return runBatchActivity<LatencyMeasurement>({
        store: deps.store,
        request: input,
        resultKey: studyKeys(input.studyId).latencyBatch(input.device, input.batchIndex),
        computeOne: measureOne,
      });
    },
    async remeasureSearchResults(input) {
      checkDevice(input.device);
      const items = await searchFinalArchitectures(deps.store, input.searches);
      return runBatchActivity<LatencyMeasurement>({
        store: deps.store,
        request: { studyId: input.studyId, planKey: '', batchIndex: 0, batchSize: items.length },
        resultKey: studyKeys(input.studyId).remeasured(input.device, input.objective),
        loadItems: async () => items,
        computeOne: measureOne,
      });
    },
  };
}
