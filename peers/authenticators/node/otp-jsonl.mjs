// npm otplib 13 or speakeasy 2 behind check-authenticator's JSON-lines protocol
// (docs/vendor-adapter.md): `node otp-jsonl.mjs otplib|speakeasy`, one request per line
// on stdin, one answer per line on stdout. The libraries are called as an app built on
// them would: their defaults (otplib's guardrails included) and their own base32 and
// URI readers, so a refusal or a wrong code is the library's, in its own words.
//
// The packages are resolved from TWOFA_NODE_MODULES (the folder make peers installs
// package-lock.json's versions into, under .peers/), not from beside this file.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

const library = process.argv[2];
const modules = process.env.TWOFA_NODE_MODULES;
if (!["otplib", "speakeasy"].includes(library) || !modules) {
  process.stderr.write("usage: TWOFA_NODE_MODULES=DIR node otp-jsonl.mjs otplib|speakeasy\n");
  process.exit(2);
}

// The package's ESM entry (exports["."].import), or its main file: what `import` would load.
async function load(name) {
  const dir = join(modules, name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const entry = meta.exports?.["."]?.import?.default ?? meta.main ?? "index.js";
  return import(pathToFileURL(join(dir, entry)).href);
}

// Each library as a pair: read an account from a request, give its code at a time.
async function backend(name) {
  if (name === "otplib") {
    const otplib = await load("otplib");
    const uri = await load("@otplib/uri");
    return {
      fromUri(text) {
        const parsed = uri.parse(text);
        if (parsed.type !== "totp") {
          throw Object.assign(new Error(`otpauth type ${parsed.type} is not TOTP`), {
            code: "unsupported_type",
          });
        }
        return { secret: parsed.params.secret, ...pick(parsed.params) };
      },
      fromKey(request) {
        return {
          secret: request.key,
          algorithm: String(request.algorithm).toLowerCase(),
          digits: request.digits,
          period: request.period,
        };
      },
      code(account, time) {
        return otplib.generateSync({ ...account, epoch: time });
      },
    };
  }
  const speakeasy = (await load("speakeasy")).default;
  return {
    fromUri() {
      throw Object.assign(new Error("speakeasy reads no otpauth URI"), { code: "invalid_uri" });
    },
    fromKey(request) {
      return {
        secret: request.key,
        encoding: "base32",
        algorithm: String(request.algorithm).toLowerCase(),
        digits: request.digits,
        step: request.period,
      };
    },
    code(account, time) {
      return speakeasy.totp({ ...account, time });
    },
  };
}

function pick(params) {
  const found = {};
  for (const name of ["algorithm", "digits", "period"]) {
    if (params[name] !== undefined) found[name] = params[name];
  }
  return found;
}

function refusal(id, error) {
  const code = error?.code ?? error?.name ?? "refused";
  return { id, ok: false, error: { code: String(code), message: String(error?.message ?? error) } };
}

const impl = await backend(library);
const accounts = new Map();
let next = 0;

function answer(request) {
  const { id, op } = request;
  if (op === "provision") {
    const account = request.uri !== undefined ? impl.fromUri(request.uri) : impl.fromKey(request);
    impl.code(account, 59); // a key or parameter the library rejects is refused here
    const handle = `a${++next}`;
    accounts.set(handle, account);
    return { id, ok: true, account: handle };
  }
  if (op === "codes") {
    const account = accounts.get(request.account);
    if (account === undefined) {
      return { id, ok: false, error: { code: "unknown_account", message: "no such account" } };
    }
    return { id, ok: true, codes: request.times.map((t) => String(impl.code(account, t))) };
  }
  if (op === "forget") {
    accounts.delete(request.account);
    return { id, ok: true };
  }
  return { id, ok: false, error: { code: "bad_request", message: `unknown op ${op}` } };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stdout.write(JSON.stringify(refusal(null, new Error("not JSON"))) + "\n");
    continue;
  }
  let reply;
  try {
    reply = answer(request);
  } catch (error) {
    reply = refusal(request.id, error);
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
