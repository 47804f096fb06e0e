/**
 * A problem with what the user gave the accuracy layer (a table file, a dataset, a model, a source that
 * cannot be scored here). The message names the file, line and field; retrying cannot fix it.
 */
export class AccuracyInputError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    // The error type Temporal reports is the name; the study's campaigns do not retry 'InvalidInputError'.
    this.name = 'InvalidInputError';
  }
}
