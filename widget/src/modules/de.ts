/** Module "de" (hushwire-widget-de.js): the German strings, loaded when the widget speaks German. */

import { de } from "../ui/strings_de.js";
import { define } from "./define.js";

define("de", de);
