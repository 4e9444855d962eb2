import { TsbuildError } from "../errors.js";

/** One line of /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One line of /etc/group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The ids a process runs with. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: the /etc/group entries listing the user, when no group was given. */
  additionalGids: number[];
  /** From the passwd entry; `/` when the user has none. */
  home: string;
}

export interface ResolveUserOptions {
  /** The text of the rootfs' /etc/passwd; empty or missing means no entries. */
  passwd?: string;
  /** The text of the rootfs' /etc/group. */
  group?: string;
}

const ID_MAX = 2 ** 32 - 2; // (uid_t)-1 means "unchanged" to the kernel

/** Parses /etc/passwd text; lines that are blank, comments or malformed are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 4) continue;
    const uid = parseId(fields[2]);
    const gid = parseId(fields[3]);
    if (uid === undefined || gid === undefined) continue;
    entries.push({ name: fields[0], uid, gid, home: fields[5] ?? "", shell: fields[6] ?? "" });
  }
  return entries;
}

/** Parses /etc/group text; lines that are blank, comments or malformed are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 3) continue;
    const gid = parseId(fields[2]);
    if (gid === undefined) continue;
    const members = (fields[3] ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "");
    entries.push({ name: fields[0], gid, members });
  }
  return entries;
}

/**
 * Resolves a USER value (`name`, `uid`, `name:group`, `uid:gid`, empty for root) the way
 * Docker and BuildKit do: names must exist in the files; a numeric uid need not (it then
 * gets gid 0 and home `/`); supplementary groups come from /etc/group only when no group
 * is given explicitly.
 */
export function resolveUser(spec: string, options: ResolveUserOptions = {}): ResolvedUser {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(":");
  const userPart = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const groupPart = colon === -1 ? "" : trimmed.slice(colon + 1);
  if (colon !== -1 && groupPart === "") {
    throw new TsbuildError("NOT_FOUND", `Cannot resolve user "${spec}": group is empty`);
  }
  const users = parsePasswd(options.passwd ?? "");
  const numericUid = parseId(userPart);

  let uid: number;
  let gid = 0;
  let home = "/";
  let name: string | undefined;
  if (userPart === "") {
    uid = 0;
    const root = users.find((u) => u.uid === 0);
    if (root !== undefined) ({ gid, home, name } = root);
  } else {
    const entry = numericUid === undefined ? users.find((u) => u.name === userPart) : users.find((u) => u.uid === numericUid);
    if (entry === undefined && numericUid === undefined) {
      throw new TsbuildError("NOT_FOUND", `Cannot resolve user "${userPart}": no such user in /etc/passwd`, {
        hint: "Create the user in an earlier step, or give a numeric uid",
      });
    }
    uid = numericUid ?? entry!.uid;
    if (entry !== undefined) {
      gid = entry.gid;
      home = entry.home === "" ? "/" : entry.home;
      name = entry.name;
    }
  }

  const groups = parseGroup(options.group ?? "");
  if (groupPart !== "") {
    const numericGid = parseId(groupPart);
    const entry = numericGid === undefined ? groups.find((g) => g.name === groupPart) : undefined;
    if (numericGid === undefined && entry === undefined) {
      throw new TsbuildError("NOT_FOUND", `Cannot resolve group "${groupPart}": no such group in /etc/group`, {
        hint: "Create the group in an earlier step, or give a numeric gid",
      });
    }
    return { uid, gid: numericGid ?? entry!.gid, additionalGids: [], home };
  }

  const additionalGids: number[] = [];
  if (name !== undefined) {
    for (const group of groups) {
      if (group.members.includes(name) && !additionalGids.includes(group.gid)) additionalGids.push(group.gid);
    }
  }
  return { uid, gid, additionalGids, home };
}

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= ID_MAX ? value : undefined;
}
