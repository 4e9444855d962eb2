import { goQuote } from "../../frontend/go-format.js";
import { compareStrings } from "../../util/compare-strings.js";

/**
 * Values as Go's fmt prints them, for `--format` templates over JSON-shaped data: a list
 * is `[a b]`, an object `map[k:v]` (keys sorted, as Go prints a map), null `<nil>`, a field
 * that does not exist `<no value>`.
 */

/** What a template reads for a key that is not there: printed `<no value>`, as Go does for a map. */
export const MISSING: unique symbol = Symbol("missing");

/** Objects whose fields are a fixed set, like Go structs: reading any other field is an error. */
const STRUCTS = new WeakSet<object>();

/** Marks `value` as a struct: `{{.Typo}}` on it fails instead of printing `<no value>`. */
export function goStruct<T extends object>(value: T): T {
  STRUCTS.add(value);
  return value;
}

export function isGoStruct(value: unknown): boolean {
  return typeof value === "object" && value !== null && STRUCTS.has(value);
}

/** fmt's `%v` (and what an action prints). */
export function goPrint(value: unknown): string {
  if (value === MISSING) return "<no value>";
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number") return goNumber(value);
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return `[${value.map(goPrint).join(" ")}]`;
  if (typeof value === "function") return "<func>";
  if (typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v !== "function");
    if (isGoStruct(value)) return `{${fields.map(([, v]) => goPrint(v)).join(" ")}}`;
    return `map[${fields.sort(([a], [b]) => compareStrings(a, b)).map(([k, v]) => `${k}:${goPrint(v)}`).join(" ")}]`;
  }
  return String(value);
}

/** A number as Go prints an int, or a float64 with %v (shortest, exponent past 1e21). */
export function goNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(0);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 21) return value.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return String(value);
}

/** Go's truth: false, 0, "", nil and empty lists and maps are false. */
export function goTruth(value: unknown): boolean {
  if (value === MISSING || value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return isGoStruct(value) || Object.keys(value).length > 0;
  return true;
}

/** A short name of the value's type for error messages (`string`, `[]interface {}`, `map[string]interface {}`). */
export function goTypeName(value: unknown): string {
  if (value === null || value === undefined || value === MISSING) return "<nil>";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "[]interface {}";
  if (isGoStruct(value)) return "struct";
  return "map[string]interface {}";
}

/**
 * Go's fmt.Sprintf for the verbs templates use: %v %s %q %d %t %x %X %o %b %c %e %f %g %%,
 * with flags (`-`, `+`, `0`, space, `#`), width and precision.
 */
export function goSprintf(format: string, args: readonly unknown[]): string {
  let out = "";
  let next = 0;
  const pattern = /%([-+# 0]*)(\d+|\*)?(?:\.(\d*|\*))?([a-zA-Z%])/g;
  let last = 0;
  for (let match = pattern.exec(format); match !== null; match = pattern.exec(format)) {
    out += format.slice(last, match.index);
    last = pattern.lastIndex;
    const [, flags, widthText, precisionText, verb] = match;
    if (verb === "%") {
      out += "%";
      continue;
    }
    const width = widthText === "*" ? Number(args[next++]) : widthText === undefined ? undefined : Number(widthText);
    const precision = precisionText === "*" ? Number(args[next++]) : precisionText === undefined ? undefined : Number(precisionText || "0");
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const text = formatVerb(verb, args[next++], { flags, precision });
    out += pad(text, width, flags);
  }
  out += format.slice(last);
  if (next < args.length) out += `%!(EXTRA ${args.slice(next).map((a) => `${goTypeName(a)}=${goPrint(a)}`).join(", ")})`;
  return out;
}

function pad(text: string, width: number | undefined, flags: string): string {
  const length = [...text].length;
  if (width === undefined || length >= width) return text;
  if (flags.includes("-")) return text + " ".repeat(width - length);
  if (flags.includes("0") && /^[-+]?[0-9]/.test(text)) {
    const sign = /^[-+]/.test(text) ? text[0] : "";
    return sign + "0".repeat(width - length) + text.slice(sign.length);
  }
  return " ".repeat(width - length) + text;
}

function formatVerb(verb: string, value: unknown, options: { flags: string; precision: number | undefined }): string {
  const { flags, precision } = options;
  if (Array.isArray(value) && verb !== "v" && verb !== "T") return `[${value.map((v) => formatVerb(verb, v, options)).join(" ")}]`;
  const signed = (text: string, n: number) => (n >= 0 && flags.includes("+") ? `+${text}` : n >= 0 && flags.includes(" ") ? ` ${text}` : text);
  switch (verb) {
    case "v":
      return typeof value === "number" ? signed(goNumber(value), value) : goPrint(value);
    case "s":
      if (typeof value === "string") return precision === undefined ? value : [...value].slice(0, precision).join("");
      return typeof value === "number" ? `%!s(${goTypeName(value)}=${goNumber(value)})` : goPrint(value);
    case "q":
      if (typeof value === "string") return goQuote(value);
      if (typeof value === "number" && Number.isInteger(value)) return `'${String.fromCodePoint(value)}'`;
      return `%!q(${goTypeName(value)}=${goPrint(value)})`;
    case "t":
      return typeof value === "boolean" ? String(value) : `%!t(${goTypeName(value)}=${goPrint(value)})`;
    case "d":
    case "x":
    case "X":
    case "o":
    case "b":
    case "c": {
      if (typeof value === "string" && (verb === "x" || verb === "X")) {
        const hex = Buffer.from(value, "utf8").toString("hex");
        return verb === "X" ? hex.toUpperCase() : hex;
      }
      if (typeof value !== "number" || !Number.isInteger(value)) return `%!${verb}(${goTypeName(value)}=${goPrint(value)})`;
      if (verb === "c") return String.fromCodePoint(value);
      const radix = verb === "d" ? 10 : verb === "o" ? 8 : verb === "b" ? 2 : 16;
      let digits = Math.abs(value).toString(radix);
      if (verb === "X") digits = digits.toUpperCase();
      if (flags.includes("#") && radix !== 10) digits = (radix === 16 ? (verb === "X" ? "0X" : "0x") : radix === 8 ? "0" : "0b") + digits;
      return signed(value < 0 ? `-${digits}` : digits, value);
    }
    case "e":
    case "f":
    case "F":
    case "g": {
      if (typeof value !== "number") return `%!${verb}(${goTypeName(value)}=${goPrint(value)})`;
      const text =
        verb === "e"
          ? value.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, "e$10$2")
          : verb === "g"
            ? precision === undefined
              ? goNumber(value)
              : String(Number(value.toPrecision(precision)))
            : value.toFixed(precision ?? 6);
      return signed(text, value);
    }
    default:
      return `%!${verb}(${goTypeName(value)}=${goPrint(value)})`;
  }
}
