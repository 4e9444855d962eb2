/** `tsbuild/frontend`: typed instructions and the build graph (pure: no files, no processes). */
export { parseInstruction, parseInstructions } from "./instructions/parse-instructions.js";
export type * from "./instructions/types.js";
export { convertDockerfile, type ConvertOptions } from "./convert-dockerfile.js";
export type {
  BuildGraph,
  BuildImageConfig,
  BuildWarning,
  CopyAction,
  ExecDefinition,
  ExecMount,
  FileAction,
  FileDefinition,
  ImageConfigResolver,
  NamedContext,
  ResolvedImage,
  SourceDefinition,
  Vertex,
  VertexDefinition,
  VertexLocation,
} from "./graph.js";
