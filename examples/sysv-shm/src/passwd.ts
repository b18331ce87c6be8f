/**
 * Users by name and by uid from /etc/passwd, as getpwnam(3) and getpwuid(3) find them on a machine
 * without NSS modules (what `ipcs` needs for its owner column, and perm-pitfall to become `nobody`).
 */
import { readFileSync } from "node:fs";

export interface User {
  name: string;
  uid: number;
  gid: number;
}

const PASSWD = "/etc/passwd";

function users(): User[] {
  return readFileSync(PASSWD, "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= 4 && /^\d+$/.test(fields[2]!) && /^\d+$/.test(fields[3]!))
    .map((fields) => ({ name: fields[0]!, uid: Number(fields[2]), gid: Number(fields[3]) }));
}

export function userByName(name: string): User | undefined {
  return users().find((user) => user.name === name);
}

/** uid → name for every user in /etc/passwd; read once by a caller that needs many. */
export function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  for (const user of users()) if (!names.has(user.uid)) names.set(user.uid, user.name);
  return names;
}
