export { AppError, isAppError, assertNever } from './errors';
export type { ErrorCode, AppErrorOptions } from './errors';
export { systemClock, FakeClock } from './clock';
export type { Clock } from './clock';
export { isPlainObject } from './json';
export type { Json, JsonObject } from './json';
