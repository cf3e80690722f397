"""The web app: a single-page SimpleX chat for any browser (``hushwire app serve``)."""
