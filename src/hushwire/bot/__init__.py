"""Small applications on the agent: the echo bot and the terminal chat (``hushwire chat``).

They show the agent API end to end and serve as the visitor and owner in tests.
"""
