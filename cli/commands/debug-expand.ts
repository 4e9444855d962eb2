import { TsbuildError } from "../../errors.js";
import { expandWord, expandWords } from "../../parser/shell-lexer.js";
import type { Command } from "../command.js";

export const debugExpandCommand: Command = {
  name: "debug expand",
  summary: "Expand a word as a Dockerfile instruction would ($VAR, ${VAR:-x}, quotes)",
  usage: "debug expand [--escape C] [--env K=V]... [--words] WORD",
  description: "Prints the expansion as JSON: a string, or with --words the list of words, as BuildKit's lexer gives them.",
  options: [
    { name: "escape", type: "string", valueName: "C", description: "The escape character: \\ (default) or `" },
    { name: "env", type: "string", multiple: true, valueName: "K=V", description: "A variable to expand with" },
    { name: "words", type: "boolean", description: "Split the result into words, as EXPOSE and BuildKit's ProcessWords do" },
  ],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const escape = (context.options.escape as string | undefined) ?? "\\";
    if (escape !== "\\" && escape !== "`") {
      throw new TsbuildError("USAGE", `Cannot use "${escape}" as the escape character`, { hint: "Use \\ or `" });
    }
    const env = (context.options.env as string[] | undefined) ?? [];
    const word = context.positionals[0];
    context.registerSource("<word>", word);
    const options = { escapeToken: escape, file: "<word>" } as const;
    const result = context.options.words ? expandWords(word, env, options) : expandWord(word, env, options).value;
    context.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  },
};
