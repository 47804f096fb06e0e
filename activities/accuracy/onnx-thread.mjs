// Entry of OnnxThread's worker thread. Worker threads start without the parent's TypeScript loader, so
// this registers tsx (as bin/blockscope.mjs does for the CLI) before loading the TypeScript job runner.
import { register } from 'tsx/esm/api';

register();
await import('./onnx-thread.ts');
