/**
 * The extension's identity, fixed by the manifest `key` so that host manifests and enterprise policies can name it
 * before the extension is ever installed. The private half of this key is not needed by anyone: Chromium derives the
 * ID from the public key alone, and stores sign their own packages.
 */
export const EXTENSION_PUBLIC_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkAtjDgQHbdoOnvqdnlzgyrPkvRKfTvBOf9tLOnDwH8IpSTCZi3gZ/q6kD4CqqeOhqmE2RQDBmL8zQbVB3Jk21ta7LVa7jMPjKPwRZGydySbdnUqQI15uq9/h69SqnDDQNdf5SAtIspTmvFQUwceJ7lRiEonXfYwJBXAgPH68/bxYb+LVeSbbXH3+x0vJF5NdEipPt4Ea3CywHEl//nRRQP/ME5RSqqg+mAkebvIdqmkUYnvtGBEwZweJic6NYQNZbzBUqLwZNq91ME53sUszx8SEWqdOmc/fVIfESfxS3TFifRUvdtAJovEqQ6vwz+GlvwlcFpZsjAVZtf0xsRcnZQIDAQAB';

/** The Chromium-family extension ID derived from {@link EXTENSION_PUBLIC_KEY} (checked by a unit test). */
export const CHROMIUM_EXTENSION_ID = 'lannamifkldjnpehgkdoekmdpejnnngc';

/** The Firefox add-on ID (`browser_specific_settings.gecko.id`). */
export const FIREFOX_EXTENSION_ID = 'agent@sandgate.org';

/** The native-messaging host name both browsers families look up. */
export const NATIVE_HOST_NAME = 'org.sandgate.agent';
