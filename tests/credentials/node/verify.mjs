// Independent verification of a credential with Digital Bazaar's VC libraries.
//
// Usage: node verify.mjs CREDENTIAL.(json|png|svg) [DID-DOCUMENT.json | STATUS-LIST.json ...]
//
// A credential baked into a PNG or SVG badge is read out of the image first (unbake.mjs).
// A credential with a `credentialStatus` is checked against its Bitstring Status List with
// Digital Bazaar's status list library; the list credential must be given on the command line
// (its signature and issuer are verified too), and a revoked credential fails.
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
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

import {credentialFromFile} from './unbake.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', '..', 'credentials', 'contexts');
const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json': 'ob-v3p0-extensions.json',
  'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json': 'clr-v2p0-context-2.0.1.json',
};
const DID_CONTEXT = 'https://www.w3.org/ns/did/v1';
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';

const [credentialPath, ...documentPaths] = process.argv.slice(2);
if(!credentialPath) {
  console.error('usage: node verify.mjs CREDENTIAL [DID-DOCUMENT.json | STATUS-LIST.json ...]');
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
for(const path of documentPaths) {
  const document = JSON.parse(readFileSync(path, 'utf8'));
  if([].concat(document.type || []).includes('BitstringStatusListCredential')) {
    documents.set(document.id, document);
  } else {
    addDidDocument(document);
  }
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

const credential = credentialFromFile(credentialPath);
const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});

const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus});
const errors = [];
if(result.error) {
  errors.push(...(result.error.errors || [result.error]).map(e => String(e.message || e)));
}
for(const r of result.results || []) {
  if(r.error) {
    errors.push(String(r.error.message || r.error));
  }
}
// The status list library reports a set bit as verified status with `status: true`.
const statuses = (result.statusResult?.results || []).map(
  r => ({purpose: r.credentialStatus?.statusPurpose, set: r.status, verified: r.verified}));
const revoked = statuses.some(s => s.purpose === 'revocation' && s.set === true);
if(result.statusResult?.error) {
  errors.push(String(result.statusResult.error.message || result.statusResult.error));
}
const verified = result.verified && !revoked;
console.log(JSON.stringify({verified, revoked, statuses, errors}, null, 2));
process.exit(verified ? 0 : 1);
