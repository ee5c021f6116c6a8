// Whether this process traces: set once by startTracing; every span helper checks it first, so with
// tracing off they cost one boolean test and never touch OpenTelemetry.
let enabled = false;

export function tracingEnabled(): boolean {
  return enabled;
}

export function setTracingEnabled(value: boolean): void {
  enabled = value;
}
