/** `blockscope study ...`: start, watch, pause, cancel, list studies and fetch their results. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { openArtifactStore } from '../../activities/storage/index.js';
import { studyReportFiles } from '../../activities/study/report.js';
import { registerStudySpace, type StudySpec } from '../../pipelines/study/spec.js';
import { cancelStudy, listStudies, pauseStudy, problemLine, resumeStudy, retryingLine, startStudy, studyResult, studyStatus } from '../../workers/study-client.js';
import { workflowUiLink } from '../../workers/temporal.js';
import { addRuntimeOptions, connectClient, storeConfig, temporalSettings, type RuntimeFlags } from '../runtime-options.js';
import { campaignLine, ProgressPrinter } from '../progress.js';
import { readRawSpec } from '../spec-file.js';
import type { Client } from '@temporalio/client';

async function withClient<T>(flags: RuntimeFlags, fn: (client: Client, uiLink: (id: string) => string) => Promise<T>): Promise<T> {
  const { client, settings, close } = await connectClient(flags);
  try {
    return await fn(client, (id) => workflowUiLink(settings, id));
  } finally {
    await close();
  }
}

/** Polls the study until it closes, drawing progress; returns the final status. */
export async function watchStudy(client: Client, workflowId: string, intervalMs = 2000): Promise<string> {
  const printer = new ProgressPrinter();
  let lastPrinted = 0;
  let lastAlerts = '';
  for (;;) {
    const report = await studyStatus(client, workflowId);
    const closed = report.status !== 'RUNNING';
    // A workflow that becomes stuck, or an activity that starts being retried, is printed at once even off a TTY.
    const alerts = [...report.problems.map((p) => p.workflowId), ...report.retrying.map((a) => `${a.workflowId}/${a.activityType}`)].join(' ');
    if (printer.interactive || closed || alerts !== lastAlerts || Date.now() - lastPrinted > 30_000) {
      lastAlerts = alerts;
      const stage = report.progress ? `${report.progress.stage}${report.progress.paused ? ' (paused)' : ''}` : report.status.toLowerCase();
      const problems = report.problems.map((p) => `STUCK: ${problemLine(p)}`);
      const retrying = report.retrying.map((a) => `retrying: ${retryingLine(a)}`);
      printer.show([`${workflowId}: ${stage}${problems.length > 0 ? ' (stuck)' : ''}`, ...report.campaigns.map(campaignLine), ...problems, ...retrying]);
      lastPrinted = Date.now();
    }
    if (closed) return report.status;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function studyCommand(): Command {
  const study = new Command('study').description('Run and inspect durable studies on Temporal');

  addRuntimeOptions(
    study
      .command('start')
      .description('Start a study from a preset name or a YAML/JSON spec file; prints the workflow id and UI link')
      .argument('<spec>', 'preset (demo, paper-ofa-mbv3, paper-proxylessnas, paper-resnet50) or a spec file')
      .option('--wait', 'wait for the study to finish, showing progress'),
  ).action(async (specArg: string, opts: RuntimeFlags & { wait?: boolean }) => {
    const raw = readRawSpec(specArg);
    await withClient(opts, async (client, uiLink) => {
      const started = await startStudy(client, raw, { uiUrl: temporalSettings(opts).uiUrl });
      process.stdout.write(`${started.workflowId}\n`);
      process.stderr.write(`${started.started ? 'started' : 'already running or completed'}: ${uiLink(started.workflowId)}\n`);
      if (opts.wait) {
        const status = await watchStudy(client, started.workflowId);
        if (status !== 'COMPLETED') process.exitCode = 1;
      }
    });
  });

  addRuntimeOptions(study.command('status').description('Stage and per-device progress (done/total, ETA) of a study').argument('<id>', 'workflow id')).action(
    async (id: string, opts: RuntimeFlags) => {
      await withClient(opts, async (client) => {
        const report = await studyStatus(client, id);
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        for (const problem of report.problems) process.stderr.write(`stuck: ${problemLine(problem)}\n`);
        for (const activity of report.retrying) process.stderr.write(`retrying: ${retryingLine(activity)}\n`);
      });
    },
  );

  addRuntimeOptions(study.command('list').description('Studies on this namespace, newest first')).action(async (opts: RuntimeFlags) => {
    await withClient(opts, async (client) => {
      for (const s of await listStudies(client)) {
        const status = s.problems.length > 0 ? `${s.status} (STUCK: ${s.problems.map(problemLine).join('; ')})` : s.status;
        process.stdout.write(`${s.workflowId}\t${status}\t${s.stage}\t${s.space}\t${s.devices.join(',')}\t${s.startTime.toISOString()}\n`);
      }
    });
  });

  for (const [name, description, action] of [
    ['cancel', 'Cancel a study; device work stops cleanly and nothing measured is lost', cancelStudy],
    ['pause', 'Pause measurement after the batches in flight', pauseStudy],
    ['resume', 'Resume a paused study', resumeStudy],
  ] as const) {
    addRuntimeOptions(study.command(name).description(description).argument('<id>', 'workflow id')).action(async (id: string, opts: RuntimeFlags) => {
      await withClient(opts, async (client) => {
        await action(client, id);
        process.stderr.write(`${name}: ${id}\n`);
      });
    });
  }

  addRuntimeOptions(
    study
      .command('report')
      .description("Write a finished study's report (self-contained HTML), its data (JSON), every table (CSV) and the profiles to a folder")
      .argument('<id>', 'workflow id')
      .requiredOption('--out <dir>', 'output folder'),
  ).action(async (id: string, opts: RuntimeFlags & { out: string }) => {
    await withClient(opts, async (client) => {
      const result = await studyResult(client, id);
      const store = openArtifactStore(storeConfig());
      const out = resolve(opts.out);
      const write = (path: string, data: Uint8Array | string) => {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, data);
      };
      for (const profile of result.profiles) {
        for (const key of [profile.jsonKey, profile.csvKey]) write(resolve(out, 'profiles', profile.device, `r${profile.resolution}`, basename(key)), await store.get(key));
      }
      if (result.report) {
        write(resolve(out, 'report.html'), await store.get(result.report.htmlKey));
        write(resolve(out, 'report.json'), await store.get(result.report.jsonKey));
        for (const key of result.report.csvKeys) write(resolve(out, 'tables', basename(key)), await store.get(key));
      } else {
        // A study from before the report stage: render it now from its artifacts.
        const settings = temporalSettings(opts);
        const spec = await store.getJson<StudySpec>(result.prepared.specKey);
        registerStudySpace(spec);
        const files = await studyReportFiles(store, { ...result, spec, uiUrl: settings.uiUrl, namespace: settings.namespace });
        write(resolve(out, 'report.html'), files.html);
        write(resolve(out, 'report.json'), `${JSON.stringify(files.data, null, 2)}\n`);
        for (const [name, csv] of Object.entries(files.csv)) write(resolve(out, 'tables', name), csv);
      }
      write(resolve(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
      process.stderr.write(`wrote ${resolve(out, 'report.html')}, ${result.profiles.length} profile(s) and the tables to ${out}\n`);
    });
  });

  return study;
}
