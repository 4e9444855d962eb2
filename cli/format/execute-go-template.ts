import { goQuote } from "../../frontend/go-format.js";
import { goPrint, goSprintf, goTruth, goTypeName, isGoStruct, MISSING } from "./go-value.js";
import type { GoTemplateNode, Operand, Pipeline } from "./parse-go-template.js";

/** A template that failed while it ran; `message` reads as Go's (`at <.Foo>: ...`). */
export class GoTemplateExecError extends Error {
  /** What the template had written before it failed. */
  partial = "";

  constructor(message: string) {
    super(message);
    this.name = "GoTemplateExecError";
  }
}

export type GoFunction = (...args: unknown[]) => unknown;

/**
 * Runs parsed template `nodes` over `data` (`.` and `$`), with text/template's builtins and
 * docker's functions (json, join, split, lower, upper, title, pad, truncate); `functions`
 * replaces some, as docker does for table headers.
 */
export function executeGoTemplate(nodes: readonly GoTemplateNode[], data: unknown, functions: Readonly<Record<string, GoFunction>> = {}): string {
  const run = new Execution({ ...BUILTINS, ...DOCKER_FUNCTIONS, ...functions }, data);
  try {
    run.nodes(nodes, data);
  } catch (error) {
    if (error instanceof GoTemplateExecError) error.partial = run.out;
    throw error;
  }
  return run.out;
}

class BreakSignal {}
class ContinueSignal {}

class Execution {
  out = "";
  readonly #functions: Record<string, GoFunction>;
  /** Variable scopes, innermost last; `$` is the data. */
  readonly #scopes: Array<Map<string, unknown>>;
  #at = "";

  constructor(functions: Record<string, GoFunction>, data: unknown) {
    this.#functions = functions;
    this.#scopes = [new Map([["$", data]])];
  }

  nodes(nodes: readonly GoTemplateNode[], dot: unknown): void {
    for (const node of nodes) this.#node(node, dot);
  }

