export * from "./harness.ts";
export * from "./cc.ts";
export * from "./tmp.ts";
