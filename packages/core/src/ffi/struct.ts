/**
 * C structs over memory, read and written in place. A layout is declared once with koffi's struct
 * types (so sizes and offsets follow the C alignment rules, and the layout test compares them with
 * the C compiler's `sizeof`/`offsetof`); `layout.at(bytes)` then gives an object whose properties
 * read and write those bytes directly: reading `count` of a struct in shared memory reads the shared
 * memory at that moment, and no copy of the struct is ever made.
 */
import { koffi, type KoffiType } from "./libc.ts";
import { checkInteger, invalidType, outOfRange } from "./checks.ts";

/** The C integer types a struct field can have. */
export type Scalar = "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64";

/** A field: a scalar, a NUL-terminated char array of fixed size, or a nested struct. */
// biome-ignore lint/suspicious/noExplicitAny: a nested struct may have any fields; no narrower type accepts every StructLayout<S> (S is both read and written through it)
export type FieldSpec = Scalar | { char: number } | { struct: StructLayout<any> };

/** The 64-bit scalar types, whose fields can also be read and written as a bigint. */
export type Scalar64 = "int64" | "uint64";

/**
 * The JavaScript value a field of spec `F` reads as: a number, a string or a nested view. A 64-bit
 * field reads as a number (exact up to 2^53); `StructLayout.getBigInt` reads it exactly, and
 * assigning it accepts a safe-integer number or, at run time, a bigint (see `setBigInt`).
 */
export type FieldValue<F> = F extends Scalar ? number : F extends { char: number } ? string : F extends { struct: StructLayout<infer S> } ? StructView<S> : never;

/** A struct read and written in place: one property per field, plus the struct's raw `bytes`. */
export type StructView<S extends Record<string, FieldSpec>> = { -readonly [K in keyof S]: FieldValue<S[K]> } & {
  /** The raw bytes of the whole struct (a view, not a copy). */
  readonly bytes: Uint8Array;
};

const koffiScalar: Record<Scalar, string> = {
  int16: "int16_t",
  uint16: "uint16_t",
  int32: "int32_t",
  uint32: "uint32_t",
  int64: "int64_t",
  uint64: "uint64_t",
};

/** A plain-object copy of a struct's fields (nested structs copied too), as `StructLayout.read` returns it. */
export type StructSnapshot<S extends Record<string, FieldSpec>> = { [K in keyof S]: FieldValue<S[K]> extends StructView<infer N> ? { [J in keyof N]: FieldValue<N[J]> } : FieldValue<S[K]> };

/** The snapshot type of a layout: `SnapshotOf<typeof ShmidDs>` is what `ShmidDs.read` returns. */
export type SnapshotOf<L> = L extends StructLayout<infer S> ? StructSnapshot<S> : never;

/**
 * A C struct's layout: its size, field offsets and koffi type, and live views of it over memory.
 */
export interface StructLayout<S extends Record<string, FieldSpec>> {
  /** The C struct's tag, as in `struct <name>`. */
  readonly name: string;
  /** `sizeof` the struct, padding included. */
  readonly size: number;
  /** The fields as declared. */
  readonly fields: S;
  /** `offsetof` each field. */
  readonly offsets: { readonly [K in keyof S]: number };
  /** The koffi type, for passing the struct by pointer to a C function. */
  readonly type: KoffiType;
  /**
   * A live view of the struct stored at `offset` in `bytes`. With `readOnly`, assigning a field
   * throws instead of writing (for memory mapped without write access, where a write would fault).
   */
  at(bytes: Uint8Array, offset?: number, options?: { readOnly?: boolean }): StructView<S>;
  /** Reads the struct at `offset` into a plain object (a snapshot, for printing). */
  read(bytes: Uint8Array, offset?: number): StructSnapshot<S>;
  /** Reads a 64-bit field of `view` as a bigint: exact where the number the property gives rounds (past 2^53). */
  getBigInt(view: StructView<S>, field: Fields64<S>): bigint;
  /**
   * Writes a 64-bit field of `view` from a bigint (or a safe-integer number), range-checked for the
   * field's type: the way to store values past 2^53.
   */
  setBigInt(view: StructView<S>, field: Fields64<S>, value: bigint | number): void;
}

