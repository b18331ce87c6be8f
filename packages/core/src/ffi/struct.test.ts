import { describe, expect, it } from "vitest";
import { defineStruct, cString, storeCString } from "./struct.ts";

describe("defineStruct", () => {
  const Inner = defineStruct("inner_t", { a: "uint16", b: "int64" });
  const Outer = defineStruct("outer_t", { tag: "int32", inner: { struct: Inner }, name: { char: 8 }, big: "uint64" });

  it("lays fields out with C alignment", () => {
    expect(Inner.size).toBe(16);
    expect(Inner.offsets).toEqual({ a: 0, b: 8 });
    expect(Outer.offsets).toEqual({ tag: 0, inner: 8, name: 24, big: 32 });
    expect(Outer.size).toBe(40);
  });

  it("reads and writes in place: a second view of the same bytes sees every write at once", () => {
    const memory = new Uint8Array(64);
    const one = Outer.at(memory, 8);
    const two = Outer.at(memory, 8);
    one.tag = -5;
    one.inner.b = 2 ** 40;
    one.name = "abc";
    one.big = 2 ** 53 - 1;
    expect(two.tag).toBe(-5);
    expect(two.inner.b).toBe(2 ** 40);
    expect(two.name).toBe("abc");
    expect(two.big).toBe(2 ** 53 - 1);
    expect(new DataView(memory.buffer).getInt32(8, true)).toBe(-5);
    expect(Outer.read(memory, 8)).toEqual({ tag: -5, inner: { a: 0, b: 2 ** 40 }, name: "abc", big: 2 ** 53 - 1 });
  });

  it("refuses a struct that does not fit and a string without room for its NUL", () => {
    expect(() => Outer.at(new Uint8Array(39))).toThrow(/does not fit/);
    const view = Outer.at(new Uint8Array(40));
    expect(() => {
      view.name = "12345678";
    }).toThrow(/name is 8 bytes; with its NUL it does not fit in 8 bytes/);
    view.name = "1234567";
    expect(view.name).toBe("1234567");
  });
});

describe("read-only views", () => {
  it("read like any view and refuse every assignment, nested structs included", () => {
    const Inner = defineStruct("ro_inner_t", { a: "int32" });
    const Outer = defineStruct("ro_outer_t", { n: "uint32", inner: { struct: Inner }, name: { char: 8 } });
    const memory = new Uint8Array(Outer.size);
    Outer.at(memory).n = 7;
    const view = Outer.at(memory, 0, { readOnly: true });
    expect(view.n).toBe(7);
    expect(() => (view.n = 1)).toThrow(/cannot set n: this struct is in memory mapped read-only/);
    expect(() => (view.inner.a = 1)).toThrow(TypeError);
    expect(() => (view.name = "x")).toThrow(TypeError);
    expect(Outer.read(memory)).toEqual({ n: 7, inner: { a: 0 }, name: "" });
  });
});

describe("C strings", () => {
  it("are UTF-8 bytes up to the NUL: lengths are byte lengths", () => {
    const target = new Uint8Array(16).fill(0xff);
    expect(storeCString(target, "我是你爹")).toBe(12);
    expect(target[12]).toBe(0);
    expect(cString(target)).toBe("我是你爹");
    expect(() => storeCString(new Uint8Array(12), "我是你爹")).toThrow(RangeError);
    expect(cString(new Uint8Array([104, 105]))).toBe("hi");
  });
});

describe("scalar fields out of their C type's range", () => {
  const Fields = defineStruct("range_t", { s: "int16", us: "uint16", i: "int32", u: "uint32", l: "int64", ul: "uint64" });
  const outOfRange = (name: string) => expect.objectContaining({ name: "RangeError", code: "ERR_OUT_OF_RANGE", message: expect.stringContaining(`"${name}"`) });

  it("are refused, leaving the field as it was, where DataView would wrap or round", () => {
    const memory = new Uint8Array(Fields.size);
    const view = Fields.at(memory);
    view.i = 7;
    // setInt32 of 2^40 stores 0; of 1.5 stores 1.
    expect(() => (view.i = 2 ** 40)).toThrow(outOfRange("i"));
    expect(() => (view.i = 1.5)).toThrow(outOfRange("i"));
    expect(() => (view.s = 32768)).toThrow(outOfRange("s"));
    expect(() => (view.us = -1)).toThrow(outOfRange("us"));
    expect(() => (view.u = 2 ** 32)).toThrow(/The value of "u" is out of range. It must be an integer >= 0 and <= 4294967295. Received 4294967296/);
    // A number past 2^53 has already been rounded: the caller meant another value.
    expect(() => (view.ul = 2 ** 53 + 2)).toThrow(outOfRange("ul"));
    expect(() => (view.ul = -1)).toThrow(outOfRange("ul"));
    expect(() => ((view as unknown as { l: bigint }).l = 2n ** 63n)).toThrow(outOfRange("l"));
    expect(() => Fields.setBigInt(view, "ul", 2n ** 64n)).toThrow(outOfRange("ul"));
    expect(Fields.read(memory)).toEqual({ s: 0, us: 0, i: 7, u: 0, l: 0, ul: 0 });
    view.s = -32768;
    view.us = 65535;
    view.i = -(2 ** 31);
    view.u = 2 ** 32 - 1;
    expect(Fields.read(memory)).toEqual({ s: -32768, us: 65535, i: -(2 ** 31), u: 2 ** 32 - 1, l: 0, ul: 0 });
  });

  it("64-bit fields take and give bigints for values past 2^53", () => {
    const view = Fields.at(new Uint8Array(Fields.size));
    Fields.setBigInt(view, "ul", 2n ** 64n - 1n);
    expect(Fields.getBigInt(view, "ul")).toBe(2n ** 64n - 1n);
    (view as unknown as { l: bigint }).l = -(2n ** 63n);
    expect(Fields.getBigInt(view, "l")).toBe(-(2n ** 63n));
    view.l = -(2 ** 53 - 1);
    expect(view.l).toBe(-(2 ** 53 - 1));
    expect(Fields.getBigInt(view, "l")).toBe(-(2n ** 53n - 1n));
    const readOnly = Fields.at(new Uint8Array(Fields.size), 0, { readOnly: true });
    expect(() => Fields.setBigInt(readOnly, "ul", 1n)).toThrow(/cannot set ul/);
  });
});
