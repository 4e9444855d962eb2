import type { Command, OptionSpec } from "./command.js";
import { GLOBAL_OPTIONS } from "./global-options.js";

/**
 * Shell completion for bash and zsh, generated from the same command metadata that parses
 * the flags and prints `--help`: command names (with their summaries in zsh), each
 * command's flags, the values a flag takes where its usage lists them (`--progress
 * auto|tty|plain|json`), files and directories, and image, container and volume names,
 * which the script asks tsbuild itself for (with the `--root` typed on the line).
 */
export function completionScript(shell: "bash" | "zsh", commands: readonly Command[]): string {
  const model = completionModel(commands);
  return shell === "bash" ? bashScript(model) : zshScript(model);
}

type Positional = "dir" | "file" | "image" | "container" | "any" | "volume" | "none";

interface CompletedCommand {
  name: string;
  summary: string;
  flags: Array<{ words: string[]; description: string }>;
  /** Flags that take a value, each with what it completes to: choices, "__file", "__dir" or "". */
  values: Map<string, string>;
  positional: Positional;
}

interface CompletionModel {
  commands: CompletedCommand[];
  globalFlags: CompletedCommand["flags"];
  globalValues: Map<string, string>;
  /** First words of two-word commands (`debug`, `system`, `volume`) with their second words. */
  groups: Map<string, string[]>;
}

function completionModel(commands: readonly Command[]): CompletionModel {
  const groups = new Map<string, string[]>();
  for (const command of commands) {
    const [first, second] = command.name.split(" ");
    if (second !== undefined) groups.set(first, [...(groups.get(first) ?? []), second]);
  }
  return {
    commands: commands.map((command) => {
      const options = [...command.options, ...GLOBAL_OPTIONS.filter((g) => !command.options.some((o) => o.name === g.name))];
      return { name: command.name, summary: command.summary, flags: options.map(flagWords), values: valueFlags(options, command.usage), positional: positionalOf(command.usage) };
    }),
    globalFlags: GLOBAL_OPTIONS.map(flagWords),
    globalValues: valueFlags(GLOBAL_OPTIONS, ""),
    groups,
  };
}

function flagWords(option: OptionSpec): { words: string[]; description: string } {
  return { words: [`--${option.name}`, ...(option.short ? [`-${option.short}`] : [])], description: option.description };
}

/** What each value flag completes to: `values`, or choices its usage lists, or files for FILE-like values. */
function valueFlags(options: readonly OptionSpec[], usage: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const option of options) {
    if (option.type !== "string") continue;
    const listed = new RegExp(`--${option.name} ([a-z0-9]+(?:\\|[a-z0-9]+)+)`).exec(usage)?.[1]?.split("|");
    const choices = option.values ?? listed;
    const what = choices !== undefined ? choices.join(" ") : option.valueName === "FILE" ? "__file" : option.valueName === "DIR" ? "__dir" : "";
    for (const word of flagWords(option).words) values.set(word, what);
  }
  return values;
}

/** What a command's arguments are, read from its usage line. */
function positionalOf(usage: string): Positional {
  const args = usage.replace(/\[?-{1,2}[a-z-]+(?: [A-Z][A-Z0-9_=[\]:.|/-]*)?\]?(?:\.\.\.)?/g, "").replace(/\[OPTIONS\]/g, "");
  if (/\bCONTEXT\b/.test(args)) return "dir";
  if (/\bIMAGE\|CONTAINER\b/.test(args)) return "any";
  if (/\bCONTAINER\b/.test(args)) return "container";
  if (/\bIMAGE\b|\bSOURCE\b/.test(args)) return "image";
  if (/\bVOLUME\b/.test(args)) return "volume";
  if (/\bFILE\b|SRC_PATH/.test(args)) return "file";
  return "none";
}

