/* "Verify this entry": the ledger browser checks one entry in the reader's own browser.
 *
 * With WebCrypto only (no library, nothing fetched but /ledger/keys from this server):
 *   1. leaf hash = SHA-256(0x00 || UTF-8 bytes of the canonical JSON in the page);
 *   2. fold the inclusion proof from that leaf to a root (RFC 9162 section 2.1.3.2);
 *   3. parse the signed checkpoint (C2SP tlog-checkpoint) and compare its root and size;
 *   4. check its signature lines against the published checkpoint keys: the Ed25519 signature is
 *      required, and every line of a published key (the RSA-PSS one too) must verify.
 * Formats: docs/ledger-formats.md; the same rules as tools/verify_bundle.py.
 */
(function () {
  "use strict";

  var encoder = new TextEncoder();
  var ED25519_TYPE = 0x01;
  var RSA_PSS_TYPE = concat(new Uint8Array([0xff]), encoder.encode("lexecon/rsa-pss-sha256"));

  function concat() {
    var total = 0;
    for (var i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total);
    var at = 0;
    for (var j = 0; j < arguments.length; j++) {
      out.set(arguments[j], at);
      at += arguments[j].length;
    }
    return out;
  }

  function fromBase64(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
      throw new Error("not canonical base64");
    }
    var binary = atob(text);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map
      .call(bytes, function (b) { return b.toString(16).padStart(2, "0"); })
      .join("");
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function nodeHash(left, right) {
    return sha256(concat(new Uint8Array([0x01]), left, right));
  }

  /* RFC 9162 2.1.3.2: the root an inclusion path leads to, or null when the path is malformed. */
  async function rootFromProof(index, size, leaf, path) {
    var fn = BigInt(index);
    var sn = BigInt(size) - 1n;
    if (fn > sn) return null;
    var r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      if (sn === 0n) return null;
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n ? r : null;
  }

  /* A signed note: the text ends at the last blank line; then "— name base64" lines. */
  function parseNote(note) {
    var split = note.lastIndexOf("\n\n");
    if (split < 0 || !note.endsWith("\n")) throw new Error("the note has no signature block");
    var text = note.slice(0, split + 1);
    var lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
      throw new Error("the checkpoint text is malformed");
    }
    var root = fromBase64(lines[2]);
    if (root.length !== 32) throw new Error("the checkpoint root is not 32 bytes");
    var signatures = note.slice(split + 2, -1).split("\n").map(function (line) {
      var match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match) throw new Error("a signature line is malformed");
      var raw = fromBase64(match[2]);
      if (raw.length < 5) throw new Error("a signature is too short");
      return { name: match[1], keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
    return { text: text, origin: lines[0], size: lines[1], root: root, signatures: signatures };
  }

  /* A verifier key "name+keyid+base64(material)"; its key ID must match its name and material. */
  async function parseNoteKey(noteKey) {
    // Key names hold no "+", but base64 may: split at the first two only.
    var parts = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(noteKey);
    if (!parts) throw new Error("a published verifier key is malformed");
    parts = parts.slice(1);
    var material = fromBase64(parts[2]);
    var digest = await sha256(concat(encoder.encode(parts[0]), new Uint8Array([0x0a]), material));
    if (hex(digest.slice(0, 4)) !== parts[1]) throw new Error("key ID does not match the key");
    var key;
    var algorithm;
    if (material[0] === ED25519_TYPE && material.length === 33) {
      algorithm = "Ed25519";
      key = await crypto.subtle.importKey(
        "raw", material.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } else if (equal(material.slice(0, RSA_PSS_TYPE.length), RSA_PSS_TYPE)) {
      algorithm = "RSA-PSS";
      key = await crypto.subtle.importKey(
        "spki", material.slice(RSA_PSS_TYPE.length), { name: "RSA-PSS", hash: "SHA-256" },
        false, ["verify"]);
    } else {
      throw new Error("unknown key type");
    }
    return { name: parts[0], keyId: parts[1], algorithm: algorithm, key: key };
  }

  async function verifySignature(known, signature, message) {
    if (known.algorithm === "Ed25519") {
      return crypto.subtle.verify({ name: "Ed25519" }, known.key, signature, message);
    }
    // Maximum salt length, as the server signs: modulus bytes - hash bytes - 2.
    var saltLength = Math.ceil(known.key.algorithm.modulusLength / 8) - 32 - 2;
    return crypto.subtle.verify({ name: "RSA-PSS", saltLength: saltLength }, known.key, signature,
      message);
  }

  async function run(section, steps) {
    var proof = JSON.parse(document.getElementById("ledger-proof").textContent);
    var note = JSON.parse(document.getElementById("ledger-checkpoint-note").textContent);
    var canonical = document.getElementById("canonical").value;
    var seq = Number(section.dataset.seq);

    // 1. The canonical bytes must describe this entry, and give its leaf hash.
    var bytes = encoder.encode(canonical);
    var parsed;
    try {
      parsed = JSON.parse(canonical);
    } catch (error) {
      steps.fail("The canonical JSON does not parse: " + error.message);
      return false;
    }
    if (!parsed || parsed.seq !== seq || proof.seq !== seq) {
      steps.fail("The canonical JSON is not entry #" + seq + ".");
      return false;
    }
    var leaf = await sha256(concat(new Uint8Array([0x00]), bytes));
    var entryHash = hex(await sha256(bytes));
    steps.ok("Leaf hash recomputed from the canonical JSON: " + hex(leaf) +
      " (entry hash " + entryHash + ").");

    // 2. Fold the inclusion proof to a root.
    var path = proof.proof.map(fromBase64);
    var root = await rootFromProof(proof.seq, proof.tree_size, leaf, path);
    if (root === null) {
      steps.fail("The inclusion proof is malformed for a tree of " + proof.tree_size + " entries.");
      return false;
    }
    steps.ok("Inclusion proof folded (" + path.length + " hashes) to root " + hex(root) + ".");

    // 3. Compare with the signed checkpoint.
    var checkpoint = parseNote(note);
    if (checkpoint.origin !== section.dataset.origin) {
      steps.fail("The checkpoint names another log: " + checkpoint.origin + ".");
      return false;
    }
    if (checkpoint.size !== String(proof.tree_size)) {
      steps.fail("The checkpoint's tree size " + checkpoint.size + " is not the proof's " +
        proof.tree_size + ".");
      return false;
    }
    if (!equal(checkpoint.root, root)) {
      steps.fail("The root does not match the signed checkpoint's root " +
        hex(checkpoint.root) + ": the entry or the proof was altered.");
      return false;
    }
    steps.ok("The root equals the root of the signed checkpoint of size " + checkpoint.size + ".");

    // 4. Signatures against the published checkpoint keys.
    var response = await fetch(section.dataset.keysUrl, { credentials: "omit" });
    if (!response.ok) {
      steps.fail("Could not read the published keys (HTTP " + response.status + ").");
      return false;
    }
    var published = (await response.json()).keys.filter(function (k) {
      return k.purpose === "checkpoint";
    });
    var keys = [];
    for (var i = 0; i < published.length; i++) {
      keys.push(await parseNoteKey(published[i].note_key));
    }
    var message = encoder.encode(checkpoint.text);
    var verified = [];
    for (var s = 0; s < checkpoint.signatures.length; s++) {
      var line = checkpoint.signatures[s];
      var candidates = keys.filter(function (k) {
        return k.name === line.name && k.keyId === hex(line.keyId);
      });
      if (!candidates.length) continue; // unknown keys are ignored (C2SP)
      var good = false;
      for (var c = 0; c < candidates.length && !good; c++) {
        good = await verifySignature(candidates[c], line.signature, message);
      }
      if (!good) {
        steps.fail("The " + candidates[0].algorithm + " signature of key " + hex(line.keyId) +
          " does not verify.");
        return false;
      }
      verified.push(candidates[0].algorithm + " (key " + hex(line.keyId) + ")");
      steps.ok("The " + candidates[0].algorithm + " signature of key " + hex(line.keyId) +
        " verifies.");
    }
    if (!verified.some(function (v) { return v.indexOf("Ed25519") === 0; })) {
      steps.fail("No Ed25519 signature by a published key verifies.");
      return false;
    }
    return verified;
  }

  function start() {
    var section = document.getElementById("verify");
    var button = document.getElementById("verify-button");
    var out = document.getElementById("verify-result");
    if (!section || !button || !out) return;
    button.addEventListener("click", async function () {
      // A new run: forget the last outcome before anything else (readers and tests wait on it).
      delete out.dataset.outcome;
      out.textContent = "";
      var verdict = document.createElement("p");
      verdict.className = "verdict";
      verdict.textContent = "Checking…";
      var list = document.createElement("ol");
      out.append(verdict, list);
      function add(kind, text) {
        var item = document.createElement("li");
        item.className = kind;
        item.textContent = (kind === "ok" ? "Passed: " : "FAILED: ") + text;
        list.append(item);
      }
      var steps = { ok: add.bind(null, "ok"), fail: add.bind(null, "fail") };
      button.disabled = true;
      var result = false;
      try {
        if (!window.crypto || !crypto.subtle) {
          throw new Error("this browser offers no WebCrypto here (it needs HTTPS)");
        }
        result = await run(section, steps);
      } catch (error) {
        steps.fail(error.message);
        result = false;
      } finally {
        button.disabled = false;
      }
      if (result) {
        verdict.className = "verdict ok";
        verdict.textContent = "Verified: entry #" + section.dataset.seq +
          " is in the signed checkpoint (" + result.join(", ") + ").";
      } else {
        verdict.className = "verdict fail";
        verdict.textContent = "NOT verified: see the failed step below.";
      }
      out.dataset.outcome = result ? "verified" : "failed";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
