/**
 * Counting what arrives through Node's event-driven mechanisms ('data' bytes, 'message' messages),
 * so a sender can await "n more have arrived" without a promise per event, and learns at once when
 * the other side went away instead of waiting forever.
 */
export class Arrivals {
  #count = 0;
  #target = Number.POSITIVE_INFINITY;
  #resolve: (() => void) | null = null;
  #reject: ((error: Error) => void) | null = null;
  #failure: Error | null = null;

  add(units: number): void {
    this.#count += units;
    if (this.#count >= this.#target) this.#settle(null);
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#settle(error);
  }

  /** Resolves once `units` more have arrived than so far (call before sending what they answer). */
  expect(units: number): Promise<void> {
    return this.reach(this.#count + units);
  }

  /** Resolves once `total` units have arrived since this object was made. */
  reach(total: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#count >= total) return Promise.resolve();
    this.#target = total;
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  #settle(error: Error | null): void {
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.#resolve = this.#reject = null;
    this.#target = Number.POSITIVE_INFINITY;
    if (error) reject?.(error);
    else resolve?.();
  }
}

/**
 * Counts writes whose callback has fired, so a sender can keep many writes in flight and wait only
 * when Node says its buffer is full (write/send returned false) or at the end.
 */
export class Flushes {
  #flushed = 0;
  #wanted = Number.POSITIVE_INFINITY;
  #wake: ((error?: Error | null) => void) | null = null;
  #failure: Error | null = null;

  /** Pass as the write's callback. */
  readonly done = (error?: Error | null): void => {
    if (error) this.#failure ??= error;
    this.#flushed++;
    if (this.#wake && (this.#flushed >= this.#wanted || this.#failure)) {
      const wake = this.#wake;
      this.#wake = null;
      wake(this.#failure);
    }
  };

  /** Resolves once `total` writes (counted since this object was made) have been flushed. */
  until(total: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#flushed >= total) return Promise.resolve();
    this.#wanted = total;
    return new Promise<void>((resolve, reject) => {
      this.#wake = (error) => (error ? reject(error) : resolve());
    });
  }
}
