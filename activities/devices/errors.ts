/**
 * Errors of the device layer. Each message is written for the user (it names the device, the field or the
 * command, and what would fix it); `userFacing` lets the CLI print it as one line instead of a stack trace.
 */
export class DeviceError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A devices file (or a lookup table file) that does not match its documented format. */
export class DeviceConfigError extends DeviceError {}

export class UnknownDeviceError extends DeviceError {
  constructor(
    readonly deviceId: string,
    readonly knownIds: readonly string[],
  ) {
    super(`unknown device ${JSON.stringify(deviceId)}; known devices: ${knownIds.join(', ')}`);
  }
}

/** The onnxruntime child process failed: it crashed, or onnxruntime rejected the model or the settings. */
export class RunnerError extends DeviceError {}

/** A `command` device's benchmark command timed out, exited non-zero or printed no latency. */
export class BenchmarkCommandError extends DeviceError {}

/** An architecture needs a block that the device's lookup table has no entry for. */
export class LookupTableMissingEntryError extends DeviceError {
  constructor(
    readonly missingKeys: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** The last `maxChars` characters of a process's output, for error messages. */
export function outputTail(text: string, maxChars = 1_500): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= maxChars ? trimmed : `…${trimmed.slice(-maxChars)}`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
