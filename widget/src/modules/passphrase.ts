/** Module "passphrase" (hushwire-widget-passphrase.js): the resume store of `data-resume="passphrase"`. */

import { PassphraseStore } from "../ui/passphrase.js";
import { define } from "./define.js";

define("passphrase", PassphraseStore);
