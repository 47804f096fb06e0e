/** The insights stage: per device and objective, insights in plain language and a pruned space document. */
import { deriveInsights, type InsightReport } from '../../pipelines/insights.js';
import type { BlockProfile } from '../../pipelines/profile.js';
import type { StudySpec } from '../../pipelines/study/spec.js';
import type { ArtifactStore } from '../storage/index.js';
import type { ProfileRef } from './contracts.js';
import { studyKeys } from './keys.js';

export type InsightObjective = StudySpec['insights']['objectives'][number];

export interface InsightRef {
  device: string;
  resolution: number;
  objective: InsightObjective;
  reportKey: string;
  prunedSpaceKey: string;
  textKey: string;
  insights: number;
}

/** Objectives whose pruned spaces the study needs: those asked for, plus those the search compares. */
export function insightObjectives(spec: StudySpec): InsightObjective[] {
  return [...new Set([...spec.insights.objectives, ...spec.search.objectives])];
}

export function createInsightActivities(deps: { store: ArtifactStore }) {
  const { store } = deps;

  async function deriveStudyInsights(input: { studyId: string; spec: StudySpec; profiles: ProfileRef[] }): Promise<InsightRef[]> {
    const keys = studyKeys(input.studyId);
    // Insights come from the profile at the search resolution (the spec's first).
    const resolution = input.spec.resolutions[0]!;
    const refs: InsightRef[] = [];
    for (const profileRef of input.profiles.filter((p) => p.resolution === resolution)) {
      const profile = await store.getJson<BlockProfile>(profileRef.jsonKey);
      for (const objective of insightObjectives(input.spec)) {
        const report: InsightReport = deriveInsights(profile, { objective, rules: input.spec.insights.rules, form: input.spec.insights.form });
        const ref: InsightRef = {
          device: profileRef.device,
          resolution,
          objective,
          reportKey: keys.insights(profileRef.device, objective, 'report.json'),
          prunedSpaceKey: keys.insights(profileRef.device, objective, 'pruned-space.json'),
          textKey: keys.insights(profileRef.device, objective, 'insights.txt'),
          insights: report.insights.length,
        };
        await store.putJson(ref.reportKey, report);
        await store.putJson(ref.prunedSpaceKey, report.prunedSpace);
        await store.put(ref.textKey, `${report.insights.map((i) => `- ${i.sentence}`).join('\n')}\n`, { contentType: 'text/plain' });
        refs.push(ref);
      }
    }
    return refs;
  }

  return { deriveStudyInsights };
}
