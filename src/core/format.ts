/** The plain-text shapes of a record: the log file's line, and the seeds' production format. */
import { stripVTControlCharacters } from 'node:util';
import { microsToIso, type LogRecord } from './record.js';

/** `<ISO timestamp> [LEVEL] message`, without ANSI codes: a line of the run's log file. */
export function formatLogFileLine(record: LogRecord): string {
  return `${microsToIso(record.timestamp)} [${record.level}] ${plain(record.message)}\n`;
}

export function plain(message: string): string {
  return message.includes('\x1b') ? stripVTControlCharacters(message) : message;
}
