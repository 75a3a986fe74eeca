/**
 * Errors that name the problem. Every check in kernel-lib throws one of these
 * with the offending field, value and rule in the message.
 */

/** A configuration value broke a rule. `field` is the config path, e.g. `head.width`. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly rule: string,
  ) {
    super(`invalid config: ${field} = ${JSON.stringify(value)}: ${rule}`);
    this.name = 'ConfigError';
  }
}

/** A tensor had the wrong shape or dtype. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** A checkpoint file was unreadable, truncated, or did not match the model. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}
