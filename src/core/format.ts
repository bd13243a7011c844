/** The plain-text shapes of a record: the log file's line, and the seeds' production format. */
import { microsToIso, type LogRecord } from './record.js';
import { terminalSafe } from './terminal.js';

/** `<ISO timestamp> [LEVEL] message`, without ANSI codes: a line of the run's log file. */
export function formatLogFileLine(record: LogRecord): string {
  return `${microsToIso(record.timestamp)} [${record.level}] ${plain(record.message)}\n`;
}

/**
 * The message without escape sequences: OSC, DCS and the rest dropped whole, with what they carry
 * (a title, a clipboard's text), not just their first bytes. A line with no ESC is returned as it
 * is: the log file calls this for every line.
 */
export function plain(message: string): string {
  return message.includes('\x1b') ? terminalSafe(message, { colour: false, keepBidi: true }) : message;
}