  #node(node: GoTemplateNode, dot: unknown): void {
    switch (node.kind) {
      case "text":
        this.out += node.text;
        return;
      case "action": {
        this.#at = node.at;
        const value = this.#pipeline(node.pipe, dot);
        if (node.pipe.variables.length === 0) this.out += goPrint(value);
        return;
      }
      case "break":
        throw new BreakSignal();
      case "continue":
        throw new ContinueSignal();
      case "if":
      case "with": {
        this.#at = node.at;
        this.#scoped(() => {
          const value = this.#pipeline(node.pipe, dot);
          if (goTruth(value)) this.nodes(node.body, node.kind === "with" ? value : dot);
          else if (node.otherwise) this.nodes(node.otherwise, dot);
        });
        return;
      }
      case "range":
        this.#at = node.at;
        this.#scoped(() => this.#range(node, dot));
    }
  }

  #range(node: Extract<GoTemplateNode, { kind: "range" }>, dot: unknown): void {
    // The variables are set per item, not to the pipeline's value.
    const value = this.#pipeline({ ...node.pipe, variables: [] }, dot);
    const items: Array<[unknown, unknown]> = [];
    if (Array.isArray(value)) value.forEach((item, i) => items.push([i, item]));
    else if (typeof value === "number" && Number.isInteger(value)) for (let i = 0; i < value; i++) items.push([i, i]);
    else if (value === null || value === undefined || value === MISSING) items.length = 0;
    else if (typeof value === "object" && !isGoStruct(value)) {
      for (const key of Object.keys(value).sort()) items.push([key, (value as Record<string, unknown>)[key]]);
    } else throw this.#fail(`range can't iterate over ${goPrint(value)}`);
    if (items.length === 0) {
      if (node.otherwise) this.nodes(node.otherwise, dot);
      return;
    }
    const [first, second] = node.pipe.variables;
    for (const [key, item] of items) {
      try {
        this.#scoped(() => {
          if (second !== undefined) {
            this.#scopes.at(-1)!.set(first, key);
            this.#scopes.at(-1)!.set(second, item);
          } else if (first !== undefined) {
            this.#scopes.at(-1)!.set(first, item);
          }
          this.nodes(node.body, item);
        });
      } catch (signal) {
        if (signal instanceof BreakSignal) break;
        if (!(signal instanceof ContinueSignal)) throw signal;
      }
    }
  }

  #scoped(fn: () => void): void {
    this.#scopes.push(new Map());
    try {
      fn();
    } finally {
      this.#scopes.pop();
    }
  }

  #pipeline(pipe: Pipeline, dot: unknown): unknown {
    let value: unknown = MISSING;
    let piped = false;
    for (const command of pipe.commands) {
      value = this.#command(command, dot, piped ? [value] : []);
      piped = true;
    }
    for (const name of pipe.variables) {
      if (pipe.assign) {
        const scope = [...this.#scopes].reverse().find((s) => s.has(name));
        if (scope === undefined) throw this.#fail(`undefined variable: ${name}`);
        scope.set(name, value);
      } else {
        this.#scopes.at(-1)!.set(name, value);
      }
    }
    return value;
  }

  /** One command: a function call, a method call (a field holding a function), or a value. */
  #command(operands: readonly Operand[], dot: unknown, piped: unknown[]): unknown {
    const [head, ...rest] = operands;
    if (head.kind === "function") {
      const fn = this.#functions[head.name];
      if (fn === undefined) throw this.#fail(`function "${head.name}" not defined`);
      return this.#call(head.name, fn, [...rest.map((o) => this.#operand(o, dot)), ...piped]);
    }
    if (head.kind === "field") {
      const receiver = this.#operand(head.receiver, dot);
      const value = this.#fields(receiver, head.names.slice(0, -1));
      const name = head.names.at(-1)!;
      const field = this.#field(value, name);
      if (typeof field === "function") return this.#call(name, field as GoFunction, [...rest.map((o) => this.#operand(o, dot)), ...piped]);
      if (rest.length > 0 || piped.length > 0) throw this.#fail(`can't give argument to non-function .${name}`);
      return field;
    }
    if (rest.length > 0 || piped.length > 0) throw this.#fail(`can't give argument to non-function ${describe(head)}`);
    return this.#operand(head, dot);
  }

  #operand(operand: Operand, dot: unknown): unknown {
    switch (operand.kind) {
      case "dot":
        return dot;
      case "literal":
        return operand.value;
      case "variable": {
        for (let i = this.#scopes.length - 1; i >= 0; i--) if (this.#scopes[i].has(operand.name)) return this.#scopes[i].get(operand.name);
        throw this.#fail(`undefined variable: ${operand.name}`);
      }
      case "function": {
        const fn = this.#functions[operand.name];
        if (fn === undefined) throw this.#fail(`function "${operand.name}" not defined`);
        return this.#call(operand.name, fn, []);
      }
      case "pipe":
        return this.#pipeline(operand.pipe, dot);
      case "field": {
        const value = this.#fields(this.#operand(operand.receiver, dot), operand.names);
        return typeof value === "function" ? this.#call(operand.names.at(-1)!, value as GoFunction, []) : value;
      }
    }
  }

  #fields(value: unknown, names: readonly string[]): unknown {
    let current = value;
    for (const name of names) {
      current = this.#field(current, name);
      if (typeof current === "function") current = this.#call(name, current as GoFunction, []);
    }
    return current;
  }

  #field(value: unknown, name: string): unknown {
    if (value === null || value === undefined || value === MISSING) throw this.#fail(`nil pointer evaluating interface {}.${name}`);
    if (typeof value !== "object" || Array.isArray(value)) throw this.#fail(`can't evaluate field ${name} in type ${goTypeName(value)}`);
    if (Object.prototype.hasOwnProperty.call(value, name)) return (value as Record<string, unknown>)[name];
    if (isGoStruct(value)) throw this.#fail(`can't evaluate field ${name}`);
    // A map without the key: Go prints <no value>, and reading further fails.
    return MISSING;
  }

  #call(name: string, fn: GoFunction, args: unknown[]): unknown {
    try {
      return fn(...args);
    } catch (error) {
      if (error instanceof GoTemplateExecError) throw error;
      throw this.#fail(`error calling ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #fail(message: string): GoTemplateExecError {
    return new GoTemplateExecError(`executing "" at <${this.#at.replace(/^\{\{-?\s*|\s*-?\}\}$/g, "")}>: ${message}`);
  }
}

