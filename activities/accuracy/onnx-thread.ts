/** The worker-thread side of OnnxThread (started through onnx-thread.mjs): runs one job per message. */
import { parentPort } from 'node:worker_threads';
import { registerSpace } from '../../pipelines/spaces/index.js';
import { computeTopOne } from './evaluator.js';
import { computeNaswot } from './naswot-scorer.js';
import type { OnnxJobMessage, OnnxReplyMessage } from './onnx-pool.js';

const port = parentPort;
if (!port) throw new Error('onnx-thread.ts must run in a worker thread started by OnnxThread');

async function runJob(message: OnnxJobMessage): Promise<unknown> {
  registerSpace(message.space);
  switch (message.kind) {
    case 'naswot':
      return computeNaswot(message.request, message.cancel);
    case 'evaluate':
      return computeTopOne(message.request, message.cancel);
  }
}

port.on('message', (message: OnnxJobMessage) => {
  runJob(message).then(
    (result) => port.postMessage({ id: message.id, ok: true, result } satisfies OnnxReplyMessage),
    (error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      const reply: OnnxReplyMessage = { id: message.id, ok: false, error: { name: failure.name, message: failure.message } };
      if (failure.stack) reply.error.stack = failure.stack;
      port.postMessage(reply);
    },
  );
});
