import type { ELicenceMetadata } from './certificates.model';

/**
 * The provincial e-licence platform, where the legally sealed original is made: an OFD file with an
 * SM2 electronic seal from the national seal system. Our signed PDF is the printable, verifiable
 * copy. A bureau connects the platform by implementing this interface (its issuance and seal API);
 * without one, certificates are issued here alone and `platform` stays empty on the register entry.
 */
export interface ProvincialPlatform {
  /** Registers one licence; answers the platform's reference for it. Throws when the platform refuses or is down. */
  register(licence: { metadata: ELicenceMetadata; serial: string; type: string }): Promise<{ reference: string }>;
}
