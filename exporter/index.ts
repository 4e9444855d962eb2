/** `tsbuild/exporter`: what a solved build is written as, one `Exporter` per output. */
export type { ExportContext, Exporter, SolvedBuild } from "./exporter.js";
export { ImageStoreExporter } from "./image-store-exporter.js";
export { LocalExporter } from "./local-exporter.js";
export { ArchiveExporter } from "./archive-exporter.js";
export { PushExporter } from "./push-exporter.js";
export { CacheExporter } from "./cache-exporter.js";
export type { ExportedImage } from "../solver/export-image.js";
