/**
 * Errors of the widget's SMP client (mirrors src/hushwire/client/errors.py): every one derives
 * from {@link SMPClientError}, itself a HushwireError.
 */

import { HushwireError } from "../../errors.js";
import type { BrokerMsg } from "../commands.js";
import { errorTypeText, type ErrorType } from "../errors.js";

/** Root of every error the SMP client throws. */
export class SMPClientError extends HushwireError {
  override name = "SMPClientError";
}
/** The server could not be reached (the WebSocket did not open). */
export class ConnectFailed extends SMPClientError {
  override name = "ConnectFailed";
}
/** The SMP handshake failed; the connection is closed. */
export class HandshakeFailed extends SMPClientError {
  override name = "HandshakeFailed";
}
/** The server's certificate chain does not belong to the key hash in its address. */
export class IdentityMismatch extends HandshakeFailed {
  override name = "IdentityMismatch";
}
/** The server and the client have no protocol version in common. */
export class VersionMismatch extends HandshakeFailed {
  override name = "VersionMismatch";
}
/** The connection closed (by the peer, the network, keepalive or close()). */
export class ConnectionLost extends SMPClientError {
  override name = "ConnectionLost";
}
/** The server did not answer a command in time. */
export class ResponseTimeout extends SMPClientError {
  override name = "ResponseTimeout";
}
/** The server answered with something that is not a valid answer to the command. */
export class UnexpectedResponse extends SMPClientError {
  override name = "UnexpectedResponse";
  readonly response: BrokerMsg | ErrorType | null;
  constructor(message: string, response: BrokerMsg | ErrorType | null = null) {
    super(message);
    this.response = response;
  }
}
/** The server answered ERR; `error` is the protocol's error. */
export class SMPCommandError extends SMPClientError {
  override name = "SMPCommandError";
  readonly error: ErrorType;
  constructor(error: ErrorType) {
    super(`server error: ${errorTypeText(error)}`);
    this.error = error;
  }
}
