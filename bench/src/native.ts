/**
 * The C references (bench/c/*.c), compiled with the system compiler into a temporary directory when
 * the run starts, so each figure from TypeScript can be read against C measured in the same run.
 * Without a compiler they are skipped with a note, and the ratios are left empty.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { track } from "./cleanup.ts";

const run = promisify(execFile);
const sources = fileURLToPath(new URL("../c/", import.meta.url));
/** The ring's specification: ring_peer.c is compiled against the header struct of its C block. */
const ringSpec = new URL("../../packages/core/RING.md", import.meta.url);

/** RING.md's C block (struct ring_slot and struct ring_header), as a header file. */
function ringHeader(): string {
  const block = /```c\n(struct ring_slot[\s\S]*?)```/.exec(readFileSync(ringSpec, "utf8"))?.[1];
  if (!block) throw new Error("packages/core/RING.md has no C block declaring struct ring_slot and struct ring_header");
  return `/* Written by the bench from packages/core/RING.md's C block. */\n#include <stdint.h>\n${block}`;
}

export const programs = ["pipe", "unix_socket", "futex_pingpong", "spin", "msg_queue", "posix_mq", "mmap_copy", "syscalls", "peak_rss", "ring_peer"] as const;
export type Program = (typeof programs)[number];

export interface NativePrograms {
  /** The path of a compiled reference. */
  path(program: Program): string;
  /** Runs a reference and parses the JSON line it prints last. */
  json<T>(program: Program, args: (string | number)[], env?: NodeJS.ProcessEnv): Promise<T>;
}

async function findCompiler(): Promise<string | null> {
  for (const candidate of [process.env.CC, "cc", "gcc", "clang"]) {
    if (!candidate) continue;
    try {
      await run(candidate, ["--version"]);
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Compiles every reference; resolves with null (and the reason) when there is no compiler. */
export async function compileReferences(): Promise<{ programs: NativePrograms | null; note: string | null; compiler: string | null }> {
  const compiler = await findCompiler();
  if (compiler === null) {
    return { programs: null, note: "no C compiler (cc, gcc, clang or $CC): C references skipped, no ratios to C", compiler: null };
  }
  const directory = mkdtempSync(join(tmpdir(), "ipc-bench-c-"));
  track(() => rmSync(directory, { recursive: true, force: true }));
  const output = (program: Program): string => join(directory, program);
  writeFileSync(join(directory, "ring_header.h"), ringHeader());
  await Promise.all(
    programs.map(async (program) => {
      try {
        await run(compiler, ["-std=gnu11", "-O2", "-Wall", "-I", directory, "-o", output(program), join(sources, `${program}.c`), "-lm"]);
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? String(error);
        throw new Error(`compiling bench/c/${program}.c failed:\n${stderr}`);
      }
    }),
  );
  const version = (await run(compiler, ["--version"])).stdout.split("\n")[0] ?? compiler;
  return {
    note: null,
    compiler: version,
    programs: {
      path: output,
      async json<T>(program: Program, args: (string | number)[], env?: NodeJS.ProcessEnv): Promise<T> {
        const { stdout } = await run(output(program), args.map(String), { maxBuffer: 1 << 20, env: env ?? process.env });
        const last = stdout.trim().split("\n").pop() ?? "";
        try {
          return JSON.parse(last) as T;
        } catch {
          throw new Error(`bench/c/${program}.c printed no JSON result: '${last}'`);
        }
      },
    },
  };
}
