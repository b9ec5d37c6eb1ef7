// validate-k8s.mjs -- checks Kubernetes manifests against the API's schemas (kubernetes-models,
// generated from Kubernetes' OpenAPI spec): every document's apiVersion/kind must be a known
// type, and the object must validate as that type (unknown fields, wrong types, missing
// required fields are errors). Usage: node validate-k8s.mjs FILE.yaml...
// Exit status 0 when all are valid; 1 with one line per problem otherwise.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// Kustomize's own file is not an API object; it is checked for the files it names instead.
const KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1/Kustomization";

async function modelFor(apiVersion, kind) {
  // "apps/v1" -> kubernetes-models/apps/v1/Deployment; "v1" -> kubernetes-models/v1/Service.
  try {
    const module = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return module[kind] ?? module.default;
  } catch {
    return null;
  }
}

let problems = 0;
let checked = 0;
const report = (where, what) => {
  problems++;
  console.error(`${where}: ${what}`);
};

for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const [i, doc] of docs.entries()) {
    const where = `${file}: document ${i + 1}`;
    if (doc.errors.length) {
      for (const e of doc.errors) report(where, e.message);
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const { apiVersion, kind } = object;
    if (!apiVersion || !kind) {
      report(where, "no apiVersion or kind");
      continue;
    }
    if (`${apiVersion}/${kind}` === KUSTOMIZATION) {
      for (const resource of object.resources ?? []) {
        try {
          readFileSync(new URL(resource, `file://${process.cwd()}/${file}`));
        } catch {
          report(where, `resource ${resource} does not exist`);
        }
      }
      checked++;
      continue;
    }
    const Model = await modelFor(apiVersion, kind);
    if (!Model) {
      report(where, `unknown type ${apiVersion} ${kind}`);
      continue;
    }
    try {
      new Model(object).validate();
      checked++;
    } catch (e) {
      report(`${where} (${kind} ${object.metadata?.name ?? "?"})`, e.message);
    }
  }
}
if (problems === 0) console.log(`ok: ${checked} objects valid`);
process.exit(problems === 0 ? 0 : 1);
