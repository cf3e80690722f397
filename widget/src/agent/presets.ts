/**
 * The onion hosts of SimpleX's preset servers (simplexmq Agent/Protocol.hs extraSMPServerHosts),
 * registered into links.ts EXTRA_HOSTS on import. The widget does not import this (a browser
 * cannot reach onion hosts, and it saves bundle size); the tests do, to match the reference.
 */

import { EXTRA_HOSTS } from "./links.js";

Object.assign(EXTRA_HOSTS, {
  "smp4.simplex.im": "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion",
  "smp5.simplex.im": "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion",
  "smp6.simplex.im": "bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd.onion",
  "smp8.simplex.im": "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion",
  "smp9.simplex.im": "jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd.onion",
  "smp10.simplex.im": "rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd.onion",
});
