import { TsbuildError } from "../../errors.js";
import { astToJson, dumpAst } from "../../parser/dump.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import type { Command } from "../command.js";
import { readInput } from "../read-input.js";

export const debugParseCommand: Command = {
  name: "debug parse",
  summary: "Print the parsed Dockerfile (BuildKit's dump format, or JSON with source ranges)",
  usage: "debug parse [-f FILE] [--format buildkit|json]",
  description: "buildkit prints exactly what BuildKit's parser tests dump; json prints the AST with source ranges.",
  options: [
    { name: "file", short: "f", type: "string", valueName: "FILE", description: 'The Dockerfile ("-" for standard input; default ./Dockerfile)' },
    { name: "format", type: "string", valueName: "FORMAT", description: "buildkit (default) or json" },
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const file = (context.options.file as string | undefined) ?? "Dockerfile";
    const format = (context.options.format as string | undefined) ?? "buildkit";
    if (format !== "buildkit" && format !== "json") {
      throw new TsbuildError("USAGE", `Unknown format "${format}"`, { hint: "Use --format buildkit or --format json" });
    }
    const text = await readInput(file, context);
    const name = file === "-" ? "<stdin>" : file;
    context.registerSource(name, text);
    const ast = parseDockerfile(text, { file: name });
    context.stdout.write(format === "json" ? `${JSON.stringify(astToJson(ast), null, 2)}\n` : dumpAst(ast));
    return 0;
  },
};
