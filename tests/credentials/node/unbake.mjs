// Reads a credential from a .json file or from a badge image baked per Open Badges 3.0
// (section 5.3): a PNG's `iTXt` chunk with keyword `openbadgecredential`, or an SVG's
// `<openbadges:credential>` element (namespace https://purl.imsglobal.org/ob/v3p0).
//
// Written independently of credentials/baking.py, with Node's standard library only, so that a
// test can check that what we bake is readable by code that does not share our assumptions.
//
//   import {credentialFromFile} from './unbake.mjs';
//   const credential = credentialFromFile('badge.png');  // the parsed JSON object
import {readFileSync} from 'node:fs';
import {extname} from 'node:path';
import {inflateSync} from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_KEYWORD = 'openbadgecredential';
const OB_NAMESPACE = 'https://purl.imsglobal.org/ob/v3p0';

const CRC_TABLE = Array.from({length: 256}, (_, n) => {
  let c = n;
  for(let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for(const byte of bytes) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder('utf-8', {fatal: true});

// The text of every `openbadgecredential` iTXt chunk of a PNG, CRCs checked.
export function credentialTextFromPng(buffer) {
  if(!buffer.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw new Error('not a PNG image');
  }
  const found = [];
  let offset = 8;
  for(;;) {
    if(offset + 12 > buffer.length) {
      throw new Error('truncated PNG: no IEND chunk');
    }
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const end = offset + 8 + length;
    if(end + 4 > buffer.length) {
      throw new Error(`truncated PNG: chunk ${type} runs past the end`);
    }
    if(crc32(buffer.subarray(offset + 4, end)) !== buffer.readUInt32BE(end)) {
      throw new Error(`damaged PNG: chunk ${type} fails its CRC`);
    }
    const data = buffer.subarray(offset + 8, end);
    if(type === 'iTXt') {
      const keywordEnd = data.indexOf(0);
      if(data.toString('latin1', 0, keywordEnd) === PNG_KEYWORD) {
        const compressed = data[keywordEnd + 1] === 1;
        const languageEnd = data.indexOf(0, keywordEnd + 3);
        const translatedEnd = data.indexOf(0, languageEnd + 1);
        const text = data.subarray(translatedEnd + 1);
        found.push(utf8.decode(compressed ? inflateSync(text) : text));
      }
    }
    offset = end + 4;
    if(type === 'IEND') {
      break;
    }
  }
  if(found.length !== 1) {
    throw new Error(`expected one openbadgecredential iTXt chunk, found ${found.length}`);
  }
  return found[0];
}

const ENTITIES = {amp: '&', lt: '<', gt: '>', quot: '"', apos: '\''};

function decodeText(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, name) => {
    if(name.startsWith('#x')) {
      return String.fromCodePoint(parseInt(name.slice(2), 16));
    }
    if(name.startsWith('#')) {
      return String.fromCodePoint(parseInt(name.slice(1), 10));
    }
    if(!Object.hasOwn(ENTITIES, name)) {
      throw new Error(`unknown entity ${match}`);
    }
    return ENTITIES[name];
  });
}

// The text content of the SVG's credential element: CDATA sections and escaped text joined.
export function credentialTextFromSvg(text) {
  const escaped = OB_NAMESPACE.replace(/[.]/g, '\\.');
  const declaration = new RegExp(`xmlns:([A-Za-z_][\\w.-]*)\\s*=\\s*["']${escaped}["']`);
  const match = declaration.exec(text);
  if(!match) {
    throw new Error('no Open Badges 3.0 namespace declared in this SVG');
  }
  const prefix = match[1];
  const start = text.indexOf(`<${prefix}:credential`);
  if(start < 0) {
    throw new Error(`no <${prefix}:credential> element in this SVG`);
  }
  const tagEnd = text.indexOf('>', start);
  if(text[tagEnd - 1] === '/') {
    return '';
  }
  const close = `</${prefix}:credential`;
  let content = '';
  let position = tagEnd + 1;
  while(!text.startsWith(close, position)) {
    if(position >= text.length) {
      throw new Error('unterminated credential element');
    }
    if(text.startsWith('<![CDATA[', position)) {
      const end = text.indexOf(']]>', position);
      content += text.slice(position + 9, end);
      position = end + 3;
    } else if(text[position] === '<') {
      throw new Error('unexpected markup inside the credential element');
    } else {
      const next = text.indexOf('<', position);
      content += decodeText(text.slice(position, next));
      position = next;
    }
  }
  return content;
}

// The credential in a .json, .png or .svg file, parsed. The content decides, then the name.
export function credentialFromFile(path) {
  const buffer = readFileSync(path);
  if(buffer.subarray(0, 8).equals(PNG_SIGNATURE)) {
    return JSON.parse(credentialTextFromPng(buffer));
  }
  const text = utf8.decode(buffer).replace(/^\uFEFF/, '');
  if(extname(path).toLowerCase() === '.svg' || /^\s*</.test(text)) {
    return JSON.parse(credentialTextFromSvg(text));
  }
  return JSON.parse(text);
}
