/** Module "shop" (hushwire-widget-shop.js): the customer's shop (shop/shop.ts), for `data-mode="shop"`. */

import { mountShop } from "../shop/shop.js";
import { define } from "./define.js";

define("shop", mountShop);
