/**
 * Named caps and sizes; every length the code checks is compared with one of these.
 * Mirrors src/hushwire/limits.py (simplexmq Transport.hs, Protocol.hs, Crypto.hs).
 */

/** Every SMP transport block is exactly this many bytes (Transport.hs smpBlockSize). */
export const SMP_BLOCK_SIZE = 16384;
/** Poly1305 tag that v11+ block encryption adds (Crypto.hs authTagSize). */
export const BLOCK_AUTH_TAG_SIZE = 16;
/** Pad length (2) + transmission count (1) + reserved block-encryption tag (16). */
export const BATCH_OVERHEAD = 2 + 1 + BLOCK_AUTH_TAG_SIZE;
/** What the Large-prefixed transmissions of one block may total (batchTransmissions_). */
export const MAX_BATCH_PAYLOAD = SMP_BLOCK_SIZE - BATCH_OVERHEAD;
/** Transmissions in one block at most (the count is one byte). */
export const MAX_BATCH_COUNT = 255;

export const MAX_SHORT_STRING = 255;
export const MAX_LARGE = 65535;
/** pad() refuses messages longer than this (Crypto.hs pad). */
export const MAX_PAD_MESSAGE = 65533;

export const MAX_MESSAGE_LENGTH_V6 = 16088;
export const MAX_MESSAGE_LENGTH_V8 = 16064;
export const MAX_MESSAGE_LENGTH_V11 = 16048;
/** Server-to-recipient plaintext is padded to this (encodeRcvMsgBody / padMaxLenBS). */
export const ENCRYPTED_MSG_BODY_PAD = 16104 + 2;

export const QUEUE_ID_SIZE = 24;
export const MSG_ID_SIZE = 24;
export const CORR_ID_SIZE = 24;
export const SESSION_ID_SIZE = 32;

export const MIN_CERT_CHAIN = 2;
export const MAX_CERT_CHAIN = 4;

/** Message keys one received message may make the receiver skip in one chain (Ratchet.hs maxSkip). */
export const RATCHET_MAX_SKIP = 512;
/** Skipped-message keys one ratchet keeps at most over all chains; the oldest are dropped beyond it. */
export const RATCHET_MAX_SKIPPED_KEYS = 2000;
/** Characters in a connection link at most (it travels as a Large in AgentInvitation). */
export const MAX_LINK_LENGTH = 65535;
/** Largest chat message JSON (simplex-chat Protocol.hs maxEncodedMsgLength). */
export const CHAT_MAX_ENCODED_MSG_LENGTH = 15602;
/** Largest connInfo JSON (simplex-chat Protocol.hs maxEncodedInfoLength). */
export const CHAT_MAX_ENCODED_INFO_LENGTH = 14694;
/** A chat body handed to the parser is refused above this size. */
export const CHAT_MAX_BODY_LENGTH = 65536;
/** A Compressed zstd frame must declare its size and decompress to at most this (limitDecompress1). */
export const MAX_DECOMPRESSED_SIZE = 65536;
/** Member ids are 1 to this many bytes (GROUP_MAX_MEMBER_ID_LENGTH). */
export const GROUP_MAX_MEMBER_ID_LENGTH = 64;
/** Longest memberName a forward may carry (GROUP_MAX_MEMBER_NAME_LENGTH). */
export const GROUP_MAX_MEMBER_NAME_LENGTH = 1024;
/** (author, msgId) pairs a business chat remembers for de-duplication (GROUP_MAX_SEEN_MSG_IDS). */
export const GROUP_MAX_SEEN_MSG_IDS = 4096;
