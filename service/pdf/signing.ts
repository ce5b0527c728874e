import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pdflibAddPlaceholder } from '@signpdf/placeholder-pdf-lib';
import signpdf from '@signpdf/signpdf';
import { Signer, SUBFILTER_ADOBE_PKCS7_DETACHED } from '@signpdf/utils';
import forge from 'node-forge';
import type { PDFDocument } from 'pdf-lib';

/**
 * The key that signs our PDFs: RSA (what every PDF reader checks; @signpdf's own P12 signer is
 * RSA-only too), apart from the ES256 token keys. It lives under KEYS_DIR/pdf/ like them: `<kid>.pem` (PKCS#8
 * RSA private key) with `<kid>.crt.pem` (its X.509 certificate); a `<kid>.crt.pem` without a key is a
 * retired certificate whose signatures we still recognise. `ACTIVE` names the signing kid, else the
 * newest. In development a self-signed certificate is made; a bureau replaces it with one from its
 * certificate authority (same file names).
 */
export interface PdfSigningKey {
  kid: string;
  privateKey: crypto.KeyObject;
  certificate: forge.pki.Certificate;
  certificatePem: string;
}

export interface PdfKeyRing {
  active(): PdfSigningKey;
  /** SHA-256 fingerprints (hex) of every certificate whose signatures are ours. */
  fingerprints(): Set<string>;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;

export function certificateFingerprint(der: Buffer): string {
  return crypto.createHash('sha256').update(der).digest('hex');
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pem))).getBytes(), 'binary');
}

/** The subject of a generated (self-signed) PDF certificate; ASCII, as every PDF reader shows it. */
export const PDF_SIGNER_SUBJECT = 'Taoyuan County Health Bureau (self-signed)';

export function loadPdfKeyRing(keysDir: string, generateIfMissing: boolean, subject = PDF_SIGNER_SUBJECT): PdfKeyRing {
  const dir = path.join(keysDir, 'pdf');
  const hasKey = (): boolean => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.pem') && !f.endsWith('.crt.pem'));
  if (!hasKey()) {
    if (!generateIfMissing) throw new Error(`no PDF signing key in ${dir} (create one with: npm run admin -- new-key pdf)`);
    generatePdfKey(keysDir, subject);
  }
  const keys = new Map<string, PdfSigningKey>();
  const fingerprints = new Set<string>();
  for (const file of fs.readdirSync(dir).sort()) {
    if (file.endsWith('.crt.pem')) {
      fingerprints.add(certificateFingerprint(pemToDer(fs.readFileSync(path.join(dir, file), 'utf8'))));
      continue;
    }
    if (!file.endsWith('.pem')) continue;
    const kid = file.slice(0, -'.pem'.length);
    if (!KID.test(kid)) continue;
    const keyPem = fs.readFileSync(path.join(dir, file), 'utf8');
    const certFile = path.join(dir, `${kid}.crt.pem`);
    if (!fs.existsSync(certFile)) throw new Error(`${certFile} is missing (the certificate of PDF key ${kid})`);
    const certificatePem = fs.readFileSync(certFile, 'utf8');
    const privateKey = crypto.createPrivateKey(keyPem);
    if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`${path.join(dir, file)} is not an RSA key (PDF signatures need RSA)`);
    const certificate = forge.pki.certificateFromPem(certificatePem);
    const certKey = crypto.createPublicKey(forge.pki.publicKeyToPem(certificate.publicKey as forge.pki.rsa.PublicKey)).export({ type: 'spki', format: 'der' });
    if (!certKey.equals(crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))) throw new Error(`${certFile} does not certify the key ${kid}.pem`);
    keys.set(kid, { kid, privateKey, certificate, certificatePem });
  }
  const activeFile = path.join(dir, 'ACTIVE');
  const named = fs.existsSync(activeFile) ? fs.readFileSync(activeFile, 'utf8').trim() : undefined;
  const active = keys.get(named ?? [...keys.keys()].sort().at(-1) ?? '');
  if (!active) throw new Error(`no usable PDF signing key in ${dir}${named ? ` (ACTIVE names ${named})` : ''}`);
  return { active: () => active, fingerprints: () => fingerprints };
}