/** The names of the 64-bit scalar fields of a layout's fields `S`. */
export type Fields64<S extends Record<string, FieldSpec>> = { [K in keyof S]: S[K] extends Scalar64 ? K : never }[keyof S] & string;

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/** The bytes of the C string stored in `bytes`: up to its first NUL (or the end), as a view. */
export function cStringBytes(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** The string stored in `bytes` up to its first NUL (or the end), decoded as UTF-8. */
export function cString(bytes: Uint8Array): string {
  return utf8.decode(cStringBytes(bytes));
}

/** Stores `text` as UTF-8 followed by a NUL; throws if the bytes and the NUL do not fit. */
export function storeCString(target: Uint8Array, text: string, what = "string"): number {
  const encoded = utf8Encoder.encode(text);
  if (encoded.byteLength + 1 > target.byteLength) {
    throw new RangeError(`${what} is ${encoded.byteLength} bytes; with its NUL it does not fit in ${target.byteLength} bytes`);
  }
  target.set(encoded);
  target[encoded.byteLength] = 0;
  return encoded.byteLength;
}

/**
 * Declares a C struct layout from its fields in order; sizes and offsets follow C's alignment rules
 * (through koffi).
 */
export function defineStruct<S extends Record<string, FieldSpec>>(name: string, fields: S): StructLayout<S> {
  const koffiFields: Record<string, string | KoffiType> = {};
  for (const [field, spec] of Object.entries(fields)) {
    if (typeof spec === "string") koffiFields[field] = koffiScalar[spec];
    else if ("char" in spec) koffiFields[field] = koffi.array("char", spec.char, "Array");
    else koffiFields[field] = spec.struct.type;
  }
  const type = koffi.struct(name, koffiFields);
  const size = koffi.sizeof(type);
  const offsets = Object.fromEntries(Object.keys(fields).map((field) => [field, koffi.offsetof(type, field)])) as { [K in keyof S]: number };

  // `data` and `readOnly` are read by the field accessors below, through ViewInternals.
  class View {
    readonly bytes: Uint8Array;
    readonly data: DataView;
    readonly readOnly: boolean;
    constructor(bytes: Uint8Array, data: DataView, readOnly: boolean) {
      this.bytes = bytes;
      this.data = data;
      this.readOnly = readOnly;
    }
  }
  for (const [field, spec] of Object.entries(fields)) {
    const offset = offsets[field as keyof S];
    Object.defineProperty(View.prototype, field, accessor(field, spec, offset));
  }

  const at = (bytes: Uint8Array, offset = 0, options: { readOnly?: boolean } = {}): StructView<S> => {
    if (offset < 0 || offset + size > bytes.byteLength) {
      throw new RangeError(`struct ${name} (${size} bytes) at offset ${offset} does not fit in ${bytes.byteLength} bytes`);
    }
    const own = bytes.subarray(offset, offset + size);
    return new View(own, new DataView(own.buffer, own.byteOffset, size), options.readOnly ?? false) as unknown as StructView<S>;
  };

  const read = (bytes: Uint8Array, offset = 0) => snapshot(at(bytes, offset), fields);

  const field64 = (field: string): { spec: Scalar64; offset: number } => {
    const spec = fields[field];
    if (spec !== "int64" && spec !== "uint64") throw new TypeError(`struct ${name} has no 64-bit field ${field}`);
    return { spec, offset: offsets[field as keyof S] };
  };
  const getBigInt = (view: StructView<S>, field: string): bigint => {
    const { spec, offset } = field64(field);
    const data = (view as unknown as ViewInternals).data;
    return spec === "int64" ? data.getBigInt64(offset, true) : data.getBigUint64(offset, true);
  };
  const setBigInt = (view: StructView<S>, field: string, value: bigint | number): void => {
    const { spec, offset } = field64(field);
    const internals = view as unknown as ViewInternals;
    refuseWrite(internals, field);
    store64(internals.data, offset, spec, value, field);
  };

  return { name, size, fields, offsets, type, at, read: read as StructLayout<S>["read"], getBigInt, setBigInt };
}

function snapshot(view: Record<string, unknown>, fields: Record<string, FieldSpec>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(fields)) {
    const value = view[field];
    out[field] = typeof spec === "object" && "struct" in spec ? snapshot(value as Record<string, unknown>, spec.struct.fields) : value;
  }
  return out;
}

