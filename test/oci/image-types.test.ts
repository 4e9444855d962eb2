import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import {
  checkManifestMediaTypes,
  createDescriptor,
  createImageIndex,
  createImageManifest,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  parseManifestLike,
  referencedDescriptors,
  serializeJson,
} from "../../oci/image-types.js";
import { DOCKER_MEDIA_TYPES, OCI_MEDIA_TYPES } from "../../oci/media-types.js";

const configBytes = serializeJson({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [digestOf("layer")] },
});
const config = createDescriptor(OCI_MEDIA_TYPES.config, configBytes);
const layer = createDescriptor(OCI_MEDIA_TYPES.layerGzip, Buffer.from("gzipped layer"));

function expectInvalid(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (error) {
    assert.ok(isTsbuildError(error, "INVALID_ARCHIVE"), String(error));
    assert.is((error as Error).message, message);
    return;
  }
  assert.unreachable("expected an error");
}

test("createDescriptor records the byte size and digest of the content", () => {
  assert.equal(config, { mediaType: OCI_MEDIA_TYPES.config, digest: digestOf(configBytes), size: configBytes.byteLength });
  assert.is(createDescriptor("text/plain", "é").size, 2);
});

test("a manifest built by createImageManifest survives serialisation and parsing", () => {
  const manifest = createImageManifest(config, [layer]);
  const parsed = parseImageManifest(serializeJson(manifest));
  assert.equal(parsed, manifest);
  checkManifestMediaTypes(parsed);
  assert.equal(referencedDescriptors({ kind: "manifest", manifest: parsed }), [config, layer]);
});

test("parseManifestLike tells an index from a manifest, with or without mediaType", () => {
  const manifestDescriptor = createDescriptor(OCI_MEDIA_TYPES.manifest, serializeJson(createImageManifest(config, [])));
  const index = createImageIndex([manifestDescriptor]);
  assert.is(parseManifestLike(serializeJson(index)).kind, "index");
  assert.is(parseManifestLike(serializeJson({ schemaVersion: 2, manifests: [] })).kind, "index");
  assert.is(parseManifestLike(serializeJson({ schemaVersion: 2, config, layers: [] })).kind, "manifest");
  assert.is(parseManifestLike(serializeJson({ ...createImageManifest(config, []), mediaType: DOCKER_MEDIA_TYPES.manifest })).kind, "manifest");
  assert.equal(parseImageIndex(serializeJson(index)).manifests, [manifestDescriptor]);
});

test("malformed manifests are rejected with a message that says where", () => {
  expectInvalid(() => parseImageManifest("{"), `Cannot parse manifest: ${errorOf(() => JSON.parse("{"))}`);
  expectInvalid(() => parseImageManifest("[]"), "Invalid manifest: is not a JSON object");
  expectInvalid(() => parseImageManifest(serializeJson({ schemaVersion: 1 })), 'Invalid manifest: has schemaVersion "1", expected "2"');
  expectInvalid(
    () => parseImageManifest(serializeJson({ schemaVersion: 2, config: { ...config, digest: "sha256:12" }, layers: [] })),
    'Invalid manifest config: has an invalid digest "sha256:12"',
  );
  expectInvalid(
    () => parseImageManifest(serializeJson({ schemaVersion: 2, config, layers: [{ ...layer, size: -1 }] })),
    'Invalid manifest layer 0: has an invalid size "-1"',
  );
  expectInvalid(() => parseImageManifest(serializeJson(createImageIndex([]))), "Invalid manifest: is an index, expected a manifest");
  expectInvalid(
    () => checkManifestMediaTypes(createImageManifest(config, [{ ...layer, mediaType: "text/plain" }])),
    'Invalid manifest: has layer 0 of mediaType "text/plain"',
  );
});

test("an image config needs rootfs diff ids and a platform", () => {
  assert.is(parseImageConfig(configBytes).rootfs.diff_ids[0], digestOf("layer"));
  expectInvalid(() => parseImageConfig(serializeJson({ architecture: "amd64", os: "linux" })), 'Invalid image config: has no rootfs of type "layers"');
  expectInvalid(
    () => parseImageConfig(serializeJson({ os: "linux", rootfs: { type: "layers", diff_ids: [] } })),
    "Invalid image config: has no architecture or os",
  );
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return "";
}

test.run();