/** A new RSA-2048 key with a self-signed certificate valid for ten years; it becomes the active one. */
export function generatePdfKey(keysDir: string, subject: string): string {
  const dir = path.join(keysDir, 'pdf');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const kid = `pdf-${stamp}-${crypto.randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${crypto.randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const attrs = [
    { name: 'commonName', value: subject },
    { name: 'organizationName', value: 'Family-planning certificate service' },
    { name: 'countryName', value: 'CN' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true },
  ]);
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  cert.sign(forgeKey, forge.md.sha256.create());
  fs.writeFileSync(path.join(dir, `${kid}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, `${kid}.crt.pem`), forge.pki.certificateToPem(cert), { mode: 0o644 });
  return kid;
}

export interface SignatureInfo {
  reason: string;
  signerName: string;
  location: string;
  contactInfo: string;
  signingTime: Date;
}

/** DER prefix of a PKCS#1 DigestInfo for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * @signpdf's P12 signer, minus its cost: the key and certificate are parsed once at start rather
 * than from a PKCS#12 bundle per document, and the RSA operation runs in Node's crypto rather than
 * in JavaScript. The PKCS#7 structure (signed attributes content type, signing time, message
 * digest; SHA-256) is node-forge's, as in the P12 signer.
 */
class KeySigner extends Signer {
  constructor(private readonly key: PdfSigningKey) {
    super();
  }

  override async sign(pdf: Buffer, signingTime?: Date): Promise<Buffer> {
    const p7 = forge.pkcs7.createSignedData();
    p7.content = forge.util.createBuffer(pdf.toString('binary'));
    p7.addCertificate(this.key.certificate);
    const privateKey = this.key.privateKey;
    const rsa = {
      sign: (md: forge.md.MessageDigest): string =>
        crypto.privateEncrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')])).toString('binary'),
    };
    p7.addSigner({
      key: rsa as unknown as forge.pki.rsa.PrivateKey,
      certificate: this.key.certificate,
      digestAlgorithm: forge.pki.oids.sha256!,
      authenticatedAttributes: [
        { type: forge.pki.oids.contentType!, value: forge.pki.oids.data },
        { type: forge.pki.oids.signingTime!, value: (signingTime ?? new Date()) as unknown as string },
        { type: forge.pki.oids.messageDigest! },
      ],
    });
    p7.sign({ detached: true });
    return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
  }
}

/**
 * Saves the document with a detached PKCS#7 signature (adbe.pkcs7.detached, SHA-256, RSA) over all
 * its bytes but the signature itself, as PDF readers and `pdfsig` check it.
 */
export async function signPdf(doc: PDFDocument, key: PdfSigningKey, info: SignatureInfo): Promise<Buffer> {
  pdflibAddPlaceholder({
    pdfDoc: doc,
    reason: info.reason,
    contactInfo: info.contactInfo,
    name: info.signerName,
    location: info.location,
    signingTime: info.signingTime,
    signatureLength: 8192,
    subFilter: SUBFILTER_ADOBE_PKCS7_DETACHED,
    widgetRect: [0, 0, 0, 0],
  });
  const unsigned = Buffer.from(await doc.save({ useObjectStreams: false }));
  return signpdf.sign(unsigned, new KeySigner(key), info.signingTime);
}

export type SignatureCheck =
  | { signed: false }
  | { signed: true; intact: boolean; ours: boolean; coversWholeFile: boolean; signedBytes: Buffer; signingTime?: Date; signer?: string };

/**
 * The one DER value at the start of `bytes`, read leniently, leaving whatever follows it in `bytes`.
 * (forge's `fromDer` takes these options at run time; its type definitions know only `strict`.)
 */
