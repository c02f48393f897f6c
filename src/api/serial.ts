/**
 * A serial queue: functions run one at a time, in the order they were given. A function that
 * fails does not stop the queue; its caller sees the failure. Used for staged-config writes in
 * the server (the store lock still guards other processes) and for the audit log's appends.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `fn` after everything queued before it has settled; resolves or rejects as `fn` does. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves when everything queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
