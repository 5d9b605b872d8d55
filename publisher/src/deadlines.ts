interface Waiter {
  deadline: number;
  reject: (error: unknown) => void;
  done: boolean;
}

/**
 * `Promise.race(promise, timeout)` for many concurrent promises with one shared timer. Every promise gets the same
 * time limit, so deadlines arrive in insertion order: waiters queue up, and a single timer is armed for the oldest
 * unsettled one. Settling only marks a waiter done (no clearTimeout); the timer skips done waiters when it fires.
 * Costs one timer per time limit instead of a setTimeout, a clearTimeout and a race per promise.
 */
export class Deadlines {
  private readonly waiters: Waiter[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly timeoutError: () => Error,
  ) {}

  /** Settles as `promise` does, or rejects with `timeoutError()` once `timeoutMs` have passed. */
  within<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { deadline: performance.now() + this.timeoutMs, reject, done: false };
      this.waiters.push(waiter);
      if (this.timer === undefined) this.arm(waiter.deadline);
      promise.then(
        (value) => {
          waiter.done = true;
          resolve(value);
        },
        (error: unknown) => {
          waiter.done = true;
          reject(error);
        },
      );
    });
  }

  private arm(deadline: number): void {
    // Unref'd: a pending request keeps the process alive through its socket; an idle timer should not.
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - performance.now()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.waiters.length) {
      const waiter = this.waiters[this.head] as Waiter;
      if (!waiter.done) {
        if (waiter.deadline > now) break;
        waiter.done = true;
        waiter.reject(this.timeoutError());
      }
      this.head++;
    }
    if (this.head === this.waiters.length) {
      this.waiters.length = 0;
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    this.arm((this.waiters[this.head] as Waiter).deadline);
  }
}

/** Waits until every promise has settled, or `timeoutMs` have passed, whichever is first. Never rejects. */
export async function settledWithin(promises: Iterable<Promise<unknown>>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
