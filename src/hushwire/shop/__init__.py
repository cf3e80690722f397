"""The shop (docs/protocol/shop.md): catalog, orders and order updates carried as chat
messages on a visitor's 1:1 connection.

Pure (sans-I/O): ``wire`` (the codecs, bounds and summaries), ``model`` (the catalog records
and the owner's pricing), ``images`` (PNG made in code, image sniffing). With files and
SQLite: ``catalog`` (the owner's catalog.toml or CSV), ``orders`` (the order store). On an
agent: ``service`` (the owner's side, hooked into the inbox), ``customer`` (a customer in
Python). ``example`` is the demo bakery's catalog.
"""
