/** Where a study's artifacts live in the store. Keys are stable so re-runs find earlier work. */
const pad = (n: number) => String(n).padStart(5, '0');

export const studyKeys = (studyId: string) => ({
  spec: `studies/${studyId}/spec.json`,
  plan: `studies/${studyId}/plan.json`,
  accuracyBatch: (batchIndex: number) => `studies/${studyId}/accuracy/batch-${pad(batchIndex)}.json`,
  accuracyPrefix: `studies/${studyId}/accuracy/`,
  latencyBatch: (device: string, batchIndex: number) => `studies/${studyId}/latency/${device}/batch-${pad(batchIndex)}.json`,
  latencyPrefix: (device: string) => `studies/${studyId}/latency/${device}/`,
  profile: (device: string, resolution: number, extension: 'json' | 'csv') => `studies/${studyId}/profiles/${device}/r${resolution}/profile.${extension}`,
});
