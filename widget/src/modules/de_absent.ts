/**
 * The core's stand-in for ui/strings_de.ts (scripts/build.mjs aliases it to this file in the
 * page bundle): no German table until the "de" module brings it (modules.ts).
 */

import type { Strings } from "../ui/strings.js";

export const de: Strings | undefined = undefined;