function describe(operand: Operand): string {
  if (operand.kind === "literal") return goPrint(operand.value);
  if (operand.kind === "variable") return operand.name;
  return operand.kind === "dot" ? "." : "(pipeline)";
}

function argumentCount(name: string, args: readonly unknown[], count: number): void {
  if (args.length !== count) throw new Error(`wrong number of args for ${name}: want ${count} got ${args.length}`);
}

function asString(name: string, value: unknown): string {
  if (typeof value !== "string") throw new Error(`${name} wants a string, got ${goTypeName(value)}`);
  return value;
}

function asInteger(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new Error(`${name} wants an integer, got ${goTypeName(value)}`);
  return value;
}

/** eq and friends compare basic values of one kind, as Go's do. */
function comparable(name: string, a: unknown, b: unknown): void {
  const kind = (v: unknown) => (v === null || v === MISSING || v === undefined ? "nil" : typeof v);
  if (!["string", "number", "boolean", "nil"].includes(kind(a)) || !["string", "number", "boolean", "nil"].includes(kind(b))) {
    throw new Error(`${name}: invalid type for comparison`);
  }
  if (kind(a) !== kind(b) && kind(a) !== "nil" && kind(b) !== "nil") throw new Error(`${name}: incompatible types for comparison`);
}

function ordered(name: string, a: unknown, b: unknown): [number | string, number | string] {
  comparable(name, a, b);
  if ((typeof a !== "number" && typeof a !== "string") || typeof a !== typeof b) throw new Error(`${name}: invalid type for comparison`);
  return [a as number | string, b as number | string];
}

