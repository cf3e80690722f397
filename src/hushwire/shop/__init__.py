"""The shop (docs/protocol/shop.md): catalog, orders and order updates carried as chat
messages on a visitor's 1:1 connection. ``wire`` is the pure codec; ``catalog`` loads the
owner's catalog file; ``orders`` prices and stores orders; ``service`` hooks both into the
inbox's owner agent."""
