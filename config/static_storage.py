"""Where production keeps its static files: WhiteNoise's compressed copies under hashed names.

collectstatic rewrites the references between static files to the hashed names and stops
when one points at a file that does not exist. The vendored Chart.js ends with a reference
to its source map, which is not shipped (a browser asks for it only while its developer
tools are open), so JavaScript files are left as they are; references in CSS files
(url(), @import) are still rewritten and checked.
"""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(
        (files, references)
        for files, references in CompressedManifestStaticFilesStorage.patterns
        if files != "*.js"
    )