/** fmt.Sprint: a space between operands when neither is a string. */
function sprint(args: readonly unknown[]): string {
  let out = "";
  args.forEach((arg, i) => {
    if (i > 0 && typeof arg !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goPrint(arg);
  });
  return out;
}

function indexInto(value: unknown, key: unknown): unknown {
  if (Array.isArray(value) || typeof value === "string") {
    const i = asInteger("index", key);
    if (i < 0 || i >= value.length) throw new Error(`index out of range: ${i}`);
    return typeof value === "string" ? Buffer.from(value, "utf8")[i] : value[i];
  }
  // A missing key, or a nil map, gives the zero value; for docker's string maps (labels) that is "".
  if (value === null || value === undefined || value === MISSING) return "";
  if (typeof value === "object") {
    return Object.prototype.hasOwnProperty.call(value, String(key)) ? (value as Record<string, unknown>)[String(key)] : "";
  }
  throw new Error(`can't index item of type ${goTypeName(value)}`);
}

/** text/template's predefined functions. */
const BUILTINS: Record<string, GoFunction> = {
  and: (...args) => {
    if (args.length === 0) throw new Error("wrong number of args for and: want at least 1 got 0");
    for (const arg of args) if (!goTruth(arg)) return arg;
    return args.at(-1);
  },
  or: (...args) => {
    if (args.length === 0) throw new Error("wrong number of args for or: want at least 1 got 0");
    for (const arg of args) if (goTruth(arg)) return arg;
    return args.at(-1);
  },
  not: (...args) => {
    argumentCount("not", args, 1);
    return !goTruth(args[0]);
  },
  len: (...args) => {
    argumentCount("len", args, 1);
    const [value] = args;
    if (typeof value === "string") return Buffer.byteLength(value, "utf8");
    if (Array.isArray(value)) return value.length;
    if (value !== null && typeof value === "object") return Object.keys(value).length;
    throw new Error(`len of type ${goTypeName(value)}`);
  },
  index: (...args) => {
    if (args.length === 0) throw new Error("wrong number of args for index: want at least 1 got 0");
    return args.slice(1).reduce((value, key) => indexInto(value, key), args[0]);
  },
  slice: (...args) => {
    const [value, ...bounds] = args;
    if (typeof value !== "string" && !Array.isArray(value)) throw new Error(`can't slice item of type ${goTypeName(value)}`);
    const [from = 0, to = value.length] = bounds.map((b) => asInteger("slice", b));
    if (from < 0 || to > value.length || from > to) throw new Error(`index out of range: ${from}:${to}`);
    return value.slice(from, to);
  },
  eq: (...args) => {
    if (args.length < 2) throw new Error(`missing argument for comparison`);
    const [first, ...rest] = args;
    return rest.some((other) => {
      comparable("eq", first, other);
      const norm = (v: unknown) => (v === MISSING || v === undefined ? null : v);
      return norm(first) === norm(other);
    });
  },
  ne: (...args) => {
    argumentCount("ne", args, 2);
    comparable("ne", args[0], args[1]);
    return args[0] !== args[1];
  },
  lt: (...args) => {
    argumentCount("lt", args, 2);
    const [a, b] = ordered("lt", args[0], args[1]);
    return a < b;
  },
  le: (...args) => {
    argumentCount("le", args, 2);
    const [a, b] = ordered("le", args[0], args[1]);
    return a <= b;
  },
  gt: (...args) => {
    argumentCount("gt", args, 2);
    const [a, b] = ordered("gt", args[0], args[1]);
    return a > b;
  },
  ge: (...args) => {
    argumentCount("ge", args, 2);
    const [a, b] = ordered("ge", args[0], args[1]);
    return a >= b;
  },
  print: (...args) => sprint(args),
  println: (...args) => `${args.map(goPrint).join(" ")}\n`,
  printf: (...args) => goSprintf(asString("printf", args[0]), args.slice(1)),
  html: (...args) => sprint(args).replace(/[&'<>"\0]/g, (c) => ({ "&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "\0": "\uFFFD" })[c]!),
  js: (...args) => goQuote(sprint(args)).slice(1, -1).replace(/'/g, "\\'").replace(/</g, "\\u003C").replace(/>/g, "\\u003E").replace(/&/g, "\\u0026").replace(/=/g, "\\u003D"),
  urlquery: (...args) => encodeURIComponent(sprint(args)).replace(/%20/g, "+"),
};

/** docker's template functions (github.com/docker/cli/templates). */
const DOCKER_FUNCTIONS: Record<string, GoFunction> = {
  // Go's json.Encoder with HTML escaping off, as docker sets it; a row of a list command
  // marshals itself with json.Marshal in docker, which does escape <, > and &.
  json: (...args) => {
    argumentCount("json", args, 1);
    const value = args[0] === MISSING ? null : args[0];
    const text = JSON.stringify(value, (_key, v: unknown) => (v === MISSING ? null : v)) ?? "null";
    return isGoStruct(value) ? text.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : text;
  },
  split: (...args) => {
    argumentCount("split", args, 2);
    const text = asString("split", args[0]);
    const separator = asString("split", args[1]);
    return separator === "" ? [...text] : text.split(separator);
  },
  join: (...args) => {
    argumentCount("join", args, 2);
    if (!Array.isArray(args[0])) throw new Error(`join wants a list, got ${goTypeName(args[0])}`);
    return args[0].map((item) => asString("join", item)).join(asString("join", args[1]));
  },
  title: (...args) => {
    argumentCount("title", args, 1);
    return asString("title", args[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, before: string, letter: string) => before + letter.toUpperCase());
  },
  lower: (...args) => {
    argumentCount("lower", args, 1);
    return asString("lower", args[0]).toLowerCase();
  },
  upper: (...args) => {
    argumentCount("upper", args, 1);
    return asString("upper", args[0]).toUpperCase();
  },
  pad: (...args) => {
    argumentCount("pad", args, 3);
    const text = asString("pad", args[0]);
    return text === "" ? text : " ".repeat(asInteger("pad", args[1])) + text + " ".repeat(asInteger("pad", args[2]));
  },
  truncate: (...args) => {
    argumentCount("truncate", args, 2);
    const chars = [...asString("truncate", args[0])];
    return chars.slice(0, asInteger("truncate", args[1])).join("");
  },
};

/** docker's functions for table headers: they leave the header text as it is. */
export const HEADER_FUNCTIONS: Readonly<Record<string, GoFunction>> = Object.fromEntries(
  ["json", "split", "join", "title", "lower", "upper", "truncate"].map((name) => [name, (...args: unknown[]) => args[0]]),
);
