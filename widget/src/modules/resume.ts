/** Module "resume" (hushwire-widget-resume.js): the page's sealed-session store, for `data-resume`. */

import { SessionStore } from "../ui/resume.js";
import { define } from "./define.js";

define("resume", SessionStore);