type FromDer = (bytes: forge.util.ByteStringBuffer, options: { strict: boolean; parseAllBytes: boolean }) => forge.asn1.Asn1;
export const readDer = (bytes: forge.util.ByteStringBuffer): forge.asn1.Asn1 => (forge.asn1.fromDer as unknown as FromDer)(bytes, { strict: false, parseAllBytes: false });

/**
 * Checks the last signature of a PDF: do the signed bytes still hash to the digest the signature
 * holds, does the signature verify under the certificate it carries, is that certificate one of
 * ours, and does the signed range reach the end of the file (nothing appended after signing).
 */
export function checkPdfSignature(pdf: Buffer, ourFingerprints: Set<string>): SignatureCheck {
  const text = pdf.toString('latin1');
  const at = text.lastIndexOf('/ByteRange');
  if (at < 0) return { signed: false };
  const m = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(text.slice(at, at + 120));
  if (!m) return { signed: false };
  const [a, b, c, d] = m.slice(1).map(Number) as [number, number, number, number];
  const broken = { signed: true as const, intact: false, ours: false, coversWholeFile: false, signedBytes: Buffer.alloc(0) };
  if (a !== 0 || b <= 0 || c <= b || c + d > pdf.length) return broken;
  const signedBytes = Buffer.concat([pdf.subarray(a, a + b), pdf.subarray(c, c + d)]);
  const hex = pdf.subarray(b, c).toString('latin1').replace(/[<>\s]/g, '');
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) return { ...broken, signedBytes };
  let message: forge.pkcs7.PkcsSignedData;
  try {
    // The signature is padded with zeros to the placeholder's size: forge reads the one DER value its
    // header measures and leaves the padding (stripping trailing zeros would also cut a signature that
    // itself ends in a zero byte: one in 256).
    message = forge.pkcs7.messageFromAsn1(readDer(forge.util.createBuffer(Buffer.from(hex, 'hex').toString('binary')))) as forge.pkcs7.PkcsSignedData;
  } catch {
    return { ...broken, signedBytes };
  }
  const raw = (message as unknown as { rawCapture: { authenticatedAttributes?: forge.asn1.Asn1[]; signature: string; certificates?: unknown } }).rawCapture;
  const cert = message.certificates[0];
  const attrs = raw.authenticatedAttributes;
  if (!cert || !attrs) return { ...broken, signedBytes };
  // The signed attributes carry the digest of the signed bytes; the signature covers the attributes.
  const digestOid = forge.pki.oids.messageDigest!;
  const timeOid = forge.pki.oids.signingTime!;
  let digest: string | undefined;
  let signingTime: Date | undefined;
  for (const attr of attrs) {
    const parts = attr.value as forge.asn1.Asn1[];
    const oid = forge.asn1.derToOid((parts[0]!.value as string) ?? '');
    const value = ((parts[1]!.value as forge.asn1.Asn1[])[0]!.value as string) ?? '';
    if (oid === digestOid) digest = value;
    if (oid === timeOid) signingTime = forge.asn1.utcTimeToDate(value);
  }
  const actual = crypto.createHash('sha256').update(signedBytes).digest('binary');
  const set = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SET, true, attrs);
  const attrsDer = Buffer.from(forge.asn1.toDer(set).getBytes(), 'binary');
  const certDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  let verified: boolean;
  try {
    verified = crypto.verify('sha256', attrsDer, new crypto.X509Certificate(certDer).publicKey, Buffer.from(raw.signature, 'binary'));
  } catch {
    verified = false;
  }
  return {
    signed: true,
    intact: verified && digest === actual,
    ours: ourFingerprints.has(certificateFingerprint(certDer)),
    coversWholeFile: c + d === pdf.length || (c + d === pdf.length - 1 && pdf[pdf.length - 1] === 0x0a),
    signedBytes,
    signingTime,
    signer: cert.subject.getField('CN')?.value as string | undefined,
  };
}
