/**
 * runlog/sdk: the public surface only. Everything a program imports from 'runlog/sdk' is named
 * here; the files beside it are free to change behind it.
 */
export { LogBuffer, type LogBufferOptions, type LogBufferStats } from './buffer.js';
export { captureConsole, type CaptureConsoleOptions, type ConsoleMethod } from './console.js';
export { currentTaskId, withTask } from './context.js';
export { productionLine } from './format.js';
export { createLogger, type LogDrops, type LogMethod, type LogSink, type Logger, type LoggerOptions } from './logger.js';
export type { Level, LogRecord } from '../core/record.js';
export { createWorker, type RunlogWorker, type WorkerOptions } from './worker.js';
