// Precompresses the built page for the server (server/src/http/page.rs): beside
// each text or wasm file of the folder, FILE.br (brotli, quality 11) and
// FILE.gz (gzip, level 9), each kept only when smaller than the file.
//
// trunk runs it after a release build, on its staging folder (the post_build
// hook in Trunk.toml); `node scripts/lib/compress.mjs DIR` runs it by hand.
// Node's own zlib does the work: no package to install.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const COMPRESSIBLE = /\.(html|js|mjs|css|wasm|json|svg|txt)$/;

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("usage: node scripts/lib/compress.mjs DIR (or TRUNK_STAGING_DIR)");
  process.exit(2);
}
if (process.env.TRUNK_PROFILE === "debug") {
  // `trunk serve` and debug builds: served as they are.
  process.exit(0);
}

/** Every file under `folder`, recursively (trunk puts snippets in subfolders). */
function files(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.isFile() ? [path] : [];
  });
}

let plain = 0;
let br = 0;
let gz = 0;
for (const path of files(dir).filter((p) => COMPRESSIBLE.test(p))) {
  const data = readFileSync(path);
  const brotli = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gzip = gzipSync(data, { level: 9 });
  plain += data.length;
  for (const [suffix, packed] of [[".br", brotli], [".gz", gzip]]) {
    if (packed.length < data.length) writeFileSync(path + suffix, packed);
  }
  br += Math.min(brotli.length, data.length);
  gz += Math.min(gzip.length, data.length);
}
console.log(`compress: ${plain} bytes, brotli ${br}, gzip ${gz}`);
