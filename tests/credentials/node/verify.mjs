// Independent verification of a credential with Digital Bazaar's VC libraries.
//
// Usage: node verify.mjs CREDENTIAL.json [DID-DOCUMENT.json ...]
//
// Contexts come from credentials/contexts/ (the files our Python loader serves), never from the
// network: any other URL is an error. Keys come from did:key identifiers or from DID documents
// passed on the command line (e.g. our /.well-known/did.json). Prints the verification result
// as JSON and exits 0 only if the credential verified.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', 'credentials', 'contexts');
const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json': 'ob-v3p0-extensions.json',
};
const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

const [credentialPath, ...didDocumentPaths] = process.argv.slice(2);
if(!credentialPath) {
  console.error('usage: node verify.mjs CREDENTIAL.json [DID-DOCUMENT.json ...]');
  process.exit(2);
}

// Every document the verifier may dereference, by URL: controller documents and their methods.
const documents = new Map();
function addDidDocument(didDocument) {
  // A DID-context first entry lets jsonld-signatures read `assertionMethod` without framing,
  // so the DID and Multikey contexts themselves are never loaded.
  // Relative DID URLs ("#key-1") resolve against the DID, as a DID resolver would.
  const absolute = id => (id.startsWith('#') ? didDocument.id + id : id);
  const assertionMethod = (didDocument.assertionMethod || []).map(
    entry => (typeof entry === 'string' ? absolute(entry) : {...entry, id: absolute(entry.id)}));
  documents.set(didDocument.id, {
    ...didDocument, '@context': [DID_CONTEXT, MULTIKEY_CONTEXT], assertionMethod,
  });
  for(const method of [...(didDocument.verificationMethod || []), ...assertionMethod]) {
    if(typeof method === 'object') {
      const id = absolute(method.id);
      documents.set(id, {'@context': MULTIKEY_CONTEXT, ...method, id});
    }
  }
}
for(const path of didDocumentPaths) {
  addDidDocument(JSON.parse(readFileSync(path, 'utf8')));
}

function didKeyDocument(did) {
  const multikey = did.slice('did:key:'.length);
  const id = `${did}#${multikey}`;
  return {
    id: did,
    verificationMethod: [{id, type: 'Multikey', controller: did, publicKeyMultibase: multikey}],
    assertionMethod: [id],
  };
}

async function documentLoader(url) {
  if(Object.hasOwn(CONTEXT_FILES, url)) {
    const document = JSON.parse(readFileSync(join(contextsDir, CONTEXT_FILES[url]), 'utf8'));
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith('did:key:') && !documents.has(url)) {
    addDidDocument(didKeyDocument(url.split('#')[0]));
  }
  if(documents.has(url)) {
    return {contextUrl: null, documentUrl: url, document: documents.get(url)};
  }
  throw new Error(`document loader refused ${url} (offline: local contexts and keys only)`);
}

const credential = JSON.parse(readFileSync(credentialPath, 'utf8'));
const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});

const result = await vc.verifyCredential({credential, suite, documentLoader});
const errors = [];
if(result.error) {
  errors.push(...(result.error.errors || [result.error]).map(e => String(e.message || e)));
}
for(const r of result.results || []) {
  if(r.error) {
    errors.push(String(r.error.message || r.error));
  }
}
console.log(JSON.stringify({verified: result.verified, errors}, null, 2));
process.exit(result.verified ? 0 : 1);
