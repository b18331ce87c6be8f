import { describe, expect, it } from "vitest";
import { ConnStat, formatConnStat } from "./conn_stat.ts";

describe("Conn_stat", () => {
  it("is the 68-byte struct the C programs share, printed as they print it", () => {
    expect(ConnStat.size).toBe(68);
    const view = ConnStat.at(new Uint8Array(68));
    view.ip = "127.0.0.1";
    view.count = 3;
    expect(formatConnStat(view)).toBe("ip = 127.0.0.1 ,count: 3");
  });
});
