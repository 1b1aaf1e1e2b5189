// Pagefind's Node API, driven by site_builder/search.py: pages' search documents in, index files
// out, nothing on disk.
//
//   node search_index.mjs PAGEFIND_PACKAGE_DIR
//
// Both ways a message is a JSON line, followed by `size` raw bytes when it has a size.
// stdin: the index's config ({"keepIndexUrl": true}), then the pages, each added as it arrives
// (Pagefind indexes it in its own process while the build renders the next ones):
// {"record": "a/b.html", "size": N} and the page's search document as JSON: its URL and a small
// HTML document (an HTML file of the Node API, which is not on disk). End of input ends the index.
// stdout, once every page is in: {"path": ..., "size": N} and the bytes of each index file, then
// {"done": true}. A failure writes {"error": "..."} and exits with status 1; when the Pagefind
// binary stops, what it said is on stderr, which is left to it alone.
// The binary is the one $PAGEFIND_EXTENDED_BINARY_PATH names (search.py sets it).

import { pathToFileURL } from "node:url";

let finished = false;
console.error = () => {}; // the Node API reports a stopped binary here; we report it ourselves
process.on("exit", () => {
  if (!finished) process.exitCode = 1; // the binary stopped with pages pending
});

function fail(message) {
  finished = true;
  process.stdout.write(`${JSON.stringify({ error: String(message) })}\n`, () => process.exit(1));
}

// Messages from a byte stream: a JSON line, then `size` bytes when it has a size.
async function* messages(stream) {
  let buffer = Buffer.alloc(0);
  let head = null;
  for await (const chunk of stream) {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      if (!head) {
        const newline = buffer.indexOf(10);
        if (newline < 0) break;
        head = JSON.parse(buffer.subarray(0, newline).toString("utf8"));
        buffer = buffer.subarray(newline + 1);
      }
      const size = head.size ?? 0;
      if (buffer.length < size) break;
      yield [head, buffer.subarray(0, size)];
      buffer = buffer.subarray(size);
      head = null;
    }
  }
}

async function main(packageDir) {
  const pagefind = await import(pathToFileURL(`${packageDir}/lib/index.js`).href);
  let index = null;
  const added = [];
  for await (const [head, body] of messages(process.stdin)) {
    if (!index) {
      const created = await pagefind.createIndex(head);
      if (created.errors.length) return fail(created.errors.join("; "));
      index = created.index;
      continue;
    }
    const adding = index.addHTMLFile(JSON.parse(body.toString("utf8")));
    added.push(
      adding.then((result) => {
        if (result.errors.length) throw new Error(`${head.record}: ${result.errors.join("; ")}`);
      }),
    );
  }
  if (!index) return fail("no index config was sent");
  await Promise.all(added);
  const { errors, files } = await index.getFiles();
  if (errors.length) return fail(errors.join("; "));
  const chunks = [];
  for (const file of files) {
    const content = Buffer.from(file.content);
    chunks.push(Buffer.from(`${JSON.stringify({ path: file.path, size: content.length })}\n`));
    chunks.push(content);
  }
  chunks.push(Buffer.from(`${JSON.stringify({ done: true })}\n`));
  finished = true;
  process.stdout.write(Buffer.concat(chunks), () => pagefind.close());
}

main(process.argv[2]).catch((error) => fail(error?.message ?? error));
