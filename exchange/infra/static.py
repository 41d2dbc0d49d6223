"""Static files storage for production: WhiteNoise's compressed manifest storage, with ES module
imports rewritten too.

The trader pages are plain ES modules importing each other (``import ... from "./util.js"``).
Hashed names (``util.3f2a1c.js``) break such relative imports unless the storage rewrites them
to the hashed names as well; Django does that only when ``support_js_module_import_aggregation``
is on. CSS ``url()`` references are rewritten by default.
"""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
