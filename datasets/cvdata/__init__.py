"""Course data: synthetic generators (faces, shapes world), loaders with clear
errors for the real and synthetic layouts, and fetchers for the real data sets.

Import name ``cvdata`` (the folder is ``datasets/``, but a package called
``datasets`` would shadow HuggingFace's). Nothing here runs or downloads at import.
"""
