/** Where a study's artifacts live in the store. Keys are stable so re-runs find earlier work. */
const pad = (n: number) => String(n).padStart(5, '0');

export const studyKeys = (studyId: string) => ({
  spec: `studies/${studyId}/spec.json`,
  plan: `studies/${studyId}/plan.json`,
  /** One work list per batch (pipelines/study/work.ts), so a batch reads its own architectures, not the plan. */
  accuracyWork: (batchIndex: number) => `studies/${studyId}/work/accuracy/batch-${pad(batchIndex)}.json`,
  latencyWork: (device: string, batchIndex: number) => `studies/${studyId}/work/latency/${device}/batch-${pad(batchIndex)}.json`,
  accuracyBatch: (batchIndex: number) => `studies/${studyId}/accuracy/batch-${pad(batchIndex)}.json`,
  accuracyPrefix: `studies/${studyId}/accuracy/`,
  latencyBatch: (device: string, batchIndex: number) => `studies/${studyId}/latency/${device}/batch-${pad(batchIndex)}.json`,
  latencyPrefix: (device: string) => `studies/${studyId}/latency/${device}/`,
  /** One file per probe (artifacts are immutable, and a retried batch probes again), named by its batch and time. */
  driftProbe: (device: string, batchIndex: number, at: string) => `studies/${studyId}/drift/${device}/probes/batch-${pad(batchIndex)}@${Date.parse(at)}.json`,
  driftPrefix: (device: string) => `studies/${studyId}/drift/${device}/probes/`,
  driftCorrections: (device: string) => `studies/${studyId}/drift/${device}/corrections.json`,
  predictor: (device: string) => `studies/${studyId}/predictor/${device}.json`,
  insights: (device: string, objective: string, file: 'report.json' | 'pruned-space.json' | 'insights.txt') => `studies/${studyId}/insights/${device}/${objective}/${file}`,
  searchResult: (device: string, objective: string, space: string, seed: number) => `studies/${studyId}/search/${device}/${objective}/${space}/seed-${seed}.json`,
  /** A search's state when its workflow continues as new after `step` steps (immutable, so one key per step). */
  searchCheckpoint: (device: string, objective: string, space: string, seed: number, step: number) =>
    `studies/${studyId}/search/${device}/${objective}/${space}/checkpoints/seed-${seed}-step-${step}.json`,
  /** A search stored step by step: its configuration, then one record per step (immutable, so a retried step rewrites the same bytes). */
  searchConfig: (device: string, objective: string, space: string, seed: number) => `studies/${studyId}/search/${device}/${objective}/${space}/steps/seed-${seed}/config.json`,
  searchStep: (device: string, objective: string, space: string, seed: number, step: number) =>
    `studies/${studyId}/search/${device}/${objective}/${space}/steps/seed-${seed}/step-${pad(step)}.json`,
  remeasured: (device: string, objective: string) => `studies/${studyId}/search/${device}/${objective}/remeasured.json`,
  comparison: (device: string, objective: string) => `studies/${studyId}/search/${device}/${objective}/comparison.json`,
  profile: (device: string, resolution: number, extension: 'json' | 'csv') => `studies/${studyId}/profiles/${device}/r${resolution}/profile.${extension}`,
  searchPrefix: (device: string, objective: string) => `studies/${studyId}/search/${device}/${objective}/`,
  report: (file: 'report.html' | 'report.json') => `studies/${studyId}/report/${file}`,
  reportTable: (file: string) => `studies/${studyId}/report/tables/${file}`,
  reportTablesPrefix: `studies/${studyId}/report/tables/`,
});
