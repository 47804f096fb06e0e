"""The reference side of bench figure 2: the plainest onnxruntime timing loop in Python.

For each model path on the command line: create a session with the given thread counts (graph
optimisation all, sequential execution, CPU provider), feed the same deterministic input blockscope's
onnxruntime child uses, run the warm-up, then time each of the runs with time.perf_counter_ns around
sess.run. Prints one JSON object on stdout.
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort


def deterministic_input(shape):
    """activities/devices/onnxruntime-child.ts: element i is ((i * 7919) % 2001) / 1000 - 1."""
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((i * 7919) % 2001) / 1000 - 1).astype(np.float32).reshape(shape)


def time_model(path, args):
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.intra_op
    options.inter_op_num_threads = args.inter_op
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", args.allow_spinning)
    options.add_session_config_entry("session.inter_op.allow_spinning", args.allow_spinning)
    started = time.perf_counter_ns()
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    session_create_ms = (time.perf_counter_ns() - started) / 1e6
    model_input = session.get_inputs()[0]
    feeds = {model_input.name: deterministic_input(model_input.shape)}

    def timed_run():
        started = time.perf_counter_ns()
        session.run(None, feeds)
        return (time.perf_counter_ns() - started) / 1e6

    warmup_ms = [timed_run() for _ in range(args.warmup)]
    timings_ms = [timed_run() for _ in range(args.runs)]
    return {"path": path, "sessionCreateMs": session_create_ms, "warmupMs": warmup_ms, "timingsMs": timings_ms}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intra-op", type=int, required=True)
    parser.add_argument("--inter-op", type=int, required=True)
    parser.add_argument("--allow-spinning", choices=["0", "1"], default="0")
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    models = [time_model(path, args) for path in args.models]
    print(json.dumps({"onnxruntime": ort.__version__, "numpy": np.__version__, "models": models}))


if __name__ == "__main__":
    main()
