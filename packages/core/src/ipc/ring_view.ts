/**
 * A message in place in a ring's data area, handed out by `reader.peekView()` and
 * `writer.reserveView()`: its bytes are the ring's own, so reading or writing them copies nothing.
 * It is valid until the message is given back (`release()`, `commit()`, `cancel()`); after that
 * the bytes belong to the other side, and `bytes` throws instead of handing them out.
 */

let endView: (view: RingView, how: string) => void;

/** A message in place in a ring, valid until it is released (reader) or committed or cancelled (writer). */
export class RingView {
  #bytes: Uint8Array | null;
  #ended = "";

  /** @internal made by `reader.peekView()` and `writer.reserveView()` */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  static {
    endView = (view, how) => {
      view.#bytes = null;
      view.#ended = how;
    };
  }

  /**
   * The message's bytes in the ring. Use them before the message is given back and never keep
   * them: once it is, this throws, but an array taken from it earlier would still reach bytes that
   * now belong to the other side.
   */
  get bytes(): Uint8Array {
    if (this.#bytes === null) throw new Error(`this ring view is no longer valid: its message was ${this.#ended}; a view may be used only until then`);
    return this.#bytes;
  }

  /** The message's length in bytes (throws, as `bytes`, once the view is no longer valid). */
  get length(): number {
    return this.bytes.byteLength;
  }

  /** False once the message was released, committed or cancelled. */
  get valid(): boolean {
    return this.#bytes !== null;
  }
}

/** Makes `view` invalid: its message was given back (`how` says how, for the error). */
export function invalidateView(view: RingView, how: string): void {
  endView(view, how);
}
