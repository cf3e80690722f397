/**
 * The one error hierarchy of the widget, mirroring src/hushwire/errors.py.
 *
 * Decoders throw only {@link DecodeError}; a failed decryption or signature check is one
 * opaque {@link CryptoError} that never says which check failed. Programming errors (a value
 * out of range handed to an encoder) are plain `RangeError`s, as Python raises `ValueError`.
 */

export class HushwireError extends Error {
  override name = "HushwireError";
}

/** Malformed, truncated or oversized input to a decoder. */
export class DecodeError extends HushwireError {
  override name = "DecodeError";
}

/** A cryptographic operation failed (opaque by design). */
export class CryptoError extends HushwireError {
  override name = "CryptoError";
  constructor() {
    super("cryptographic operation failed");
  }
}
