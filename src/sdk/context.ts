/**
 * Task context: the id of the task a line belongs to, carried by AsyncLocalStorage so that it
 * follows every await, timer and promise chain started inside `withTask`, and never leaks into
 * work that two concurrent tasks run side by side.
 *
 * Node 20 implements AsyncLocalStorage with async hooks, which cost a little on every promise once
 * the storage is first used; a program that never calls `withTask` pays nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `taskId` as the current task: every line logged inside it, synchronously or
 * after any number of awaits, carries that id. Nested calls: the inner id wins inside the inner
 * call, and the outer one is back after it. Returns what `fn` returns (its promise, if async).
 */
export function withTask<T>(taskId: string, fn: () => T): T {
  return storage.run(taskId, fn);
}

/** The id of the task whose code is running now, or undefined outside any `withTask`. */
export function currentTaskId(): string | undefined {
  return storage.getStore();
}
