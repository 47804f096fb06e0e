import { SpaceValidationError } from '../pipelines/spaces/types.js';

/**
 * A user-facing error: printed as one line naming the argument, never as a stack trace. Errors from the
 * other layers opt in the same way, with a `userFacing` property.
 */
export class CliError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Errors whose message is written for the user (they name the field and the allowed values). */
export function isUserFacing(error: unknown): error is Error {
  return error instanceof SpaceValidationError || (error instanceof Error && 'userFacing' in error);
}