/** Single-quotes `text` for a shell. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The part both scripts share: the lookup functions, as `case` statements. */
function sharedFunctions(model: CompletionModel): string {
  const caseOf = (name: string, rows: Array<[string, string]>) =>
    [`${name}() {`, '  case "$1" in', ...rows.map(([pattern, body]) => `    ${pattern}) ${body} ;;`), "    *) return 1 ;;", "  esac", "}"].join("\n");
  const valueRows = (values: Map<string, string>) => [...values].map(([flag, what]) => `${quote(flag)}) echo ${quote(what)} ;; `).join("");
  return [
    caseOf(
      "_tsbuild_value_flag",
      model.commands.map((c): [string, string] => [quote(c.name), `case "$2" in ${valueRows(c.values)}*) return 1 ;; esac`]).concat([["''", `case "$2" in ${valueRows(model.globalValues)}*) return 1 ;; esac`]]),
    ),
    caseOf(
      "_tsbuild_flags",
      model.commands.map((c): [string, string] => [quote(c.name), `echo ${quote(c.flags.flatMap((f) => f.words).join(" "))}`]),
    ),
    caseOf(
      "_tsbuild_positional",
      model.commands.map((c): [string, string] => [quote(c.name), `echo ${c.positional}`]),
    ),
    "_tsbuild_names() {",
    '  local root=()',
    '  [ -n "$_tsbuild_root" ] && root=(--root "$_tsbuild_root")',
    '  case "$1" in',
    "    image) command tsbuild images \"${root[@]}\" --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>' ;;",
    "    container) command tsbuild ps -a \"${root[@]}\" --format '{{.Names}}' 2>/dev/null ;;",
    '    volume) command tsbuild volume ls -q "${root[@]}" 2>/dev/null ;;',
    "  esac",
    "}",
    // The command (one or two words) among the words before the cursor, skipping flags and
    // their values; sets _tsbuild_cmd and _tsbuild_root.
    "_tsbuild_scan() {",
    '  _tsbuild_cmd=""; _tsbuild_root=""',
    "  local w skip=0 root_next=0",
    '  for w in "$@"; do',
    '    if [ "$root_next" = 1 ]; then root_next=0; _tsbuild_root="$w"; continue; fi',
    '    if [ "$skip" = 1 ]; then skip=0; continue; fi',
    '    case "$w" in',
    "      --root) root_next=1; continue ;;",
    '      --root=*) _tsbuild_root="${w#--root=}"; continue ;;',
    "      -*)",
    '        if _tsbuild_value_flag "$_tsbuild_cmd" "$w" >/dev/null; then case "$w" in *=*) ;; *) skip=1 ;; esac; fi',
    "        continue ;;",
    "    esac",
    '    if [ -z "$_tsbuild_cmd" ]; then',
    '      _tsbuild_cmd="$w"',
    `    elif case "$_tsbuild_cmd" in ${[...model.groups.keys()].join("|")}) true ;; *) false ;; esac; then`,
    '      _tsbuild_cmd="$_tsbuild_cmd $w"',
    "    else",
    "      break",
    "    fi",
    "  done",
    "}",
  ].join("\n");
}

function bashScript(model: CompletionModel): string {
  const firstWords = [...new Set(model.commands.map((c) => c.name.split(" ")[0]))];
  return `# bash completion for tsbuild, generated by "tsbuild completion bash".
# Load it with: source <(tsbuild completion bash)
${sharedFunctions(model)}
_tsbuild() {
  # Words split at spaces only: bash's own split breaks image names at ":" and flags at "=".
  local line="\${COMP_LINE:0:$COMP_POINT}" cur
  local -a words
  read -ra words <<< "$line"
  if [[ "$line" =~ [[:space:]]$ ]]; then cur=""; else cur="\${words[\${#words[@]}-1]}"; words=("\${words[@]:0:\${#words[@]}-1}"); fi
  _tsbuild_scan "\${words[@]:1}"
  local prev="\${words[\${#words[@]}-1]}" what
  if [ \${#words[@]} -gt 1 ] && what=$(_tsbuild_value_flag "$_tsbuild_cmd" "$prev"); then
    case "$what" in
      __file) _tsbuild_reply_files -f ;;
      __dir) _tsbuild_reply_files -d ;;
      *) _tsbuild_reply "$what" ;;
    esac
    return
  fi
  if [ -z "$_tsbuild_cmd" ]; then
    if [[ "$cur" == -* ]]; then _tsbuild_reply ${quote(model.globalFlags.flatMap((f) => f.words).join(" "))}; else _tsbuild_reply ${quote(firstWords.join(" "))}; fi
    return
  fi
  case "$_tsbuild_cmd" in
${[...model.groups].map(([group, words]) => `    ${quote(group)}) _tsbuild_reply ${quote(words.join(" "))}; return ;;`).join("\n")}
  esac
  if [[ "$cur" == -* ]]; then _tsbuild_reply "$(_tsbuild_flags "$_tsbuild_cmd")"; return; fi
  case "$(_tsbuild_positional "$_tsbuild_cmd")" in
    dir) _tsbuild_reply_files -d ;;
    file) _tsbuild_reply_files -f ;;
    image) _tsbuild_reply "$(_tsbuild_names image)" ;;
    container) _tsbuild_reply "$(_tsbuild_names container)" ;;
    volume) _tsbuild_reply "$(_tsbuild_names volume)" ;;
    any) _tsbuild_reply "$(_tsbuild_names image; _tsbuild_names container)" ;;
  esac
}
# Candidates from a word list that start with the word being typed; bash replaces only what
# follows the last ":" of it, so that much is cut from each candidate.
_tsbuild_reply() {
  COMPREPLY=($(compgen -W "$1" -- "$cur"))
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    local cut="\${cur%"\${cur##*:}"}"
    COMPREPLY=("\${COMPREPLY[@]#"$cut"}")
  fi
}
_tsbuild_reply_files() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen "$1" -- "$cur"))
  compopt -o filenames 2>/dev/null
}
complete -F _tsbuild tsbuild
`;
}