type ViewInternals = { bytes: Uint8Array; data: DataView; readOnly: boolean };

function refuseWrite(view: ViewInternals, field: string): void {
  if (view.readOnly) throw new TypeError(`cannot set ${field}: this struct is in memory mapped read-only (writing it would fault)`);
}

function accessor(field: string, spec: FieldSpec, offset: number): PropertyDescriptor {
  if (typeof spec === "object" && "char" in spec) {
    const length = spec.char;
    return {
      get(this: ViewInternals) {
        return cString(this.bytes.subarray(offset, offset + length));
      },
      set(this: ViewInternals, text: string) {
        refuseWrite(this, field);
        storeCString(this.bytes.subarray(offset, offset + length), text, field);
      },
    };
  }
  if (typeof spec === "object") {
    const nested = spec.struct;
    return {
      get(this: ViewInternals) {
        return nested.at(this.bytes, offset, { readOnly: this.readOnly });
      },
    };
  }
  // DataView's setters wrap silently (setInt32 of 2^40 stores 0): every value is range-checked first.
  const numeric = (get: (d: DataView) => number, set: (d: DataView, v: number) => void, min: number, max: number): PropertyDescriptor => ({
    get(this: ViewInternals) {
      return get(this.data);
    },
    set(this: ViewInternals, value: number) {
      refuseWrite(this, field);
      set(this.data, checkInteger(value, field, min, max));
    },
  });
  const wide = (get: (d: DataView) => number, type: Scalar64): PropertyDescriptor => ({
    get(this: ViewInternals) {
      return get(this.data);
    },
    set(this: ViewInternals, value: number | bigint) {
      refuseWrite(this, field);
      store64(this.data, offset, type, value, field);
    },
  });
  switch (spec) {
    case "int16":
      return numeric(
        (d) => d.getInt16(offset, true),
        (d, v) => d.setInt16(offset, v, true),
        -0x8000,
        0x7fff,
      );
    case "uint16":
      return numeric(
        (d) => d.getUint16(offset, true),
        (d, v) => d.setUint16(offset, v, true),
        0,
        0xffff,
      );
    case "int32":
      return numeric(
        (d) => d.getInt32(offset, true),
        (d, v) => d.setInt32(offset, v, true),
        -0x8000_0000,
        0x7fff_ffff,
      );
    case "uint32":
      return numeric(
        (d) => d.getUint32(offset, true),
        (d, v) => d.setUint32(offset, v, true),
        0,
        0xffff_ffff,
      );
    case "int64":
      return wide((d) => Number(d.getBigInt64(offset, true)), "int64");
    case "uint64":
      return wide((d) => Number(d.getBigUint64(offset, true)), "uint64");
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

// A number must be a safe integer (past 2^53 it is already rounded: the caller meant another
// value); a bigint may use the field's whole range.
function store64(data: DataView, offset: number, spec: Scalar64, value: number | bigint, field: string): void {
  const signed = spec === "int64";
  if (typeof value === "number") {
    checkInteger(value, field, signed ? Number.MIN_SAFE_INTEGER : 0, Number.MAX_SAFE_INTEGER);
    value = BigInt(value);
  } else if (typeof value !== "bigint") {
    throw invalidType(field, "of type number or bigint", value);
  } else if (signed ? value < INT64_MIN || value > INT64_MAX : value < 0n || value > UINT64_MAX) {
    throw outOfRange(field, signed ? `>= ${INT64_MIN}n and <= ${INT64_MAX}n` : `>= 0n and <= ${UINT64_MAX}n`, value);
  }
  if (signed) data.setBigInt64(offset, value, true);
  else data.setBigUint64(offset, value, true);
}
