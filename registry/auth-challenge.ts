/** One challenge of a WWW-Authenticate header: its scheme and parameters. */
export interface AuthChallenge {
  /** Lowercase: `basic`, `bearer`. */
  scheme: string;
  /** Parameter names lowercase: `realm`, `service`, `scope`. */
  params: Record<string, string>;
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~/-]+/y;

/**
 * Parses a WWW-Authenticate header (RFC 7235): `Bearer realm="https://auth",service="reg",
 * scope="repository:x:pull"`. Several challenges may share one header; quoted values may
 * contain commas and escaped quotes.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < header.length && chars.test(header[i])) i++;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    TOKEN.lastIndex = i;
    const token = TOKEN.exec(header);
    if (token === null) break;
    i = TOKEN.lastIndex;
    skip(/\s/);
    if (header[i] !== "=") {
      challenges.push({ scheme: token[0].toLowerCase(), params: {} });
      continue;
    }
    i++;
    skip(/\s/);
    let value = "";
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === "\\" && i + 1 < header.length) i++;
        value += header[i++];
      }
      i++;
    } else {
      TOKEN.lastIndex = i;
      value = TOKEN.exec(header)?.[0] ?? "";
      i += value.length;
      while (header[i] === "=") value += header[i++]; // token68 padding
    }
    const current = challenges[challenges.length - 1];
    if (current !== undefined) current.params[token[0].toLowerCase()] = value;
  }
  return challenges;
}
