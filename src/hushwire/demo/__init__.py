"""``hushwire demo``: the whole system on 127.0.0.1 in one command (relay, inbox, site)."""
