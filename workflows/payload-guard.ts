/**
 * Workflow interceptors that keep a payload too large for Temporal from leaving a study stuck. Every payload of
 * a study is small by design (at most 64 KB at any budget a spec accepts, docs/architecture.md); one over
 * PAYLOAD_LIMIT_BYTES would make the SDK log TMPRL1103 and, past the server's 2 MB, fail the workflow task on
 * every retry while the study shows "running". Instead the workflow fails at once, naming the payload and its
 * size. Replayed commands are not checked: a history recorded before is what it is.
 */
import { ApplicationFailure, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The SDK's warning threshold (TMPRL1103) for one payload; the server refuses 2 MB. */
export const PAYLOAD_LIMIT_BYTES = 512 * 1024;

/** The size of a value as the JSON payload converter writes it, in bytes (ASCII-dominated JSON: characters). */
export const payloadBytes = (value: unknown): number => JSON.stringify(value ?? null).length;

/** Why `value` must not be sent as a payload, or undefined when it may. */
export function payloadProblem(what: string, value: unknown): string | undefined {
  const bytes = payloadBytes(value);
  if (bytes <= PAYLOAD_LIMIT_BYTES) return undefined;
  const kb = (n: number) => `${Math.round(n / 1024)} KB`;
  return `${what} is ${kb(bytes)}, over the ${kb(PAYLOAD_LIMIT_BYTES)} a payload of a blockscope workflow may take (Temporal refuses 2 MB and would retry the workflow task for ever); large data must travel through the store by key`;
}

function check(what: string, value: unknown): void {
  if (workflowInfo().unsafe.isReplaying) return;
  const problem = payloadProblem(what, value);
  if (problem) throw ApplicationFailure.nonRetryable(`${workflowInfo().workflowType} ${workflowInfo().workflowId}: ${problem}`, 'PayloadTooLarge');
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity: (input, next) => (check(`the input of activity ${input.activityType}`, input.args), next(input)),
      scheduleLocalActivity: (input, next) => (check(`the input of local activity ${input.activityType}`, input.args), next(input)),
      startChildWorkflowExecution: (input, next) => (check(`the input of child workflow ${input.workflowType}`, input.options.args), next(input)),
      signalWorkflow: (input, next) => (check(`signal ${input.signalName}`, input.args), next(input)),
      continueAsNew: (input, next) => (check('the continue-as-new input', input.args), next(input)),
    },
  ],
  inbound: [
    {
      async execute(input, next) {
        const result = await next(input);
        check('the result', result);
        return result;
      },
    },
  ],
});