function zshScript(model: CompletionModel): string {
  const escape = (text: string) => text.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
  const firstWords = new Map<string, string>();
  for (const command of model.commands) {
    const [first, second] = command.name.split(" ");
    if (second === undefined) firstWords.set(first, command.summary);
    else if (!firstWords.has(first)) firstWords.set(first, `${[...(model.groups.get(first) ?? [])].join(", ")} (${first} COMMAND)`);
  }
  const describe = (entries: Array<[string, string]>) => entries.map(([word, text]) => quote(`${escape(word)}:${text}`)).join(" ");
  const flagEntries = (flags: CompletedCommand["flags"]) => flags.flatMap((flag) => flag.words.map((word): [string, string] => [word, flag.description]));
  return `#compdef tsbuild
# zsh completion for tsbuild, generated by "tsbuild completion zsh".
# Load it with: source <(tsbuild completion zsh)   (after compinit), or save it as _tsbuild in $fpath.
${sharedFunctions(model)}
_tsbuild_flag_list() {
  case "$1" in
${model.commands.map((c) => `    ${quote(c.name)}) reply=(${describe(flagEntries(c.flags))}) ;;`).join("\n")}
  esac
}
_tsbuild() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" what
  local -a reply names
  _tsbuild_scan "\${(@)words[2,CURRENT-1]}"
  if (( CURRENT > 2 )) && what=$(_tsbuild_value_flag "$_tsbuild_cmd" "$prev"); then
    case "$what" in
      __file) _files ;;
      __dir) _files -/ ;;
      *) names=(\${=what}); compadd -- $names ;;
    esac
    return
  fi
  if [[ -z "$_tsbuild_cmd" ]]; then
    if [[ "$cur" == -* ]]; then
      reply=(${describe(flagEntries(model.globalFlags))}); _describe -t flags 'global flag' reply
    else
      reply=(${describe([...firstWords])}); _describe -t commands 'tsbuild command' reply
    fi
    return
  fi
  case "$_tsbuild_cmd" in
${[...model.groups]
  .map(([group, words]) => {
    const entries = words.map((word): [string, string] => [word, model.commands.find((c) => c.name === `${group} ${word}`)?.summary ?? ""]);
    return `    ${quote(group)}) reply=(${describe(entries)}); _describe -t commands ${quote(`${group} command`)} reply; return ;;`;
  })
  .join("\n")}
  esac
  if [[ "$cur" == -* ]]; then _tsbuild_flag_list "$_tsbuild_cmd"; _describe -t flags 'flag' reply; return; fi
  case "$(_tsbuild_positional "$_tsbuild_cmd")" in
    dir) _files -/ ;;
    file) _files ;;
    image|container|volume) names=(\${(f)"$(_tsbuild_names "$(_tsbuild_positional "$_tsbuild_cmd")")"}); compadd -- $names ;;
    any) names=(\${(f)"$(_tsbuild_names image; _tsbuild_names container)"}); compadd -- $names ;;
  esac
}
if [[ "\${funcstack[1]}" == _tsbuild ]]; then _tsbuild "$@"; else compdef _tsbuild tsbuild; fi
`;
}
